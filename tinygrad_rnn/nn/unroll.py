"""`unroll`: run a cell over a sequence, one named scope per time step (truncated BPTT optional).

The result unpacks as `hs, state = unroll(...)` and also keeps every state by step number:
`.h[t]`, `.c[t]` (LSTM), `.states[t]`, `.x[t]`, the named tensors of step t in `.gates[t]`
(`.gates[3]["f"]` is the LSTM's forget gate at t=3), and `.find(name, t)`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine.context import scope
from ..engine.tensor import Tensor, as_tensor

_STEP_NAME = re.compile(r"^h_(\d+)$")


def detach_state(state: Any) -> Any:
    """The same state with its history cut (names kept): a Tensor, or a tuple (e.g. LSTMState) of them.
    Truncated BPTT carries a detached state into the next window."""
    if isinstance(state, Tensor):
        d = state.detach()
        d.name = state.name
        return d
    if not isinstance(state, (tuple, list)):
        raise TypeError(f"detach_state: expected a Tensor or a tuple of Tensors (e.g. LSTMState), "
                        f"got {type(state).__name__}")
    parts = [detach_state(s) for s in state]
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
    if isinstance(state, tuple):  # (h, c) or LSTMState; a list is array data, as for Tensor()
        parts = [_as_state(s, dtype) for s in state]
        return type(state)(*parts) if hasattr(state, "_fields") else tuple(parts)
    return as_tensor(state, dtype)


def _hidden(state: Any) -> Tensor:
    return state if isinstance(state, Tensor) else state[0]


def _carried_step(state: Any) -> int:
    """The step number a given state carries in its name (h_<n>), else 0."""
    m = _STEP_NAME.match(_hidden(state).name or "")
    return int(m.group(1)) if m else 0


class Unrolled(tuple):
    """(hs, final state), plus every state by step number t (t0 = the initial state's step):
    h[t], c[t] (for an (h, c) state), states[t], x[t] (t >= first), gates[t] = {name: tensor} of the
    named tensors made in step t, and find(name, t)."""

    def __new__(cls, hs: list[Tensor], states: dict[int, Any], xs: dict[int, Tensor]) -> Unrolled:
        self = super().__new__(cls, (hs, states[max(states)]))
        self.states, self.x = states, xs
        self._gates: dict[int, dict[str, Tensor]] | None = None
        return self

    @property
    def hs(self) -> list[Tensor]:
        """[h_first, ..., h_last]: the hidden outputs of the steps run (not h_t0)."""
        return self[0]

    @property
    def state(self) -> Any:
        """The final state."""
        return self[1]

    @property
    def steps(self) -> range:
        """The step numbers run: first..last (the initial state is step first - 1)."""
        return range(min(self.x), max(self.x) + 1)

    @property
    def h(self) -> dict[int, Tensor]:
        """h_t by step number, the initial state h_{first-1} included."""
        return {t: _hidden(s) for t, s in self.states.items()}

    @property
    def c(self) -> dict[int, Tensor]:
        """c_t by step number (the LSTM's cell state)."""
        first = next(iter(self.states.values()))
        if isinstance(first, Tensor) or len(first) < 2:
            raise AttributeError("Unrolled.c: this cell's state is h alone (only the LSTM has a cell "
                                 "state c); use .h")
        return {t: s[1] for t, s in self.states.items()}

    @property
    def gates(self) -> dict[int, dict[str, Tensor]]:
        """Per step t: the named tensors made inside scope "t=<t>" (the LSTM's "i", "f", "g", "o", "z",
        the GRU's "r", "z", "n", and h_t, c_t), found by walking back from the step's state."""
        if self._gates is None:
            self._gates = {t: _step_named(self.states[t], f"t={t}") for t in self.steps}
        return self._gates

    def find(self, name: str, t: int) -> Tensor:
        """The tensor called `name` made at step t (x_t, h_t, c_t included)."""
        if t not in self.states:
            raise KeyError(f"Unrolled.find: no step {t}; this unroll has steps {self.steps.start}.."
                           f"{self.steps.stop - 1} (and the initial state at {min(self.states)})")
        own = dict(self.gates.get(t, {}))
        own.update({p.name: p for p in _parts(self.states[t]) if p.name})
        if t in self.x and self.x[t].name:
            own[self.x[t].name] = self.x[t]
        if name not in own:
            raise KeyError(f"Unrolled.find: no tensor named {name!r} at step {t}; "
                           f"step {t} has {', '.join(sorted(own)) or 'no named tensors'}")
        return own[name]

    def __repr__(self) -> str:
        return (f"Unrolled(steps {self.steps.start}..{self.steps.stop - 1}, "
                f"h: {tuple(self.hs[0].shape)})")


def _parts(state: Any) -> tuple[Tensor, ...]:
    return (state,) if isinstance(state, Tensor) else tuple(state)


def _step_named(state: Any, step: str) -> dict[str, Tensor]:
    """Named tensors inside scope `step`, walking back from state and not leaving the step."""
    out: dict[str, Tensor] = {}
    seen: set[int] = set()
    stack = [p for p in _parts(state) if step in p.scope]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.name and t.name not in out:
            out[t.name] = t
        stack.extend(p for p in t.parents if step in p.scope and id(p) not in seen)
    return out


def unroll(cell: Any, xs: Any, state: Any = None, truncate: int | None = None,
           first_step: int | None = None) -> Unrolled:
    """h_t = cell(x_t, h_{t-1}) for t = first..first+T-1; returns ([h_t, ...], final state) as an
    `Unrolled` (which also holds every state by step).

    xs: a (T, B, I) array or Tensor, or a sequence of T (B, I) arrays/Tensors. state: h_0
    (or LSTMState(h_0, c_0)); zeros if None. Steps are numbered from first_step; by default 1, or
    n + 1 when the given state is named h_n (a state carried on from an earlier unroll), so two
    windows drawn together do not both have a "t=1". Step t runs in scope "t=<t>" and names its input
    "x_<t>" and its output "h_<t>" (and "c_<t>"). truncate=k detaches the state before the unroll's
    steps k+1, 2k+1, ...: gradients flow back at most through the current window of k steps.
    Slicing a Tensor xs per step is linear in T: its gradient is scattered into one buffer.
    """
    if truncate is not None and (not isinstance(truncate, (int, np.integer)) or truncate < 1):
        raise ValueError(f"unroll: truncate must be a positive int (window length) or None, got {truncate!r}")
    if first_step is not None and (not isinstance(first_step, (int, np.integer)) or first_step < 1):
        raise ValueError(f"unroll: first_step must be an int >= 1 (the number of the first step), "
                         f"got {first_step!r}")
    seq = _sequence(xs, getattr(cell, "dtype", None))
    if state is None:
        first = seq[0] if isinstance(seq, list) else seq.data[0]
        if first.ndim != 2:
            raise ValueError(f"unroll: each step's input must be (B, I) to make a zero state, got shape "
                             f"{first.shape}; pass state= explicitly")
        state = cell.initial_state(first.shape[0])
    state = _as_state(state, getattr(cell, "dtype", None))
    start = int(first_step) if first_step is not None else _carried_step(state) + 1
    _name_state(state, start - 1, only_unnamed=True)
    return _steps(cell, seq, state, truncate, start)


def _steps(cell: Any, seq: Any, state: Any, truncate: int | None, start: int) -> Unrolled:
    hs: list[Tensor] = []
    states: dict[int, Any] = {start - 1: state}
    inputs: dict[int, Tensor] = {}
    constant = isinstance(seq, Tensor) and not seq.requires_grad  # its slices need no recorded op
    for k in range(len(seq)):
        t = start + k
        if truncate is not None and k > 0 and k % truncate == 0:
            state = detach_state(state)
        with scope(f"t={t}"):  # slicing here puts the slice (or the constant) in this step's scope
            x_t = as_tensor(seq.data[k]) if constant else seq[k]
            if x_t.name is None:
                x_t.name = f"x_{t}"
            state = cell(x_t, state)
        _name_state(state, t, only_unnamed=False)
        hs.append(_hidden(state))
        states[t], inputs[t] = state, x_t
    return Unrolled(hs, states, inputs)


def _sequence(xs: Any, dtype: Any) -> Tensor | list[Tensor]:
    """xs as a (T, ...) Tensor (sliced per step) or a list of T Tensors."""
    if isinstance(xs, (Tensor, np.ndarray)):
        if xs.ndim < 2:
            raise ValueError(f"unroll: xs must be (T, B, I) (or a sequence of (B, I)), got shape {xs.shape}")
        if isinstance(xs, np.ndarray):
            xs = Tensor(xs if dtype is None or xs.dtype == dtype else xs.astype(dtype))
    elif isinstance(xs, Sequence):
        xs = [as_tensor(x if isinstance(x, Tensor) else np.asarray(x), dtype) for x in xs]
    else:
        raise TypeError(f"unroll: xs must be a (T, B, I) array or Tensor, or a sequence of (B, I) "
                        f"arrays/Tensors; got {type(xs).__name__}")
    if len(xs) == 0:
        raise ValueError("unroll: xs is empty (T = 0); pass at least one time step")
    return xs
