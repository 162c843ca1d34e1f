"""A shared weight's gradient, term by term: dL/dW = sum over the steps t that use W of dL/dW^(t).

BPTT treats the unrolled W as T copies W^(1..T), one per step; the gradient of the shared W is the
sum of the copies' gradients. dL/dW^(t) is what step t's ops sent back along their edges from W in
the last backward pass (`Tensor.parent_grads`, kept when backward keeps intermediate gradients).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from .graph import walk
from .layout import step_of

MAX_HEATMAPS = 12  # a row of more matrices than this is unreadable


@dataclass
class StepGradients:
    """Per-step contributions to a parameter's gradient. steps[i] is a step number (None: ops outside
    any "t=<n>" scope, e.g. an output layer applied after the unroll); grads[i] is dL/dW^(step)."""

    name: str
    steps: list[int | None]
    grads: list[np.ndarray]
    total: np.ndarray          # W.grad as the engine left it

    @property
    def norms(self) -> np.ndarray:
        """||dL/dW^(t)|| (Frobenius) per entry of steps."""
        return np.array([float(np.linalg.norm(g)) for g in self.grads])

    @property
    def summed(self) -> np.ndarray:
        """sum_t dL/dW^(t): equals total after a single backward pass from zeroed gradients."""
        return np.sum(self.grads, axis=0) if self.grads else np.zeros_like(self.total)

    def as_dict(self) -> dict[int | None, np.ndarray]:
        return dict(zip(self.steps, self.grads))

    def __str__(self) -> str:
        rows = [f"dL/d{self.name} = sum over {len(self.steps)} steps of dL/d{self.name}^(t):"]
        rows += [f"  {'t=' + str(t) if t is not None else 'outside steps':>14}  ||.|| = {n:.4g}"
                 for t, n in zip(self.steps, self.norms)]
        rows.append(f"  {'sum':>14}  ||.|| = {np.linalg.norm(self.summed):.4g}   "
                    f"(||{self.name}.grad|| = {np.linalg.norm(self.total):.4g})")
        return "\n".join(rows)


def step_contributions(param: Tensor, tensors: Sequence[Tensor]) -> dict[int | None, np.ndarray]:
    """{step: dL/dparam^(step)} from the edge gradients of the ops in `tensors` that read param
    (a step whose ops sent nothing back, e.g. behind a truncation, maps to zeros)."""
    out: dict[int | None, np.ndarray] = {}
    for t in tensors:
        if not any(p is param for p in t.parents):
            continue
        sent = t.parent_grads
        if sent is None:
            raise ValueError(f"grad_by_step: the last backward pass kept no edge gradients (the op "
                             f"{t.op!r} reading {param.name or 'the parameter'} has none); run "
                             "loss.backward() with keep_intermediate=True (the default), outside lean()")
        step = step_of(t.scope)
        acc = out.setdefault(step, np.zeros(param.shape, dtype=param.dtype))
        for p, g in zip(t.parents, sent):
            if p is param and g is not None:
                acc += g
    return out


def by_step_rows(param: Tensor, tensors: Sequence[Tensor]) -> list[list[Any]] | None:
    """[[step, ||dL/dparam^(step)||], ...] in step order (step None last) for the interactive page;
    None when the last pass kept no edge gradients or no op reads param."""
    try:
        found = step_contributions(param, tensors)
    except ValueError:
        return None
    steps = sorted(found, key=lambda s: (s is None, s or 0))
    return [[s, float(np.linalg.norm(found[s]))] for s in steps] or None


def grad_by_step(param: Tensor, roots: Tensor | Sequence[Tensor], name: str | None = None,
                 check: bool = True, rtol: float = 1e-6, atol: float = 1e-10) -> StepGradients:
    """dL/dW^(t) for every step t that uses param W, after `loss.backward()`; roots: the loss (what
    backward ran from). check=True raises if they do not sum to W.grad (W.grad accumulated over
    several passes: zero it before the backward you want to split)."""
    if not isinstance(param, Tensor):
        raise TypeError(f"grad_by_step: param must be a Tensor (e.g. cell.U), got {type(param).__name__}")
    label = name or param.name or "W"
    if param.grad is None:
        raise ValueError(f"grad_by_step: {label}.grad is None; call loss.backward() first (and check "
                         f"that {label} requires grad and is used by the graph behind roots)")
    found = step_contributions(param, walk(roots))
    if not found:
        raise ValueError(f"grad_by_step: no op behind roots reads {label} (shape {param.shape}); pass "
                         "the loss the parameter contributes to")
    steps = sorted(found, key=lambda s: (s is None, s or 0))
    sg = StepGradients(label, steps, [found[s] for s in steps], np.asarray(param.grad))
    if check and not np.allclose(sg.summed, sg.total, rtol=rtol, atol=atol):
        gap = float(np.max(np.abs(sg.summed - sg.total)))
        raise ValueError(f"grad_by_step: the {len(steps)} per-step terms sum to something else than "
                         f"{label}.grad (largest difference {gap:.3g}): {label}.grad holds more than the "
                         f"last pass; set {label}.grad = None (or module.zero_grad()) before backward, or "
                         "pass check=False")
    return sg


# ---- plots ------------------------------------------------------------------------------------------

def plot_grad_by_step(by_step: StepGradients | Mapping[str, StepGradients], path: str | Path | None = None,
                      title: str | None = None, heatmaps: bool | None = None) -> Any:
    """||dL/dW^(t)|| against t on a log scale (one curve per entry of a {label: StepGradients}); with
    one small W (at most 64 entries, at most 12 steps; heatmaps=None decides), a second row shows each
    dL/dW^(t) as a heatmap, then their sum = W.grad, on one symmetric colour scale. Returns the
    matplotlib Figure (inline in Jupyter; pyplot and the backend untouched), saved to path if given."""
    from .mpl import InlineFigure, save_figure
    runs = dict(by_step) if isinstance(by_step, Mapping) else {"": by_step}
    if not runs or not all(isinstance(v, StepGradients) for v in runs.values()):
        raise TypeError("plot_grad_by_step: expects what grad_by_step returns, or a {label: it} dict")
    single = next(iter(runs.values())) if len(runs) == 1 else None
    can_map = (single is not None and single.total.size <= 64 and single.total.ndim <= 2
               and len(single.steps) <= MAX_HEATMAPS)
    if heatmaps and not can_map:
        raise ValueError(f"plot_grad_by_step: heatmaps need one parameter of at most 64 entries used at "
                         f"most {MAX_HEATMAPS} steps; pass heatmaps=None to plot the norms only")
    maps = can_map if heatmaps is None else bool(heatmaps)
    n = len(single.steps) + 1 if maps else 0
    side = min(1.3, 11 / max(n, 1))  # inches per heatmap
    fig = InlineFigure(figsize=(max(7.5, side * n + 1.5), 4.5 + side + 0.6 if maps else 4.5))
    grid = fig.add_gridspec(2 if maps else 1, max(n, 1), height_ratios=(3.2, side + 0.4) if maps else None,
                            hspace=0.45, left=0.13, right=0.9 if maps else 0.97, top=0.92,
                            bottom=0.05 if maps else 0.13)
    ax = fig.add_subplot(grid[0, :])
    for label, sg in runs.items():
        ts = [t for t in sg.steps if t is not None]
        norms = np.array([nm for t, nm in zip(sg.steps, sg.norms) if t is not None])
        zeros = [t for t, nm in zip(ts, norms) if nm == 0]  # a log scale has no place for them
        note = f" (zero at t={', '.join(map(str, zeros))})" if zeros else ""
        ax.plot(ts, np.where(norms > 0, norms, np.nan), marker="o", markersize=3, linewidth=1.5,
                label=(label or f"||dL/d{sg.name}^(t)||") + note)
        ax.axhline(np.linalg.norm(sg.total), linestyle=":", linewidth=1, color=ax.lines[-1].get_color())
    ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("time step t")
    names = sorted({sg.name for sg in runs.values()})
    w = names[0] if len(names) == 1 else "W"
    ax.set_ylabel(f"||dL/d{w}^(t)||  (dotted: ||{w}.grad||)")
    ax.set_title(title or f"dL/d{'/'.join(names)} = sum over t of each step's contribution")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    if maps:
        _heatmap_row(fig, grid, single)
    if path is not None:
        save_figure(fig, path)
    return fig


def _heatmap_row(fig: Any, grid: Any, sg: StepGradients) -> None:
    mats = [np.atleast_2d(g) for g in sg.grads] + [np.atleast_2d(sg.total)]
    lim = max(float(np.max(np.abs(m))) for m in mats) or 1.0
    titles = [f"t={t}" if t is not None else "outside" for t in sg.steps] + [f"= {sg.name}.grad"]
    im = None
    for j, (m, ttl) in enumerate(zip(mats, titles)):
        a = fig.add_subplot(grid[1, j])
        im = a.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        a.set_title(("+ " if 0 < j < len(mats) - 1 else "") + ttl, fontsize=9)
        a.set_xticks([])
        a.set_yticks([])
    fig.colorbar(im, ax=fig.axes[1:], shrink=0.8, label=f"dL/d{sg.name}^(t) entries")
