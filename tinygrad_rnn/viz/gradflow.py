"""Gradients through time: |dL/dh_t| per step, as curves against the distance from the loss and
as a heatmap per unit over time (matplotlib Figures made without pyplot: the backend is left alone)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.tensor import Tensor

if TYPE_CHECKING:
    from .mpl import InlineFigure


def _grad_of(t: Tensor, where: str) -> np.ndarray | None:
    if not isinstance(t, Tensor):
        raise TypeError(f"grad_flow: {where} is a {type(t).__name__}, expected a Tensor")
    return t.grad


def grad_flow(hs: Sequence[Any]) -> np.ndarray:
    """||dL/dh_t|| (Frobenius, over the batch) for t = 1..T, after `loss.backward()`.

    hs: a list of Tensors -> shape (T,); a list of state tuples such as LSTMState(h, c)
    -> shape (T, n) with one column per state part (h, c). Steps with no gradient give 0.
    """
    if isinstance(hs, Tensor) or not len(hs):
        raise TypeError("grad_flow: expects a non-empty list of the hidden tensors h_1..h_T "
                        "(or of state tuples), as returned by tg.nn.unroll")
    rows = []
    for t, s in enumerate(hs, start=1):
        parts = tuple(s) if isinstance(s, tuple) else (s,)
        grads = [_grad_of(p, f"step {t}") for p in parts]
        rows.append([0.0 if g is None else float(np.linalg.norm(g)) for g in grads])
    if all(p.grad is None for s in hs for p in (tuple(s) if isinstance(s, tuple) else (s,))):
        raise ValueError("grad_flow: no step has a gradient; call loss.backward() first (with the "
                         "default keep_intermediate=True, or h.retain_grad() on each step)")
    out = np.array(rows)
    return out[:, 0] if not isinstance(hs[0], tuple) else out


def plot_grad_flow(norms: Mapping[str, Any], path: str | Path | None = None,
                   title: str | None = None) -> InlineFigure:
    """One log-scale curve per cell of ||dL/dh_t|| against k = T - t, the steps back from a loss
    on the last step. norms: {"Elman": array (T,), "LSTM": array (T,) or (T, 2) with c_t}.
    Returns the matplotlib Figure (shown inline in Jupyter); also saved to path if given."""
    if not isinstance(norms, Mapping) or not norms:
        raise TypeError("plot_grad_flow: norms must be a non-empty dict {label: array of |dL/dh_t|}")
    from .mpl import InlineFigure, save_figure  # matplotlib is imported on first use only
    fig = InlineFigure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.91)  # fixed: no layout pass
    for label, arr in norms.items():
        a = np.asarray(arr, dtype=float)
        if a.ndim not in (1, 2) or a.shape[0] == 0:
            raise ValueError(f"plot_grad_flow: {label!r} must be a (T,) or (T, parts) array, got {a.shape}")
        cols = a[:, None] if a.ndim == 1 else a
        k = np.arange(a.shape[0])[::-1]  # t = 1..T  ->  T - t
        for j in range(cols.shape[1]):
            y = np.where(cols[:, j] > 0, cols[:, j], np.nan)  # log scale: zero has no place
            name = label if j == 0 else f"{label} (c_t)"
            ax.plot(k, y, marker="o", markersize=2.5, linewidth=1.6, label=name,
                    linestyle="-" if j == 0 else "--")
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the loss, k = T - t")
    ax.set_ylabel("gradient norm ||dL/dh_t||")
    ax.set_title(title or "Gradient flowing back through time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if path is not None:
        save_figure(fig, path)
    return fig


def _unit_grads(hs: Any) -> np.ndarray:
    """(T, H) |dL/dh_t| per unit: a given array, or the root-sum-square over the batch of grads."""
    if isinstance(hs, np.ndarray):
        if hs.ndim != 2:
            raise ValueError(f"plot_grad_heatmap: expected a (T, H) array, got shape {hs.shape}")
        return np.abs(hs)
    rows = []
    for t, h in enumerate(hs, start=1):
        g = _grad_of(h, f"step {t}")
        g = np.zeros(h.shape) if g is None else np.asarray(g)
        g = g.reshape(-1, g.shape[-1]) if g.ndim > 1 else g[None]
        rows.append(np.sqrt((g ** 2).sum(axis=0)))
    return np.array(rows)


def plot_grad_heatmap(grads: Mapping[str, Any] | Any, path: str | Path | None = None,
                      title: str | None = None) -> InlineFigure:
    """|dL/dh_t| per unit (rows) over time t (columns) on a log colour scale, one panel per
    entry: grads is {label: hs or (T, H) array}, or one hs / array. Returns the Figure (also
    saved to path if given)."""
    from matplotlib.colors import LogNorm

    from .mpl import InlineFigure, save_figure
    panels = dict(grads) if isinstance(grads, Mapping) else {"": grads}
    data = {k: _unit_grads(v) for k, v in panels.items()}
    positive = np.concatenate([d[d > 0] for d in data.values()] + [np.array([1.0])])
    lo, hi = max(positive.min(), positive.max() * 1e-12), positive.max()
    height = 1.2 + 1.6 * len(data)
    fig = InlineFigure(figsize=(8, height))
    axes = fig.subplots(len(data), 1, squeeze=False)
    fig.subplots_adjust(left=0.11, right=0.86, bottom=0.5 / height, top=1 - 0.55 / height, hspace=0.45)
    im = None
    for ax, (label, d) in zip(axes[:, 0], data.items()):
        T, H = d.shape
        im = ax.imshow(np.where(d > 0, d, lo).T, aspect="auto", origin="lower", cmap="magma",
                       norm=LogNorm(vmin=lo, vmax=hi), extent=(0.5, T + 0.5, -0.5, H - 0.5))
        ax.set_ylabel(f"{label}\nunit" if label else "unit")
        ax.set_xlabel("time step t")
    fig.suptitle(title or "|dL/dh_t| per unit over time")
    fig.colorbar(im, cax=fig.add_axes((0.89, 0.5 / height, 0.025, 1 - 1.05 / height)),
                 label="|dL/dh_t| (log scale)")
    if path is not None:
        save_figure(fig, path)
    return fig
