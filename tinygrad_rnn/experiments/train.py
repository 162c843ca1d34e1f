"""The training loop of the classic experiments: a cell and a linear readout, trained by BPTT.

One iteration: a batch from the task, `unroll` (from the previous state, detached, when the
task streams windows), the readout at the scored steps, the task's loss, `backward` in lean
mode, gradient clipping (norm recorded before and after), one optimizer step. Every
`eval_every` iterations the task's paper criterion is applied; by default training stops at
the first evaluation that says solved. Ctrl-C stops cleanly: the run so far is kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn, optim
from ..engine.context import no_grad
from ..engine.ops import stack
from ..engine.tensor import Tensor
from ..nn.cells import CELLS
from ..serialize import save
from ..speed.fused import make_cell
from .tasks.base import Batch, Evaluation, Task

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adagrad": optim.Adagrad}


@dataclass
class TrainConfig:
    """The settings of a run; `for_task` fills what is not given from the task's defaults."""

    cell: str = "lstm"
    hidden: int = 16
    steps: int | None = None
    iters: int = 1000
    lr: float = 0.01
    batch: int = 16
    optim: str = "adam"
    clip: float = 1.0             # 0 disables clipping
    clip_mode: str = "norm"       # "norm": global norm (Pascanu et al. 2013); "value": elementwise
    truncate: int | None = None   # detach the state every k steps inside a sequence
    seed: int = 0
    dtype: str = "float64"
    eval_every: int = 100
    init_std: float | None = None  # weights N(0, std), Elman and readout biases 0 (min-char-rnn)
    keep_going: bool = False       # train all iters even after the criterion is met
    fused: bool = True             # one Function per step where the cells offer it (faster)
    forget_bias: float = 1.0       # LSTM only: added to the forget gate's bias (Gers et al. 2000)

    @classmethod
    def for_task(cls, task: Task | type[Task], **given: Any) -> TrainConfig:
        """The task's defaults, overridden by every given value that is not None."""
        values = dict(task.defaults)
        values.update({k: v for k, v in given.items() if v is not None})
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})


class SequenceModel(nn.Module):
    """A recurrent cell and a linear readout: h_t = cell(x_t, h_{t-1}), y_t = h_t V + c."""

    def __init__(self, cell: Any, output_size: int, rng: np.random.Generator, dtype: Any) -> None:
        self.cell = cell
        self.readout = nn.Linear(cell.hidden_size, output_size, rng=rng, dtype=dtype)

    def forward(self, xs: Any, state: Any = None, truncate: int | None = None) -> tuple[list[Tensor], Any]:
        return nn.unroll(self.cell, xs, state=state, truncate=truncate)

    def outputs(self, hs: list[Tensor], where: np.ndarray) -> Tensor:
        """Readout rows for the flat indices `where` (t*B + b) of the T*B outputs, in that order."""
        B = hs[0].shape[0]
        t_idx, b_idx = np.divmod(np.asarray(where), B)
        steps = np.unique(t_idx)
        if len(steps) == 1:
            h = hs[int(steps[0])]
            rows = b_idx
        else:
            h = stack([hs[int(t)] for t in steps], axis=0).reshape(len(steps) * B, -1)
            rows = np.searchsorted(steps, t_idx) * B + b_idx
        if not np.array_equal(rows, np.arange(h.shape[0])):
            h = h[rows]
        return self.readout(h)


def make_model(task: Task, config: TrainConfig) -> SequenceModel:
    """The cell named by config.cell (seeded) with a readout to the task's outputs."""
    if config.cell not in CELLS:
        raise ValueError(f"make_model: unknown cell {config.cell!r}; choose from {', '.join(CELLS)}")
    rng = np.random.default_rng([config.seed, 2])
    kwargs: dict[str, Any] = {"rng": rng, "dtype": np.dtype(config.dtype)}
    if config.cell == "lstm":
        kwargs["forget_bias"] = config.forget_bias
    cell = make_cell(config.cell, task.input_size, config.hidden, fused=config.fused, **kwargs)
    model = SequenceModel(cell, task.output_size, rng, np.dtype(config.dtype))
    if config.init_std is not None:
        for name, p in model.named_parameters():
            if p.ndim == 2:
                p.data = (rng.standard_normal(p.shape) * config.init_std).astype(p.dtype)
            elif p.ndim == 1 and (name.startswith("readout") or config.cell == "elman"):
                p.data = np.zeros_like(p.data)
    return model


def batch_loss(task: Task, model: SequenceModel, batch: Batch, state: Any = None,
               truncate: int | None = None) -> tuple[Tensor, list[Tensor], Any]:
    """The task's loss on one batch: (loss, hs, final state)."""
    hs, final = model(batch.xs.astype(model.cell.dtype, copy=False), state=state, truncate=truncate)
    y = model.outputs(hs, batch.where)
    if task.loss == "mse":
        loss = nn.mse_loss(y, batch.targets.astype(y.dtype), reduction=task.reduction)
    elif task.loss == "bce":
        loss = nn.binary_cross_entropy_with_logits(y, batch.targets.astype(y.dtype), reduction=task.reduction)
    elif task.loss == "ce":
        loss = nn.cross_entropy(y, batch.targets, reduction=task.reduction)
    else:
        raise ValueError(f"batch_loss: task {task.name} has unknown loss kind {task.loss!r}")
    return loss, hs, final


def _activate(task: Task, y: Tensor) -> np.ndarray:
    """The task's output nonlinearity on readout values (call under no_grad)."""
    if task.loss == "bce":
        y = y.sigmoid()
    elif task.loss == "ce":
        y = nn.softmax(y)
    return y.data.astype(np.float64)


def predictor(task: Task, model: SequenceModel) -> Callable[[np.ndarray], np.ndarray]:
    """xs (T, B, I) -> outputs (T, B, O) after the task's output nonlinearity, without a graph."""
    def predict(xs: np.ndarray) -> np.ndarray:
        with no_grad():
            hs, _ = model(xs.astype(model.cell.dtype, copy=False))
            H = np.stack([h.data for h in hs])
            y = _activate(task, model.readout(Tensor(H.reshape(-1, H.shape[-1]))))
        return y.reshape(H.shape[0], H.shape[1], -1)
    return predict


def stepper(task: Task, model: SequenceModel) -> Callable[[np.ndarray], np.ndarray]:
    """One step at a time, carrying the state: x (1, I) -> output probabilities (O,)."""
    state: list[Any] = [None]

    def step(x: np.ndarray) -> np.ndarray:
        with no_grad():
            hs, state[0] = model(x[None].astype(model.cell.dtype), state=state[0])
            return _activate(task, model.readout(hs[-1]))[0]
    return step


def gradient_flow(task: Task, model: SequenceModel, batch: Batch) -> np.ndarray:
    """||dL_T/dh_t|| for t = 1..T, L_T the loss at the batch's last scored step only (so the curve
    shows how far back one loss reaches: Bengio et al. 1994). Parameter gradients are cleared."""
    from ..viz import grad_flow
    last = batch.where // batch.batch_size == batch.where.max() // batch.batch_size
    batch = Batch(batch.xs[: batch.where.max() // batch.batch_size + 1], batch.targets[last],
                  batch.where[last])
    loss, hs, _ = batch_loss(task, model, batch)
    for h in hs:
        h.retain_grad()
    loss.backward(keep_intermediate=False)
    model.zero_grad()
    return grad_flow(hs)


@dataclass
class TrainResult:
    """What a run did: per-iteration numbers, the evaluations, and the verdict."""

    task: str
    config: dict[str, Any]
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)          # before clipping
    clipped_norms: list[float] = field(default_factory=list)       # after clipping
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    sequences: int = 0
    solved_after: int | None = None       # sequences seen at the first solved evaluation
    final: Evaluation | None = None
    interrupted: bool = False
    seconds: float = 0.0
    grad_flow_start: list[float] = field(default_factory=list)
    grad_flow_end: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)

    @property
    def solved(self) -> bool:
        return self.solved_after is not None


def _norm(params: list[Tensor]) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64)))
                             for p in params if p.grad is not None)))


def train(task: Task, config: TrainConfig, progress: bool = True,
          log: Callable[[str], None] = print,
          model: SequenceModel | None = None) -> tuple[SequenceModel, TrainResult]:
    """Train config.cell on the task; returns the model and a TrainResult (see module docstring).

    A KeyboardInterrupt during training ends it cleanly (result.interrupted): the model and
    the numbers so far are returned. `model` continues training a given model.
    """
    if config.optim not in OPTIMIZERS:
        raise ValueError(f"train: unknown optimizer {config.optim!r}; choose from {', '.join(OPTIMIZERS)}")
    if config.clip_mode not in ("norm", "value"):
        raise ValueError(f"train: clip_mode must be 'norm' or 'value', got {config.clip_mode!r}")
    model = model or make_model(task, config)
    result = TrainResult(task.name, asdict(config))
    start, state, running, bar = time.perf_counter(), None, None, None
    try:
        from tqdm import tqdm
        params = model.parameters()
        opt = OPTIMIZERS[config.optim](params, lr=config.lr)
        data = task.batches(np.random.default_rng([config.seed, 3]), config.batch)
        sample_rng = np.random.default_rng([config.seed, 4])
        bar = tqdm(total=config.iters, desc=f"{task.name}/{config.cell}", unit="it", disable=not progress,
                   dynamic_ncols=True, mininterval=0.5)
        result.grad_flow_start = gradient_flow(task, model, task.probe()).tolist()
        for it in range(1, config.iters + 1):
            batch = next(data)
            carried = _detach(state) if batch.carry else None
            loss, _, state = batch_loss(task, model, batch, carried, config.truncate)
            opt.zero_grad()
            loss.backward(keep_intermediate=False)
            before = _norm(params)
            if config.clip > 0 and config.clip_mode == "norm":
                optim.clip_grad_norm(params, config.clip)
            elif config.clip > 0:
                optim.clip_grad_value(params, config.clip)
            after = _norm(params) if config.clip > 0 else before
            opt.step()
            value = loss.item()
            if not np.isfinite(value):
                log(f"stopping: the loss became {value} at iteration {it} (try a smaller --lr or --clip)")
                break
            result.losses.append(value)
            result.grad_norms.append(before)
            result.clipped_norms.append(after)
            result.sequences += batch.batch_size
            running = value if running is None else 0.98 * running + 0.02 * value
            bar.set_postfix(loss=f"{running:.4f}", gnorm=f"{before:.3g}", clipped=f"{after:.3g}",
                            refresh=False)
            bar.update(1)
            if it % config.eval_every == 0 or it == config.iters:
                ev = _evaluate(task, model, result, it)
                if hasattr(task, "sample"):
                    text = task.sample(stepper(task, model), 200, sample_rng)
                    result.samples.append(text)
                    bar.write(f"--- sample after {it} iterations ---\n{text}\n---")
                bar.write(f"[{it}] {'SOLVED ' if ev.solved else ''}{ev.summary}")
                if ev.solved and not config.keep_going:
                    break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    result.seconds = time.perf_counter() - start
    return model, result


def finish(task: Task, model: SequenceModel, result: TrainResult) -> TrainResult:
    """The closing evaluation (unless the last one is current) and the end-of-run gradient flow."""
    last = result.evaluations[-1] if result.evaluations else None
    if last is not None and last["sequences"] == result.sequences:
        result.final = Evaluation(last["numbers"], last["solved"], last["summary"])
    else:
        result.final = _evaluate(task, model, result, len(result.losses))
    result.grad_flow_end = gradient_flow(task, model, task.probe()).tolist()
    return result


def _evaluate(task: Task, model: SequenceModel, result: TrainResult, it: int) -> Evaluation:
    ev = task.evaluate(predictor(task, model))
    result.evaluations.append({"iteration": it, "sequences": result.sequences, "solved": ev.solved,
                               "summary": ev.summary, "numbers": ev.numbers})
    if ev.solved and result.solved_after is None:
        result.solved_after = result.sequences
    return ev


def _detach(state: Any) -> Any:
    if state is None or isinstance(state, Tensor):
        return None if state is None else state.detach()
    parts = [p.detach() for p in state]
    return type(state)(*parts) if hasattr(state, "_fields") else type(state)(parts)


def verdict(task: Task, result: TrainResult) -> str:
    """The closing line: solved (criterion) after N sequences, or not solved, with the paper's figure."""
    unit = task.unit
    if result.solved:
        head = f"solved (criterion: {task.criterion}) after {result.solved_after:,} {unit}"
    else:
        why = result.final.summary if result.final is not None else "no evaluation was made"
        stop = "interrupted" if result.interrupted else "stopped"
        head = f"not solved: {why}; {stop} after {result.sequences:,} {unit} (criterion: {task.criterion})"
    return f"{head} | paper: {task.paper_result}"


def write_outputs(task: Task, model: SequenceModel, result: TrainResult, out: str | Path) -> dict[str, Path]:
    """Into `out`: model.npz (tg.save), results.json, loss.png, grad_flow.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"checkpoint": out / "model.npz", "results": out / "results.json",
             "loss": out / "loss.png", "grad_flow": out / "grad_flow.png"}
    save(model, paths["checkpoint"])
    _plot_loss(task, result, paths["loss"])
    if result.grad_flow_start and result.grad_flow_end:
        from ..viz import plot_grad_flow
        plot_grad_flow({f"{result.config['cell']} at start": result.grad_flow_start,
                        f"{result.config['cell']} at end": result.grad_flow_end}, paths["grad_flow"],
                       title=f"{task.name}: ||dL/dh_t|| on a probe batch, before and after training")
    else:
        del paths["grad_flow"]
    record = {
        "task": task.name, "paper": task.paper, "criterion": task.criterion,
        "paper_result": task.paper_result,
        "settings": result.config, "sequences": result.sequences, "unit": task.unit,
        "iterations": len(result.losses), "seconds": round(result.seconds, 2),
        "solved": result.solved, "solved_after": result.solved_after, "interrupted": result.interrupted,
        "final": None if result.final is None else {"solved": result.final.solved,
                                                     "summary": result.final.summary,
                                                     "numbers": result.final.numbers},
        "verdict": verdict(task, result), "evaluations": result.evaluations,
        "loss": result.losses, "grad_norm_before_clip": result.grad_norms,
        "grad_norm_after_clip": result.clipped_norms,
        "grad_flow_start": result.grad_flow_start, "grad_flow_end": result.grad_flow_end,
        "samples": result.samples,
    }
    tmp = paths["results"].with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=_jsonable))
    tmp.replace(paths["results"])
    return paths


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def _plot_loss(task: Task, result: TrainResult, path: Path) -> None:
    import io
    import sys

    import matplotlib
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # headless unless the caller already chose a backend
    import matplotlib.pyplot as plt

    from ..viz.render import write_atomic
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7.5, 6), sharex=True)
    n = len(result.losses)
    if n:
        per = result.sequences / n
        x = np.arange(1, n + 1) * per
        ax.plot(x, result.losses, color="0.75", linewidth=0.8, label="loss per batch")
        k = max(1, n // 50)
        if n >= 2 * k:
            smooth = np.convolve(result.losses, np.ones(k) / k, mode="valid")
            ax.plot(x[k - 1:], smooth, linewidth=1.6, label=f"mean of {k}")
        ax2.plot(x, result.grad_norms, linewidth=0.8, label="before clipping")
        ax2.plot(x, result.clipped_norms, linewidth=0.8, label="after clipping")
    for ev in result.evaluations:
        ax.axvline(ev["sequences"], color="green" if ev["solved"] else "0.9", linewidth=0.6, zorder=0)
    if result.solved_after is not None:
        ax.axvline(result.solved_after, color="green", linewidth=1.5, label="criterion met")
    ax.set_yscale("log" if n and min(result.losses) > 0 else "linear")
    ax.set_ylabel(f"loss ({task.loss}, {task.reduction})")
    ax.set_title(f"{task.name} with {result.config['cell']} (hidden {result.config['hidden']})")
    ax.legend()
    ax2.set_yscale("log")
    ax2.set_ylabel("gradient norm")
    ax2.set_xlabel(f"{task.unit} seen")
    ax2.legend()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    write_atomic(path, buf.getvalue())
