"""Singular values of the state-to-state Jacobian d s_t / d s_{t-1} and of its k-step product,
computed by the engine (one backward pass with a one-hot output gradient per Jacobian row).

Pascanu, Mikolov & Bengio (2013): with h_t = s(h_{t-1} U + ...), |s'| <= gamma, the Jacobian is
bounded by gamma * sigma_max(U); sigma_max(U) < 1/gamma suffices for gradients to vanish
(and sigma_max(U) > 1/gamma is necessary for them to explode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.ops import concat
from ..engine.tensor import Tensor
from .graph import walk


@dataclass
class JacobianSpectrum:
    """Singular values (descending) of one step's Jacobian and of the k-step product."""

    step: np.ndarray          # of d s_1 / d s_0
    product: np.ndarray       # of d s_k / d s_0 = J_k ... J_1
    step_max: np.ndarray      # sigma_max(J_t) for t = 1..k along the trajectory
    k: int
    gamma: float              # bound on the activation's derivative (tanh 1, sigmoid 1/4)
    recurrent_sv: float | None  # sigma_max of the recurrent weight, when the cell has one

    @property
    def threshold(self) -> float:
        """Pascanu et al.'s 1/gamma."""
        return 1.0 / self.gamma

    def __str__(self) -> str:
        lines = [f"one step: sigma_max {self.step[0]:.4g}, sigma_min {self.step[-1]:.4g}",
                 f"{self.k}-step product: sigma_max {self.product[0]:.4g} "
                 f"(geometric mean per step {self.product[0] ** (1 / self.k):.4g})",
                 f"1/gamma = {self.threshold:.4g} (gamma = {self.gamma:g})"]
        if self.recurrent_sv is not None:
            verdict = ("< 1/gamma: gradients must vanish" if self.recurrent_sv < self.threshold
                       else ">= 1/gamma: gradients may explode")
            lines.append(f"sigma_max(recurrent weight) = {self.recurrent_sv:.4g} {verdict}")
        return "\n".join(lines)


def _parts(state: Any) -> tuple[Any, ...]:
    return tuple(state) if isinstance(state, tuple) else (state,)


def _rebuild(proto: Any, parts: list[Tensor]) -> Any:
    if not isinstance(proto, tuple):
        return parts[0]
    return type(proto)(*parts) if hasattr(type(proto), "_fields") else tuple(parts)


def _input_size(cell: Any) -> int:
    if hasattr(cell, "input_size"):
        return int(cell.input_size)
    W = getattr(cell, "W", None)
    if isinstance(W, Tensor) and W.ndim == 2:
        return W.shape[0]
    raise ValueError("jacobian_spectrum: cannot tell the cell's input size; pass x= explicitly")


def _gamma(cell: Any) -> float:
    act = getattr(cell, "activation", "tanh")
    name = act if isinstance(act, str) else getattr(act, "__name__", "")
    return 0.25 if "sigmoid" in str(name) else 1.0


def _recurrent_sv(cell: Any) -> float | None:
    U = getattr(cell, "U", None)
    if isinstance(U, Tensor) and U.ndim == 2 and U.shape[0] == U.shape[1]:
        return float(np.linalg.svd(U.data, compute_uv=False)[0])
    lam = getattr(cell, "lam", None)
    if lam is not None:
        return float(abs(np.asarray(lam.data if isinstance(lam, Tensor) else lam).item()))
    return None


def _jacobian(cell: Any, arrays: list[np.ndarray], xs: list[np.ndarray], proto: Any
              ) -> tuple[np.ndarray, list[np.ndarray]]:
    """d s_k / d s_0 over the steps xs, by one backward pass per output element; the last state."""
    leaves = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    state = _rebuild(proto, leaves)
    for x in xs:
        state = cell(Tensor(x), state)
    outs = _parts(state)
    flat = concat([o.reshape(1, -1) for o in outs], axis=1)
    mine = {id(t) for t in leaves}
    others = [t for t in walk(flat) if t.is_leaf and t.requires_grad and id(t) not in mine]
    saved = [t.grad for t in others]
    n, m = flat.shape[1], sum(a.size for a in arrays)
    J = np.zeros((n, m))
    seed = np.zeros((1, n))
    try:
        for j in range(n):
            for t in leaves:
                t.grad = None
            seed[0, j] = 1.0
            flat.backward(grad=seed, keep_intermediate=False)
            seed[0, j] = 0.0
            J[j] = np.concatenate([np.zeros(t.size) if t.grad is None else t.grad.reshape(-1)
                                   for t in leaves])
    finally:
        for t, g in zip(others, saved):  # leave the cell's parameter gradients as they were
            t.grad = g
    return J, [o.data for o in outs]


def jacobian_spectrum(cell: Any, state: Any, x: Any = None, k: int = 10,
                      gamma: float | None = None) -> JacobianSpectrum:
    """Singular values of J_t = d s_t / d s_{t-1} (s = h, or (h, c) for the LSTM) and of
    J_k ... J_1, at `state` (batch size 1) with input x (zeros if None; one (1, I) input for
    every step, or a (k, 1, I) sequence)."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"jacobian_spectrum: k must be an int >= 1, got {k!r}")
    expected = cell.initial_state(1) if hasattr(cell, "initial_state") else state
    if len(_parts(expected)) != len(_parts(state)):
        raise ValueError(f"jacobian_spectrum: {type(cell).__name__}'s state has {len(_parts(expected))} "
                         f"parts ({type(expected).__name__}) but {len(_parts(state))} were given; pass "
                         "the whole state, e.g. the final state returned by tg.nn.unroll")
    arrays = [np.asarray(p.data if isinstance(p, Tensor) else p, dtype=np.float64) for p in _parts(state)]
    for a in arrays:
        if a.ndim != 2 or a.shape[0] != 1:
            raise ValueError(f"jacobian_spectrum: each state part must have shape (1, H) (batch size 1), "
                             f"got {a.shape}; pass one sample, e.g. h[0:1]")
    if x is None:
        xs = [np.zeros((1, _input_size(cell)))] * k
    else:
        xa = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
        if xa.ndim == 2:
            xs = [xa] * k
        elif xa.ndim == 3 and xa.shape[0] == k:
            xs = list(xa)
        else:
            raise ValueError(f"jacobian_spectrum: x must be (1, I) or (k={k}, 1, I), got {xa.shape}")
    step_max, s = [], arrays
    first = None
    for t in range(k):
        J, s = _jacobian(cell, s, xs[t:t + 1], state)
        sv = np.linalg.svd(J, compute_uv=False)
        first = sv if first is None else first
        step_max.append(sv[0])
    Jk, _ = _jacobian(cell, arrays, xs, state)
    return JacobianSpectrum(step=first, product=np.linalg.svd(Jk, compute_uv=False),
                            step_max=np.array(step_max), k=k,
                            gamma=_gamma(cell) if gamma is None else float(gamma),
                            recurrent_sv=_recurrent_sv(cell))
