"""Singular values of the state-to-state Jacobian d s_t / d s_{t-1} and of its k-step product,
computed by the engine (one backward pass with a one-hot output gradient per Jacobian row).

Pascanu, Mikolov & Bengio (2013): with h_t = s(h_{t-1} U + ...), |s'| <= gamma, the Jacobian is
bounded by gamma * sigma_max(U); sigma_max(U) < 1/gamma suffices for gradients to vanish
(and sigma_max(U) > 1/gamma is necessary for them to explode). The gated cells add a path the bound
does not cover: the LSTM's dc_t/dc_{t-1} = diag(f_t) (the forget gate), the GRU's
dh_t/dh_{t-1} = diag(z_t) + the terms through its gates (the update gate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.factory import concat
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
    by_k: list[np.ndarray] = field(default_factory=list)  # singular values of d s_k / d s_0, k = 1..K
    gate: tuple[str, np.ndarray] | None = None  # ("f", f_t means) for the LSTM, ("z", z_t means) for the GRU

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
        if self.gate is not None:
            lines.append(self.verdict)
        return "\n".join(lines)

    @property
    def verdict(self) -> str:
        """One line: whether gradients must vanish, and for the gated cells what keeps them alive."""
        if self.gate is not None:
            name, means = self.gate
            m = float(np.mean(means))
            if name == "f":
                return (f"dc_t/dc_(t-1) = diag(f_t), mean f_t = {m:.3g}; along c the gradient "
                        f"shrinks like f^k ({m:.2g}^{self.k} = {m ** self.k:.2g}), not like "
                        f"(gamma sigma_max(U))^k: a forget gate near 1 keeps it alive")
            return (f"dh_t/dh_(t-1) = diag(z_t) + gate terms, mean z_t = {m:.3g}: an update gate "
                    f"near 1 copies h_(t-1) and its gradient on ({m:.2g}^{self.k} = {m ** self.k:.2g})")
        if self.recurrent_sv is None:
            return f"sigma_max of the {self.k}-step product: {self.product[0]:.3g}"
        if self.recurrent_sv < self.threshold:
            return (f"sigma_max(U) = {self.recurrent_sv:.3g} < 1/gamma = {self.threshold:.3g}: "
                    "gradients must vanish")
        return (f"sigma_max(U) = {self.recurrent_sv:.3g} >= 1/gamma = {self.threshold:.3g}: gradients "
                "may explode (necessary, not sufficient)")


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


def _gate_mean(outs: tuple[Any, ...], name: str) -> float | None:
    """The mean of the tensor called `name` (a gate) behind outs, if there is one."""
    for t in walk(list(outs)):
        if t.name == name:
            return float(np.mean(t.data))
    return None


def _jacobian(cell: Any, arrays: list[np.ndarray], xs: list[np.ndarray], proto: Any,
              gate: str | None = None) -> tuple[np.ndarray, list[np.ndarray], float | None]:
    """d s_k / d s_0 over the steps xs, by one backward pass per output element; the last state; the
    mean of the gate called `gate` (last step)."""
    leaves = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    state = _rebuild(proto, leaves)
    for x in xs:
        state = cell(Tensor(x), state)
    outs = _parts(state)
    gate_mean = _gate_mean(outs, gate) if gate else None
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
    return J, [o.data for o in outs], gate_mean


def _gate_name(cell: Any) -> str | None:
    kind = type(cell).__name__.lower()
    return "f" if "lstm" in kind else "z" if "gru" in kind else None


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
    step_max, s, by_k, gates = [], arrays, [], []
    first, P = None, None
    gate = _gate_name(cell)
    for t in range(k):
        J, s, g = _jacobian(cell, s, xs[t:t + 1], state, gate)
        sv = np.linalg.svd(J, compute_uv=False)
        first = sv if first is None else first
        step_max.append(sv[0])
        P = J if P is None else J @ P  # chain rule: d s_t / d s_0 = J_t d s_(t-1) / d s_0
        by_k.append(np.linalg.svd(P, compute_uv=False))
        if g is not None:
            gates.append(g)
    Jk, _, _ = _jacobian(cell, arrays, xs, state)
    return JacobianSpectrum(step=first, product=np.linalg.svd(Jk, compute_uv=False),
                            step_max=np.array(step_max), k=k,
                            gamma=_gamma(cell) if gamma is None else float(gamma),
                            recurrent_sv=_recurrent_sv(cell), by_k=by_k,
                            gate=(gate, np.array(gates)) if gate and gates else None)


def plot_jacobian_spectrum(spectra: JacobianSpectrum | Mapping[str, JacobianSpectrum],
                           path: str | Path | None = None, title: str | None = None) -> Any:
    """Left: the singular values of d s_t / d s_(t-k) against k (largest solid, smallest dotted; dashed:
    Pascanu's bound (gamma sigma_max(U))^k), log scale. Right: sigma_max(U) per cell against the
    1/gamma threshold, labelled, and for the LSTM / GRU the mean forget / update gate (the gain of the
    path that keeps the gradient alive) against 1. Under the plot, one verdict line per cell.
    Returns the matplotlib Figure (inline in Jupyter), saved to path if given."""
    from .mpl import InlineFigure, save_figure
    runs = dict(spectra) if isinstance(spectra, Mapping) else {"": spectra}
    if not runs or not all(isinstance(v, JacobianSpectrum) for v in runs.values()):
        raise TypeError("plot_jacobian_spectrum: expects what jacobian_spectrum returns, or a "
                        "{label: it} dict")
    fig = InlineFigure(figsize=(12, 5.2 + 0.25 * len(runs)))
    bottom = 0.1 + 0.04 * len(runs)
    left, right = fig.add_gridspec(1, 2, width_ratios=(2.2, 1), left=0.07, right=0.98, top=0.9,
                                   bottom=bottom, wspace=0.25).subplots()
    colors = {}
    for label, sp in runs.items():
        ks = np.arange(1, len(sp.by_k) + 1)
        top = np.array([sv[0] for sv in sp.by_k])
        line, = left.plot(ks, top, marker="o", markersize=3, label=f"{label} sigma_max".strip())
        colors[label] = line.get_color()
        left.plot(ks, [sv[-1] for sv in sp.by_k], linestyle=":", color=line.get_color(),
                  label=f"{label} sigma_min".strip())
        if sp.recurrent_sv is not None and sp.gate is None:
            left.plot(ks, (sp.gamma * sp.recurrent_sv) ** ks, linestyle="--", linewidth=0.9,
                      color=line.get_color(), label=f"{label} bound (gamma sigma_max(U))^k".strip())
    left.axhline(1.0, color="0.4", linewidth=0.8)
    lows = [sv[-1] for sp in runs.values() for sv in sp.by_k if sv[-1] > 0]
    highs = [sv[0] for sp in runs.values() for sv in sp.by_k]
    if lows and highs:  # a near-singular product would squash every other curve
        left.set_ylim(bottom=max(min(lows), max(highs) * 1e-12) / 2)
    left.set(yscale="log", xlabel="k (steps back)", ylabel="singular values of d s_t / d s_(t-k)",
             title="How far a gradient survives: the k-step Jacobian")
    left.xaxis.get_major_locator().set_params(integer=True)
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7, ncol=2)
    _threshold_panel(right, runs, colors)
    fig.suptitle(title or "Jacobian spectra (Pascanu, Mikolov & Bengio 2013)")
    for i, (label, sp) in enumerate(runs.items()):
        fig.text(0.07, 0.02 + 0.035 * (len(runs) - 1 - i), f"{label + ': ' if label else ''}{sp.verdict}",
                 fontsize=8.5, color=colors[label])
    if path is not None:
        save_figure(fig, path)
    return fig


def _threshold_panel(ax: Any, runs: dict[str, JacobianSpectrum], colors: dict[str, str]) -> None:
    """Bars: sigma_max(U) against the 1/gamma line(s), labelled; for the gated cells a gate's mean
    against 1 (no decay along their path)."""
    thresholds: dict[float, list[str]] = {}
    for x, (label, sp) in enumerate(runs.items()):
        if sp.gate is not None:
            name, means = sp.gate
            ax.bar(x, float(np.mean(means)), color=colors[label], alpha=0.5, hatch="//")
            ax.text(x, float(np.mean(means)), f"mean {name}_t", ha="center", va="bottom", fontsize=8)
        elif sp.recurrent_sv is not None:
            ax.bar(x, sp.recurrent_sv, color=colors[label], alpha=0.8)
            ax.text(x, sp.recurrent_sv, "sigma_max(U)", ha="center", va="bottom", fontsize=8)
            thresholds.setdefault(sp.threshold, []).append(label)
    for th, who in thresholds.items():
        ax.axhline(th, color="#c62828", linestyle="--", linewidth=1.2,
                   label=f"1/gamma = {th:g} ({', '.join(w for w in who if w) or 'threshold'})")
    if any(sp.gate is not None for sp in runs.values()) and 1.0 not in thresholds:
        ax.axhline(1.0, color="0.2", linestyle=":", linewidth=1, label="gate mean 1: no decay")
    ax.set_xticks(range(len(runs)), [lb or "cell" for lb in runs], fontsize=9)
    ax.set_ylim(0, 1.25 * max([1.0, *thresholds, *(sp.recurrent_sv or 0 for sp in runs.values())]))
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("below 1/gamma, gradients must vanish", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
