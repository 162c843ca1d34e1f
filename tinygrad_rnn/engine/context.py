"""The recording state: whether ops are recorded, the active name scope, anomaly checks.

The state is thread-local, so two threads can record (or not) independently.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


class AnomalyError(FloatingPointError):
    """Raised inside `detect_anomaly()` at the first NaN or Inf, naming the op and its scope."""


class _State(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope: tuple[str, ...] = ()
        self.anomaly = False
        self.lean = False


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


class _Switch:
    """A per-thread flag (an attribute of STATE) and how many threads have it on: while none
    has, ops skip the thread-local read, which costs as much as the rest of the check."""

    __slots__ = ("flag", "threads", "used", "_lock")

    def __init__(self, flag: str) -> None:
        self.flag, self.threads, self._lock = flag, 0, threading.Lock()
        self.used = False  # whether any thread ever turned it on

    @contextmanager
    def on(self) -> Iterator[None]:
        before = getattr(STATE, self.flag)
        setattr(STATE, self.flag, True)
        with self._lock:
            self.threads += 1
            self.used = True
        try:
            yield
        finally:
            setattr(STATE, self.flag, before)
            with self._lock:
                self.threads -= 1


ANOMALY, LEAN = _Switch("anomaly"), _Switch("lean")


def detect_anomaly() -> AbstractContextManager[None]:
    """Check every op's output in forward and every gradient in backward for NaN/Inf."""
    return ANOMALY.on()


def lean() -> AbstractContextManager[None]:
    """Graphs keep only the values some backward saved: a tensor made inside is recorded by a
    value-free stand-in (unless its first use saved its array), so its value is freed with its
    last reference outside the graph, as in PyTorch. Gradients, of leaves and of the tensors you
    hold, are the same as without."""
    return LEAN.on()


def scope_str(path: tuple[str, ...]) -> str:
    """'t=3/lstm/forget gate', or '<top level>' for the empty path."""
    return "/".join(path) if path else "<top level>"
