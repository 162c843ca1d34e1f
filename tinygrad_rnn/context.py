"""The recording state: whether ops are recorded, the active name scope, anomaly checks.

The state is thread-local, so two threads can record (or not) independently.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AnomalyError(FloatingPointError):
    """Raised inside `detect_anomaly()` at the first NaN or Inf, naming the op and its scope."""


class _State(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope: tuple[str, ...] = ()
        self.anomaly = False


STATE = _State()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic collector off inside, as it was after. A graph has no reference cycles,
    but each collection rescans all of it: growing a long unroll would cost ~T^2."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@contextmanager
def no_grad() -> Iterator[None]:
    """Nothing made inside is recorded for backward, and nothing made inside requires grad."""
    before, STATE.grad_enabled = STATE.grad_enabled, False
    try:
        yield
    finally:
        STATE.grad_enabled = before


@contextmanager
def enable_grad() -> Iterator[None]:
    """Record again inside a `no_grad()` block."""
    before, STATE.grad_enabled = STATE.grad_enabled, True
    try:
        yield
    finally:
        STATE.grad_enabled = before


def is_grad_enabled() -> bool:
    """Whether ops are recorded for backward right now (False inside `no_grad()`)."""
    return STATE.grad_enabled


class scope:  # noqa: N801  (used like the function it replaces: `with scope("t=3"):`)
    """Name scope: every tensor made inside records the path of active scopes in `.scope`.

    `with scope(name) as path:` gives the new path. A small class rather than @contextmanager:
    the cells open several scopes per time step, and this costs a third as much.
    """

    __slots__ = ("name", "_before")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"scope: name must be a non-empty str, got {name!r}")
        self.name = name

    def __enter__(self) -> tuple[str, ...]:
        self._before = before = STATE.scope
        STATE.scope = path = before + (self.name,)
        return path

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:  # no *args tuple
        STATE.scope = self._before


def current_scope() -> tuple[str, ...]:
    """The path of active scope names, outermost first; () at top level."""
    return STATE.scope


# How many threads are inside detect_anomaly(): while 0, ops skip reading the per-thread flag
# (a thread-local read costs as much as the rest of the check).
anomaly_threads = 0
_anomaly_lock = threading.Lock()


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Check every op's output in forward and every gradient in backward for NaN/Inf."""
    global anomaly_threads
    before, STATE.anomaly = STATE.anomaly, True
    with _anomaly_lock:
        anomaly_threads += 1
    try:
        yield
    finally:
        STATE.anomaly = before
        with _anomaly_lock:
            anomaly_threads -= 1


def scope_str(path: tuple[str, ...]) -> str:
    """'t=3/lstm/forget gate', or '<top level>' for the empty path."""
    return "/".join(path) if path else "<top level>"
