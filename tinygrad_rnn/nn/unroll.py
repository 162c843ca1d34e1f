"""`unroll`: run a cell over a sequence, one named scope per time step (truncated BPTT optional)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine.context import gc_paused, scope
from ..engine.tensor import Tensor


def _detach(state: Any) -> Any:
    """The same state with history cut: a Tensor, or a tuple (e.g. LSTMState) of them."""
    if isinstance(state, Tensor):
        d = state.detach()
        d.name = state.name
        return d
    parts = [_detach(s) for s in state]
    return type(state)(*parts) if hasattr(state, "_fields") else type(state)(parts)


def _name_state(state: Any, t: int, only_unnamed: bool) -> None:
    """h_t for a Tensor state; h_t and c_t for an (h, c) state."""
    if isinstance(state, Tensor):  # the common case, without the loop below
        if not (only_unnamed and state.name is not None):
            state.name = f"h_{t}"
        return
    for letter, s in zip("hc", state):
        if isinstance(s, Tensor) and not (only_unnamed and s.name is not None):
            s.name = f"{letter}_{t}"


def _as_state(state: Any, dtype: Any) -> Any:
    """Arrays in a given initial state become constant Tensors of the cell's dtype."""
    if isinstance(state, Tensor):
        return state
    if isinstance(state, tuple):  # (h, c) or LSTMState; a list is array data, as for Tensor()
        parts = [_as_state(s, dtype) for s in state]
        return type(state)(*parts) if hasattr(state, "_fields") else tuple(parts)
    return Tensor(np.asarray(state), dtype=dtype)


def _hidden(state: Any) -> Tensor:
    return state if isinstance(state, Tensor) else state[0]


def unroll(cell: Any, xs: Any, state: Any = None, truncate: int | None = None) -> tuple[list[Tensor], Any]:
    """h_t = cell(x_t, h_{t-1}) for t = 1..T; returns ([h_1, ..., h_T], final state).

    xs: a (T, B, I) array or Tensor, or a sequence of T (B, I) arrays/Tensors. state: h_0
    (or LSTMState(h_0, c_0)); zeros if None. Step t runs in scope "t=<t>" and names its input
    "x_<t>" and its output "h_<t>" (and "c_<t>"). truncate=k detaches the state before steps
    k+1, 2k+1, ...: gradients flow back at most through the current window of k steps.
    Slicing a Tensor xs per step is linear in T: its gradient is scattered into one buffer.
    """
    if truncate is not None and (not isinstance(truncate, (int, np.integer)) or truncate < 1):
        raise ValueError(f"unroll: truncate must be a positive int (window length) or None, got {truncate!r}")
    seq = _sequence(xs, getattr(cell, "dtype", None))
    if state is None:
        first = seq[0] if isinstance(seq, list) else seq.data[0]
        if first.ndim != 2:
            raise ValueError(f"unroll: each step's input must be (B, I) to make a zero state, got shape "
                             f"{first.shape}; pass state= explicitly")
        state = cell.initial_state(first.shape[0])
    state = _as_state(state, getattr(cell, "dtype", None))
    _name_state(state, 0, only_unnamed=True)
    with gc_paused():  # the steps make no cycles; collections would rescan the growing graph
        return _steps(cell, seq, state, truncate)


def _steps(cell: Any, seq: Any, state: Any, truncate: int | None) -> tuple[list[Tensor], Any]:
    hs: list[Tensor] = []
    constant = isinstance(seq, Tensor) and not seq.requires_grad  # its slices need no recorded op
    for t in range(1, len(seq) + 1):
        if truncate is not None and t > 1 and (t - 1) % truncate == 0:
            state = _detach(state)
        with scope(f"t={t}"):  # slicing here puts the slice in this step's scope
            x_t = Tensor._make(seq.data[t - 1], None) if constant else seq[t - 1]
            if x_t.name is None:
                x_t.name = f"x_{t}"
            state = cell(x_t, state)
        _name_state(state, t, only_unnamed=False)
        hs.append(_hidden(state))
    return hs, state


def _sequence(xs: Any, dtype: Any) -> Tensor | list[Tensor]:
    """xs as a (T, ...) Tensor (sliced per step) or a list of T Tensors."""
    if isinstance(xs, (Tensor, np.ndarray)):
        if xs.ndim < 2:
            raise ValueError(f"unroll: xs must be (T, B, I) (or a sequence of (B, I)), got shape {xs.shape}")
        if isinstance(xs, np.ndarray):
            xs = Tensor(xs if dtype is None or xs.dtype == dtype else xs.astype(dtype))
    elif isinstance(xs, Sequence):
        xs = [x if isinstance(x, Tensor) else Tensor(np.asarray(x), dtype=dtype) for x in xs]
    else:
        raise TypeError(f"unroll: xs must be a (T, B, I) array or Tensor, or a sequence of (B, I) "
                        f"arrays/Tensors; got {type(xs).__name__}")
    if len(xs) == 0:
        raise ValueError("unroll: xs is empty (T = 0); pass at least one time step")
    return xs
