"""The recording state: whether ops are recorded, the active name scope, anomaly checks.

The state is thread-local, so two threads can record (or not) independently.
"""

from __future__ import annotations

import threading
from typing import Any


class AnomalyError(FloatingPointError):
    """Raised inside `detect_anomaly()` at the first NaN or Inf, naming the op and its scope."""


class ShapeError(ValueError):
    """A shape that an op cannot take; the message names the op, the shapes and the scope."""


class _State(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope: tuple[str, ...] = ()
        self.anomaly = False
        self.output_type: Any = None  # the class of op outputs; None: Tensor (speed/lean.py sets another)


STATE = _State()


class _setting:  # noqa: N801  (used like a function: `with _setting("scope", path):`)
    """STATE.<name> = value inside the block, its old value after (also after an exception)."""

    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value

    def __enter__(self) -> Any:
        self.before = getattr(STATE, self.name)
        setattr(STATE, self.name, self.value)
        return self.value

    def __exit__(self, *exc: object) -> None:
        setattr(STATE, self.name, self.before)


def set_grad_enabled(mode: bool) -> Any:
    """Record ops for backward inside the block (mode True) or not (False), as torch.set_grad_enabled."""
    return _setting("grad_enabled", bool(mode))


def no_grad() -> Any:
    """Nothing made inside is recorded for backward, and nothing made inside requires grad."""
    return set_grad_enabled(False)


def enable_grad() -> Any:
    """Record again inside a `no_grad()` block."""
    return set_grad_enabled(True)


def is_grad_enabled() -> bool:
    """Whether ops are recorded for backward right now (False inside `no_grad()`)."""
    return STATE.grad_enabled


def scope(name: str) -> Any:
    """Name scope: every tensor made inside records the path of active scopes in `.scope`.
    `with scope(name) as path:` gives the new path."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"scope: name must be a non-empty str, got {name!r}")
    return _setting("scope", STATE.scope + (name,))


def detect_anomaly() -> Any:
    """Check every op's output in forward and every gradient in backward for NaN/Inf."""
    return _setting("anomaly", True)


def scope_str(path: tuple[str, ...]) -> str:
    """'t=3/lstm/forget gate', or '<top level>' for the empty path."""
    return "/".join(path) if path else "<top level>"


def describe(op: str, parents: tuple[Any, ...], what: str, scope: tuple[str, ...] | None = None) -> str:
    """An error message naming the op, its input shapes and its scope (the active one by default)."""
    shapes = ", ".join(str(p.shape) for p in parents)
    return f"{op}: {what} [input shapes {shapes}; scope {scope_str(STATE.scope if scope is None else scope)}]"
