"""The training loop of the classic experiments: a cell and a linear readout, trained by BPTT.

One iteration: a batch from the task, `unroll` (from the previous state, detached, when the
task streams windows), the readout at the scored steps, the task's loss, `backward` in lean
mode, gradient clipping (norm recorded before and after), one optimizer step. Every
`eval_every` iterations the task's paper criterion is applied; by default training stops at
the first evaluation that says solved. Ctrl-C stops cleanly: the run so far is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import nn, optim
from ..engine.context import no_grad
from ..engine.factory import stack
from ..engine.tensor import Tensor
from ..nn import detach_state
from ..nn.cells import CELLS
from ..speed.sequence import LAYERS
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
    fused: bool = True             # run the cell as its whole-sequence layer: one op per batch, same numbers
    forget_bias: float = 1.0       # LSTM only: added to the forget gate's bias (Gers et al. 2000)

    @classmethod
    def for_task(cls, task: Task | type[Task], **given: Any) -> TrainConfig:
        """The task's defaults, overridden by every given value that is not None."""
        values = dict(task.defaults)
        values.update({k: v for k, v in given.items() if v is not None})
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})


class SequenceModel(nn.Module):
    """A recurrent cell and a linear readout: h_t = cell(x_t, h_{t-1}), y_t = h_t V + c.

    Given the cell's whole-sequence layer (speed/sequence.py: one op per call, on the cell's own
    parameters), forward runs that instead of unrolling the primitive ops; `cell` is the cell either way.

    Buffers h0 (and c0 for a two-part state such as the LSTM's) hold the state the model starts
    from when used: zeros, or, for a task read as one stream, the state training had reached at
    the last evaluation (saved with the weights, so the saved model is scored as it was used).
    """

    def __init__(self, cell: Any, output_size: int, rng: np.random.Generator, dtype: Any,
                 state_parts: int = 1, layer: Any = None) -> None:
        self.cell = cell
        self._layer = layer  # private: its parameters are the cell's, listed once under cell.*
        self.readout = nn.Linear(cell.hidden_size, output_size, rng=rng, dtype=dtype)
        self.h0 = Tensor(np.zeros((1, cell.hidden_size)), dtype=dtype)
        if state_parts == 2:
            self.c0 = Tensor(np.zeros((1, cell.hidden_size)), dtype=dtype)

    def start_state(self, batch_size: int) -> Any:
        """The stored start state, repeated for batch_size rows (an LSTMState if there is a c0)."""
        h = Tensor(np.repeat(self.h0.data, batch_size, axis=0))
        if not hasattr(self, "c0"):
            return h
        return nn.LSTMState(h, Tensor(np.repeat(self.c0.data, batch_size, axis=0)))

    def keep_state(self, state: Any) -> None:
        """Store row 0 of a state (a Tensor or an (h, c) tuple) as the start state."""
        parts = (state,) if isinstance(state, Tensor) else tuple(state)
        self.h0.data = np.array(parts[0].data[:1], dtype=self.h0.dtype)
        if hasattr(self, "c0"):
            self.c0.data = np.array(parts[1].data[:1], dtype=self.c0.dtype)

    def forward(self, xs: Any, state: Any = None, truncate: int | None = None) -> tuple[Any, Any]:
        """(h_1..h_T, final state): a list of T Tensors, or one (T, B, H) Tensor from the layer."""
        if self._layer is not None:
            return self._layer(xs, state, truncate=truncate)
        return nn.unroll(self.cell, xs, state=state, truncate=truncate)

    def outputs(self, hs: Any, where: np.ndarray) -> Tensor:
        """Readout rows for the flat indices `where` (t*B + b) of the T*B outputs, in that order."""
        B = hs.shape[1] if isinstance(hs, Tensor) else hs[0].shape[0]
        t_idx, b_idx = np.divmod(np.asarray(where), B)
        steps = np.unique(t_idx)
        if len(steps) == 1:
            h = hs[int(steps[0])]
            rows = b_idx
        else:
            if isinstance(hs, Tensor):  # the layer's (T, B, H) output
                h = hs if len(steps) == len(hs) else hs[steps]
            else:
                h = stack([hs[int(t)] for t in steps], axis=0)
            h = h.reshape(len(steps) * B, -1)
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
    cell = CELLS[config.cell](task.input_size, config.hidden, **kwargs)
    model = SequenceModel(cell, task.output_size, rng, np.dtype(config.dtype),
                          state_parts=2 if config.cell == "lstm" else 1,
                          layer=LAYERS[config.cell].from_cell(cell) if config.fused else None)
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
    return _loss(task, model.outputs(hs, batch.where), batch), hs, final


def _loss(task: Task, y: Tensor, batch: Batch) -> Tensor:
    if task.loss == "mse":
        loss = nn.mse_loss(y, batch.targets.astype(y.dtype), reduction=task.reduction)
    elif task.loss == "bce":
        loss = nn.binary_cross_entropy_with_logits(y, batch.targets.astype(y.dtype), reduction=task.reduction)
    elif task.loss == "ce":
        loss = nn.cross_entropy(y, batch.targets, reduction=task.reduction)
    else:
        raise ValueError(f"batch_loss: task {task.name} has unknown loss kind {task.loss!r}")
    return loss


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
            hs, _ = model(xs.astype(model.cell.dtype, copy=False), state=model.start_state(xs.shape[1]))
            H = hs.data if isinstance(hs, Tensor) else np.stack([h.data for h in hs])
            y = _activate(task, model.readout(Tensor(H.reshape(-1, H.shape[-1]))))
        return y.reshape(H.shape[0], H.shape[1], -1)
    return predict


def stepper(task: Task, model: SequenceModel) -> Callable[[np.ndarray], np.ndarray]:
    """One step at a time from the model's start state: x (1, I) -> output probabilities (O,)."""
    state: list[Any] = [model.start_state(1)]

    def step(x: np.ndarray) -> np.ndarray:
        with no_grad():
            hs, state[0] = model(x[None].astype(model.cell.dtype), state=state[0])
            return _activate(task, model.readout(hs[-1]))[0]
    return step


def gradient_flow(task: Task, model: SequenceModel, batch: Batch, truncate: int | None = None) -> np.ndarray:
    """||dL_T/dh_t|| for t = 1..T, L_T the loss at the batch's last scored step only (so the curve
    shows how far back one loss reaches: Bengio et al. 1994), under the training's truncation
    (none reaches beyond its window of `truncate` steps). Shape (T,), or (T, 2) with ||dL_T/dc_t||
    beside for a cell whose state is (h, c). Parameter gradients are cleared."""
    from ..viz import grad_flow
    last = batch.where // batch.batch_size == batch.where.max() // batch.batch_size
    batch = Batch(batch.xs[: batch.where.max() // batch.batch_size + 1], batch.targets[last],
                  batch.where[last])
    xs = batch.xs.astype(model.cell.dtype, copy=False)
    run = nn.unroll(model.cell, xs, state=model.start_state(batch.batch_size), truncate=truncate)  # every h_t
    hs = run[0]
    states = [run.states[t] for t in run.steps] if hasattr(run, "states") else hs
    for s in states:
        for part in (s,) if isinstance(s, Tensor) else s:
            part.retain_grad()
    loss = _loss(task, model.outputs(hs, batch.where), batch)
    loss.backward(keep_intermediate=False)
    model.zero_grad()
    return grad_flow(states if isinstance(states[0], Tensor) else [tuple(s) for s in states])


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
    diverged: str | None = None           # why training stopped on a non-finite loss or gradient
    seconds: float = 0.0
    grad_flow_start: list[Any] = field(default_factory=list)
    grad_flow_end: list[Any] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    task_options: dict[str, Any] = field(default_factory=dict)   # how the task was built (--heldout, --text)

    @property
    def solved(self) -> bool:
        return self.solved_after is not None


def _norm(params: list[Tensor]) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64)))
                             for p in params if p.grad is not None)))


def make_optimizer(model: SequenceModel, config: TrainConfig) -> optim.Optimizer:
    """config.optim over the model's parameters at config.lr."""
    if config.optim not in OPTIMIZERS:
        raise ValueError(f"train: unknown optimizer {config.optim!r}; choose from {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[config.optim](model.parameters(), lr=config.lr)


def train(task: Task, config: TrainConfig, progress: bool = True,
          log: Callable[[str], None] = print, model: SequenceModel | None = None,
          result: TrainResult | None = None, opt: optim.Optimizer | None = None,
          checkpoint: Callable[[SequenceModel, TrainResult, optim.Optimizer], None] | None = None,
          checkpoint_every: int = 0) -> tuple[SequenceModel, TrainResult]:
    """Train config.cell on the task; returns the model and a TrainResult (see module docstring).

    A KeyboardInterrupt during training ends it cleanly (result.interrupted): the model and
    the numbers so far are returned. A non-finite loss or gradient stops training before the
    step that would spread it into the weights (result.diverged). `model`, `result` and `opt`
    continue a previous run (its iterations count towards config.iters); `checkpoint(model,
    result, opt)` is called every `checkpoint_every` iterations.
    """
    if config.clip_mode not in ("norm", "value"):
        raise ValueError(f"train: clip_mode must be 'norm' or 'value', got {config.clip_mode!r}")
    model = model or make_model(task, config)
    opt = opt or make_optimizer(model, config)
    result = result or TrainResult(task.name, asdict(config))
    done = len(result.losses)
    start, state, running, bar = time.perf_counter() - result.seconds, None, None, None
    try:
        from tqdm import tqdm
        params = model.parameters()
        data = task.batches(np.random.default_rng([config.seed, 3]), config.batch)
        for _ in range(done):          # a resumed run reads on where it stopped
            next(data)
        sample_rng = np.random.default_rng([config.seed, 4, done])
        goal = "to the end of the budget" if config.keep_going else "stops when solved"
        bar = tqdm(total=config.iters, initial=done, desc=f"{task.name}/{config.cell} ({goal})", unit="it",
                   disable=not progress, dynamic_ncols=True, mininterval=0.5)
        if not done:
            result.grad_flow_start = gradient_flow(task, model, task.probe(), config.truncate).tolist()
        for it in range(done + 1, config.iters + 1):
            batch = next(data)
            carried = detach_state(state) if batch.carry and state is not None else None
            loss, _, state = batch_loss(task, model, batch, carried, config.truncate)
            value = loss.item()
            if not np.isfinite(value):
                result.diverged = f"the loss became {value} at iteration {it}"
                break
            opt.zero_grad()
            loss.backward(keep_intermediate=False)
            before = _norm(params)
            if not np.isfinite(before):
                result.diverged = f"the gradient norm became {before} at iteration {it}"
                break
            if config.clip > 0 and config.clip_mode == "norm":
                optim.clip_grad_norm(params, config.clip)
            elif config.clip > 0:
                optim.clip_grad_value(params, config.clip)
            after = _norm(params) if config.clip > 0 else before
            opt.step()
            result.losses.append(value)
            result.grad_norms.append(before)
            result.clipped_norms.append(after)
            result.sequences += batch.batch_size
            if task.streams:
                model.keep_state(state)
            running = value if running is None else 0.98 * running + 0.02 * value
            bar.set_postfix(loss=f"{running:.4g}", gnorm=f"{before:.3g}", clipped=f"{after:.3g}",
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
            if checkpoint is not None and checkpoint_every and it % checkpoint_every == 0:
                result.seconds = time.perf_counter() - start
                checkpoint(model, result, opt)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    if result.diverged:
        log(f"stopping: {result.diverged} (try a smaller --lr or --clip)")
    result.seconds = time.perf_counter() - start
    return model, result


def finish(task: Task, model: SequenceModel, result: TrainResult) -> TrainResult:
    """The closing evaluation (unless the last one is current) and the end-of-run gradient flow."""
    last = result.evaluations[-1] if result.evaluations else None
    if last is not None and last["sequences"] == result.sequences:
        result.final = Evaluation(last["numbers"], last["solved"], last["summary"])
    else:
        result.final = _evaluate(task, model, result, len(result.losses))
    result.grad_flow_end = gradient_flow(task, model, task.probe(), result.config.get("truncate")).tolist()
    return result


def _evaluate(task: Task, model: SequenceModel, result: TrainResult, it: int) -> Evaluation:
    ev = task.evaluate(predictor(task, model))
    result.evaluations.append({"iteration": it, "sequences": result.sequences, "solved": ev.solved,
                               "summary": ev.summary, "numbers": ev.numbers})
    if ev.solved and result.solved_after is None:
        result.solved_after = result.sequences
    return ev


def verdict(task: Task, result: TrainResult) -> list[str]:
    """The closing lines: one short line (task, cell, solved or not and when, the test metric, wall
    time), the paper's figure with its source, and where modern training changes the paper's
    outcome, one sentence why."""
    cfg = result.config
    who = f"{task.name} / {cfg['cell']}, seed {cfg['seed']}"
    if result.solved:
        head = f"solved after {result.solved_after:,} {task.unit}"
    else:
        why = ("interrupted" if result.interrupted else "diverged" if result.diverged else "stopped")
        head = f"not solved ({why} after {result.sequences:,} {task.unit})"
    metric = ""
    if result.final is not None and task.metric in result.final.numbers:
        metric = f"; {task.metric.replace('_', ' ')} {result.final.numbers[task.metric]:.4g}"
        if task.goal is not None:
            metric += f" (criterion {task.goal:.4g})"
    lines = [f"{who}: {head}{metric}; {result.seconds:.0f} s", f"paper: {task.paper_result}"]
    if task.paper_note and cfg["cell"] != "lstm" and not cfg.get("truncate"):
        lines.append(f"note: {task.paper_note}")
    return lines
