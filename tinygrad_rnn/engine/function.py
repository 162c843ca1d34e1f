"""`Function`: the base of every op, built-in or yours.

An op subclasses `Function` with two static methods on numpy arrays:
`forward(ctx, *arrays, **kwargs) -> array` and `backward(ctx, grad) -> one grad per input`.
`Op.apply(*tensors, **kwargs)` runs forward and, when grad is on and an input needs a gradient,
records the op instance (the ctx) on the output, with its parents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .context import STATE, AnomalyError, scope_str
from .tensor import Tensor, as_tensor


class ShapeError(ValueError):
    """A shape that an op cannot take; the message names the op, the shapes and the scope."""


class Function:
    """Base class of ops. The instance is the `ctx` passed to forward and backward."""

    op_name = "function"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "op_name" not in cls.__dict__:
            cls.op_name = cls.__name__.lower()

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays for backward, with a fingerprint to notice if they are changed in place meanwhile."""
        self.saved_tensors, self.stamps = arrays, [_stamp(a) for a in arrays]

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """For each input, whether backward must return its gradient (else None will do)."""
        return tuple(p.requires_grad for p in self.parents)

    def parent_grads(self) -> tuple[np.ndarray | None, ...] | None:
        """The gradients the last backward sent to each parent (None if that pass kept none)."""
        grads = getattr(self, "sent", None)
        return None if grads is None else tuple(g.dense() if hasattr(g, "dense") else g for g in grads)

    @staticmethod
    def forward(ctx: Function, *arrays: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad: np.ndarray) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Run the op on Tensors (other inputs become constants) and record it for backward."""
        ctx = cls()
        parents = tuple(as_tensor(x) for x in inputs)
        try:
            out = np.asarray(cls.forward(ctx, *(p.data for p in parents), **kwargs))
        except IndexError as e:  # stays an IndexError, so iterating over a tensor stops
            raise IndexError(describe(cls.op_name, parents, str(e))) from None
        except ShapeError:
            raise
        except ValueError as e:
            raise ShapeError(describe(cls.op_name, parents, str(e))) from None
        if STATE.anomaly and out.dtype.kind == "f" and not np.isfinite(out).all():
            raise AnomalyError(describe(cls.op_name, parents, "forward produced NaN or Inf"))
        if not (STATE.grad_enabled and any(p.requires_grad for p in parents)):
            return Tensor(out)
        ctx.parents = tuple(p._as_input(ctx) for p in parents)  # a lean tensor may give a stand-in
        return (STATE.output_type or Tensor)(out, ctx=ctx)

    def _check_saved(self, scope: tuple[str, ...]) -> None:
        """Raise if an array saved for backward was changed in place after it was saved."""
        for a, stamp in zip(getattr(self, "saved_tensors", ()), getattr(self, "stamps", ())):
            if not _same(_stamp(a), stamp):
                which = [f"input {i} ({p.name or 'unnamed'})" for i, p in enumerate(self.parents)
                         if p.data is a]
                what = (which or ["an array"])[0] + " that this op saved for backward was changed in place; "
                raise RuntimeError(describe(self.op_name, self.parents, what + "assign a new array to .data "
                                            "instead of writing into it (or run the forward again)", scope))


def _stamp(a: Any) -> tuple:
    """A few elements of a (first, middle, last): a whole-array in-place edit changes them."""
    n = getattr(a, "size", 0)
    return (a.item(0), a.item(n // 2), a.item(n - 1)) if n and isinstance(a, np.ndarray) else ()


def _same(s: tuple, t: tuple) -> bool:
    return all(x == y or (x != x and y != y) for x, y in zip(s, t))  # NaN equals NaN here


def describe(op: str, parents: tuple[Tensor, ...], what: str, scope: tuple[str, ...] | None = None) -> str:
    """An error message naming the op, its input shapes and its scope (the active one by default)."""
    shapes = ", ".join(str(p.shape) for p in parents)
    return f"{op}: {what} [input shapes {shapes}; scope {scope_str(STATE.scope if scope is None else scope)}]"
