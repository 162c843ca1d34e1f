"""One Adam training step of the adding task (LSTM, H=16, T=50, B=32, float64), against torch.nn.LSTM.

A step, as `tinygrad-rnn train` takes it: zero the gradients, run the model over the batch, read
out the scored step, MSE, backward, clip the global gradient norm at 1, Adam. Ours is the model
train builds (`make_model`: the whole-sequence layer tg.nn.LSTM by default, the primitive cell with
--no-fused); torch's is torch.nn.LSTM + torch.nn.Linear holding the same weights, clip_grad_norm_
and torch.optim.Adam. The first step's loss is checked to agree. One BLAS/intra-op thread, CPU
time, medians of rounds in which the implementations take turns (bench/cells.py).

    python bench/train_step.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import cells  # noqa: E402
from tinygrad_rnn import optim  # noqa: E402
from tinygrad_rnn.experiments.tasks import get_task  # noqa: E402
from tinygrad_rnn.experiments.train import TrainConfig, batch_loss, make_model, make_optimizer  # noqa: E402

TASK, SIZE = "adding_modern", dict(hidden=16, steps=50, batch=32)  # (T = 50 is adding_modern's default)
IMPLS = ("tinygrad sequence", "tinygrad_rnn", "torch nn")


def _ours(fused: bool) -> tuple[Any, Any]:
    """(step, model): one training step of the model train builds, on one fixed batch."""
    task = get_task(TASK, steps=SIZE["steps"])
    config = TrainConfig.for_task(task, hidden=SIZE["hidden"], batch=SIZE["batch"], dtype="float64",
                                  fused=fused)
    model = make_model(task, config)
    opt = make_optimizer(model, config)
    params = model.parameters()
    batch = next(task.batches(np.random.default_rng(0), config.batch))

    def step() -> float:
        loss, _, _ = batch_loss(task, model, batch)
        opt.zero_grad()
        loss.backward(keep_intermediate=False)
        optim.clip_grad_norm(params, config.clip)
        opt.step()
        return loss.item()
    return step, model


def _torch(model: Any) -> Any:
    """The same step with torch.nn.LSTM and Linear holding `model`'s weights (None without torch)."""
    torch = cells._torch()
    if torch is None:
        return None
    task = get_task(TASK, steps=SIZE["steps"])
    config = TrainConfig.for_task(task, hidden=SIZE["hidden"], batch=SIZE["batch"])
    state = {k: v for k, v in model.state_dict().items() if k.startswith("cell.")}
    lstm = cells.torch_module(torch, "lstm", {k[len("cell."):]: v for k, v in state.items()})
    readout = torch.nn.Linear(SIZE["hidden"], 1).to(torch.float64)
    with torch.no_grad():
        readout.weight.copy_(torch.from_numpy(model.readout.W.data.T))
        readout.bias.copy_(torch.from_numpy(model.readout.b.data))
    params = list(lstm.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    batch = next(task.batches(np.random.default_rng(0), config.batch))
    xs, targets = torch.from_numpy(batch.xs), torch.from_numpy(batch.targets)

    def step() -> float:
        out, _ = lstm(xs)
        loss = torch.nn.functional.mse_loss(readout(out[-1]), targets)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.clip)
        opt.step()
        return loss.item()
    return step


def steps() -> dict[str, Any]:
    """Every available implementation of the training step, each on its own copy of the same weights."""
    sequence, model = _ours(fused=True)
    primitive, _ = _ours(fused=False)
    made = {"tinygrad sequence": sequence, "tinygrad_rnn": primitive, "torch nn": _torch(model)}
    return {k: v for k, v in made.items() if v is not None}


def run(repeats: int = 7, progress: Any = None) -> list[dict]:
    """One row per implementation: median seconds of a step and the ratio to torch.nn.LSTM's."""
    runs = steps()
    first = {name: step() for name, step in runs.items()}  # the same weights and batch: the same loss
    for name, loss in first.items():
        if abs(loss - first["tinygrad sequence"]) > 1e-9 * abs(loss):
            raise AssertionError(f"bench: the {name} training step has loss {loss!r}, the sequence layer's "
                                 f"{first['tinygrad sequence']!r}: the steps do different work")
    with cells.blas_threads(1):
        medians = cells.median_seconds(runs, repeats, clock=cells._clock(1))
    base = medians.get("torch nn")
    rows = []
    for name, s in medians.items():
        rows.append({"impl": name, "seconds": s, "vs_torch": None if base is None else s / base,
                     "repeats": repeats})
        if progress:
            progress(f"adam step {name:18} {s * 1e3:8.2f} ms" + (f" {s / base:5.2f}x torch" if base else ""))
    return rows


if __name__ == "__main__":
    run(progress=print)
