"""The pictures of a run and of a comparison (matplotlib Figures made without pyplot: the backend,
the user's choice, is never selected or switched here).

- plot_run: loss.png, three panels on one axis of sequences seen: the test metric the verdict
  uses (criterion and trivial-predictor lines labelled), the training loss (chance labelled),
  and the gradient norm before clipping with the clip threshold and the share of steps clipped.
- plot_grad_flow_run: ||dL/dh_t|| (and ||dL/dc_t||) against steps back, before and after
  training, under the training's own truncation (the title says which).
- plot_error_by_position: the temporal XOR's RMS error by position in the stream (Elman 1990, Fig. 3).
- plot_compare: the test metric of every cell and seed on the same axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .tasks.base import Task
from .train import TrainResult


def _figure(**kwargs: Any) -> Any:
    from ..viz.mpl import InlineFigure  # matplotlib is imported on first use only
    return InlineFigure(**kwargs)


def _save(fig: Any, path: Path) -> Path:
    from ..viz.mpl import save_figure
    return save_figure(fig, path, bbox_inches="tight")


def _metric_axis(ax: Any, task: Task | Mapping[str, Any]) -> None:
    """Criterion and trivial-predictor lines, labels and scale for the task's test metric."""
    m = _meta(task)
    if m["goal"] is not None:
        ax.axhline(m["goal"], color="black", linestyle="--", linewidth=1.2,
                   label=f"criterion: {m['goal']:.4g}")
    if m["baseline"] is not None:
        ax.axhline(m["baseline"], color="0.35", linestyle=":", linewidth=1.4,
                   label=f"{m['baseline_label']} ({m['baseline']:.4g})")
    ax.set_ylabel(m["label"], fontsize=8)
    values = [v for v in (m["goal"], m["baseline"]) if v is not None]
    if values and min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")


def _meta(task: Task | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(task, Mapping):
        return dict(task)
    return {"key": task.metric, "label": task.metric_label, "goal": task.goal, "baseline": task.baseline,
            "baseline_label": task.baseline_label}


def _curve(evaluations: Sequence[Mapping[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([e["sequences"] for e in evaluations], dtype=float)
    y = np.array([np.nan if e["numbers"].get(key) is None else e["numbers"][key] for e in evaluations],
                 dtype=float)
    return x, y


def plot_run(task: Task, result: TrainResult, path: str | Path) -> Path:
    """loss.png: test metric, training loss, gradient norm and clipping (see module docstring)."""
    cfg = result.config
    fig = _figure(figsize=(7.5, 8.5))
    ax0, ax1, ax2 = fig.subplots(3, 1, sharex=True)
    n = len(result.losses)
    x = np.arange(1, n + 1) * (result.sequences / n) if n else np.zeros(0)
    ex, ey = _curve(result.evaluations, task.metric)
    if len(ex):
        ax0.plot(ex, ey, marker="o", markersize=3, linewidth=1.6, label=f"test ({task.metric})")
    if result.solved_after is not None:
        for ax in (ax0, ax1, ax2):
            ax.axvline(result.solved_after, color="green", linewidth=1.0, alpha=0.6)
        ax0.plot([], [], color="green", alpha=0.6,
                 label=f"criterion met: {result.solved_after:,} {task.unit}")
    _metric_axis(ax0, task)
    ax0.set_title(f"{task.name} with {cfg['cell']} (hidden {cfg['hidden']}, seed {cfg['seed']}"
                  + (f", truncate {cfg['truncate']}" if cfg.get("truncate") else "") + ")")
    ax0.legend(fontsize=7)
    if n:
        ax1.plot(x, result.losses, color="0.7", linewidth=0.6, label="loss per batch")
        k = max(1, n // 50)
        if n >= 2 * k and k > 1:
            ax1.plot(x[k - 1:], np.convolve(result.losses, np.ones(k) / k, mode="valid"), linewidth=1.6,
                     label=f"mean of {k} batches")
    if task.chance_loss is not None:
        ax1.axhline(task.chance_loss, color="0.35", linestyle=":", linewidth=1.4,
                    label=f"{task.chance_label} ({task.chance_loss:.4g})")
    if n and min(result.losses) > 0:
        ax1.set_yscale("log")
    ax1.set_ylabel(f"training loss ({task.loss}, {task.reduction})", fontsize=8)
    ax1.legend(fontsize=7)
    if n:
        before = np.asarray(result.grad_norms)
        ax2.plot(x, before, linewidth=0.7, color="C0", label="before clipping")
        if cfg.get("clip") and cfg.get("clip_mode") == "norm":
            share = float(np.mean(before > cfg["clip"]))
            ax2.axhline(cfg["clip"], color="C3", linestyle="--", linewidth=1.2,
                        label=f"clip threshold {cfg['clip']:g}: {share:.0%} of steps clipped to it")
        else:
            what = f" (each element to +-{cfg['clip']:g})" if cfg.get("clip") else ""
            ax2.plot(x, result.clipped_norms, linewidth=0.7, color="C1", alpha=0.8,
                     label="after clipping" + what)
        ax2.set_yscale("log")
    ax2.set_ylabel("gradient norm", fontsize=8)
    ax2.set_xlabel(f"{task.unit} seen")
    ax2.legend(fontsize=7)
    return _save(fig, Path(path))


def truncation_words(task: Task, truncate: int | None, T: int) -> str:
    """How far the training's gradient reaches back, in words."""
    if truncate and truncate < T:
        return f"truncated to windows of {truncate} step{'s' if truncate > 1 else ''}, as trained"
    if task.streams:
        return f"one window of {T} steps: training's gradient stops at each window's start"
    return "full BPTT, as trained"


def plot_grad_flow_run(task: Task, result: TrainResult, path: str | Path) -> Path:
    """grad_flow.png: ||dL_T/dh_t|| (and c_t) on the probe batch, before and after training."""
    from ..viz import plot_grad_flow
    cell = result.config["cell"]
    start, end = np.asarray(result.grad_flow_start, float), np.asarray(result.grad_flow_end, float)
    how = truncation_words(task, result.config.get("truncate"), len(start))
    c = ", dashed: ||dL_T/dc_t||" if start.ndim == 2 else ""
    plot_grad_flow({f"{cell} at start": start, f"{cell} at end": end}, path,
                   title=f"{task.name}: ||dL_T/dh_t||{c} on a probe batch\n({how})")
    return Path(path)


def plot_error_by_position(task: Task, result: TrainResult, path: str | Path) -> Path:
    """RMS error by position in the stream, 12 positions (Elman 1990, Fig. 3): a dip every third bit."""
    profile = result.final.numbers["rms_over_12_steps"]
    fig = _figure(figsize=(7, 3.5))
    ax = fig.subplots()
    pos = np.arange(1, len(profile) + 1)
    ax.bar(pos, profile, color=["C2" if p % 3 == 0 else "C0" for p in pos])
    ax.axhline(0.5, color="0.35", linestyle=":", label="a fair coin's RMS error: 0.5")
    ax.set_xticks(pos)
    ax.set_xlabel("position in the stream (mod 12); green: the predictable bits (XOR of the two before)")
    ax.set_ylabel("RMS error on the test stream")
    ax.set_title(f"{task.name}, {result.config['cell']}: error by position (Elman 1990, Fig. 3)")
    ax.legend(fontsize=8)
    return _save(fig, Path(path))


def plot_compare(meta: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], path: str | Path,
                 title: str) -> Path:
    """The test metric against sequences seen for every run (results.json records), one colour per
    cell, one line style per seed; the criterion and the trivial predictor as labelled lines."""
    fig = _figure(figsize=(9.5, 4.8))
    ax = fig.subplots()
    cells = list(dict.fromkeys(r["settings"]["cell"] for r in runs))
    colours = ["C0", "C1", "C4", "C3", "C5", "C6"]     # not green: a solved run's colour in loss.png
    styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1))]
    seeds = sorted({r["settings"]["seed"] for r in runs})
    for r in runs:
        cell, seed = r["settings"]["cell"], r["settings"]["seed"]
        x, y = _curve(r["evaluations"], meta["key"])
        ax.plot(x, y, color=colours[cells.index(cell) % len(colours)],
                linestyle=styles[seeds.index(seed) % len(styles)],
                linewidth=1.4, label=f"{cell} seed {seed}" + (" (solved)" if r["solved"] else ""))
    _metric_axis(ax, meta)
    ax.set_xlabel(f"{runs[0]['unit'] if runs else 'sequences'} seen")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(fig, Path(path))
