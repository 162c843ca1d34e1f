"""`Module`: parameters found by attribute assignment, named, listed, saved and loaded.

A leaf Tensor that requires grad, assigned as an attribute, is a parameter; a leaf Tensor that
does not (a fixed constant such as a non-learned lambda) is a buffer: saved and loaded with the
parameters, never optimised. Sub-modules (and lists or tuples of them) are walked recursively,
giving dotted names such as ``encoder.W`` or ``layers.0.b``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..engine.tensor import Tensor


class StateDictError(ValueError):
    """`load_state_dict` refused a dict; the message lists missing, unexpected and wrong-shaped keys."""


def parameter(data: Any, name: str | None = None, dtype: Any = None) -> Tensor:
    """A leaf Tensor that requires grad, even when made inside `no_grad()` (as in PyTorch)."""
    t = Tensor(data, name=name, dtype=dtype)
    if t.dtype.kind != "f":
        raise TypeError(f"parameter: only floating-point data can be a parameter, got dtype {t.dtype}")
    t.requires_grad = True
    return t


class Module:
    """Base of layers and cells: parameter registry, state dict, zero_grad."""

    def __setattr__(self, name: str, value: Any) -> None:
        # A parameter is named after its attribute so that drawn graphs read "W", "U", "b".
        if isinstance(value, Tensor) and value.is_leaf and value.name is None:
            value.name = name
        object.__setattr__(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: define forward() or __call__()")

    # ---- walking the tree ---------------------------------------------------------------
    def _named_tensors(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every leaf Tensor attribute (parameters and buffers), depth first, in assignment order."""
        for key, value in vars(self).items():
            if key.startswith("_"):
                continue
            if isinstance(value, Tensor):
                if value.is_leaf:
                    yield prefix + key, value
            elif isinstance(value, Module):
                yield from value._named_tensors(f"{prefix}{key}.")
            elif isinstance(value, (list, tuple)) and value and all(isinstance(m, Module) for m in value):
                for i, m in enumerate(value):
                    yield from m._named_tensors(f"{prefix}{key}.{i}.")

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for each parameter; a tensor shared by two modules appears once."""
        seen: set[int] = set()
        for name, t in self._named_tensors():
            if t.requires_grad and id(t) not in seen:
                seen.add(id(t))
                yield name, t

    def parameters(self) -> list[Tensor]:
        """The parameters, in the order of `named_parameters()`."""
        return [t for _, t in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first."""
        yield self
        for key, value in vars(self).items():
            if key.startswith("_"):
                continue
            subs = value if isinstance(value, (list, tuple)) else (value,)
            for m in subs:
                if isinstance(m, Module):
                    yield from m.modules()

    def zero_grad(self) -> None:
        """Forget accumulated gradients (set to None, as PyTorch does by default)."""
        for p in self.parameters():
            p.grad = None

    # ---- state ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: a copy of the array} for every parameter and buffer."""
        out: dict[str, np.ndarray] = {}
        for name, t in self._named_tensors():
            out.setdefault(name, np.array(t.data, copy=True))
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace every parameter and buffer by state[name] (cast to its dtype).

        All keys are checked first: any missing, unexpected or wrong-shaped key raises
        `StateDictError` listing all of them, and then nothing has been changed.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expects a mapping of name -> array, "
                            f"got {type(state).__name__}")
        own = dict(self._named_tensors())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        new: dict[str, np.ndarray] = {}
        wrong: list[str] = []
        for k, t in own.items():
            if k not in state:
                continue
            try:
                value = state[k]
                arr = np.array(value.data if isinstance(value, Tensor) else value, dtype=t.dtype, copy=True)
            except (TypeError, ValueError) as e:
                wrong.append(f"{k}: cannot convert to {t.dtype} ({e})")
                continue
            if arr.shape != t.shape:
                wrong.append(f"{k}: expected shape {t.shape}, got {arr.shape}")
            new[k] = arr
        if missing or unexpected or wrong:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            if wrong:
                parts.append("wrong-shaped keys [" + "; ".join(wrong) + "]")
            raise StateDictError(f"{type(self).__name__}.load_state_dict: " + ", ".join(parts)
                                 + f". The module has keys {list(own)}; nothing was loaded.")
        for k, t in own.items():
            t.data = new[k]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(t.shape)}" for k, t in self._named_tensors())
        return f"{type(self).__name__}({shapes})"
