"""A run's folder: checked before training, never written over by accident, read back to resume.

Files: model.npz (tg.save of the model, start state included), optimizer.npz (the optimizer's
moments, for --resume), results.json (strict JSON: every setting, loss, gradient norm and
evaluation; a non-finite number is written as null), loss.png, grad_flow.png, and for the
temporal XOR error_by_position.png.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..serialize import load, save
from .tasks.base import Evaluation, Task
from .train import SequenceModel, TrainResult, verdict

RUN_FILES = ("results.json", "model.npz")


class RunFolderError(ValueError):
    """An output folder that cannot be used: not creatable, not writable, or holding a previous run."""


def holds_run(folder: str | Path) -> bool:
    """True if the folder has a previous run's results or model."""
    return any((Path(folder) / f).exists() for f in RUN_FILES)


def free_folder(base: str | Path) -> Path:
    """base if it holds no run, else the first of base-2, base-3, ... that holds none."""
    base = Path(base)
    k, path = 1, base
    while holds_run(path):
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def prepare_folder(folder: str | Path, overwrite: bool = False) -> Path:
    """Create the folder (and parents) and check that a file can be written there, before training.

    A folder holding a previous run is refused unless overwrite; RunFolderError says why.
    """
    folder = Path(folder)
    if holds_run(folder) and not overwrite:
        raise RunFolderError(f"{folder} holds a previous run (results.json or model.npz); choose another "
                             f"-o, pass --overwrite, or --resume {folder} to continue it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise RunFolderError(f"cannot write into output folder {folder}: {e.strerror or e}") from None
    return folder


def strict(x: Any) -> Any:
    """x with numpy scalars and arrays as Python values and every NaN or infinity as None."""
    if isinstance(x, dict):
        return {str(k): strict(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [strict(v) for v in x]
    if isinstance(x, np.ndarray):
        return strict(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _write_text(path: Path, text: str) -> None:
    from ..viz.render import write_atomic
    write_atomic(path, text.encode())


def _finite(model: SequenceModel) -> bool:
    return all(np.all(np.isfinite(t)) for t in model.state_dict().values())


def record(task: Task, result: TrainResult) -> dict[str, Any]:
    """What results.json holds."""
    before = np.asarray(result.grad_norms, dtype=float)
    clip = result.config.get("clip", 0)
    return {
        "task": task.name, "paper": task.paper, "criterion": task.criterion,
        "paper_result": task.paper_result, "paper_note": task.paper_note, "settings": result.config,
        "task_options": result.task_options,
        "sequences": result.sequences,
        "unit": task.unit, "iterations": len(result.losses), "seconds": round(result.seconds, 2),
        "solved": result.solved, "solved_after": result.solved_after, "interrupted": result.interrupted,
        "diverged": result.diverged,
        "final": None if result.final is None else {"solved": result.final.solved,
                                                     "summary": result.final.summary,
                                                     "numbers": result.final.numbers},
        "verdict": verdict(task, result),
        "metric": {"key": task.metric, "label": task.metric_label, "goal": task.goal,
                   "baseline": task.baseline, "baseline_label": task.baseline_label},
        "clipped_fraction": (float(np.mean(before > clip))
                             if clip and result.config.get("clip_mode") == "norm" and len(before) else None),
        "max_grad_norm": float(before.max()) if len(before) else None,
        "evaluations": result.evaluations, "loss": result.losses,
        "grad_norm_before_clip": result.grad_norms, "grad_norm_after_clip": result.clipped_norms,
        "grad_flow_start": result.grad_flow_start, "grad_flow_end": result.grad_flow_end,
        "samples": result.samples,
    }


def write_outputs(task: Task, model: SequenceModel, result: TrainResult, out: str | Path,
                  opt: Any = None, plots: bool = True, save_model: bool = True) -> dict[str, Path]:
    """Into `out` (made by prepare_folder): model.npz, optimizer.npz, results.json and the plots.

    The model is saved only if save_model and every weight is finite (a diverged run passes
    save_model=False: a previous model.npz stays as it was).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json"}
    if save_model and _finite(model):
        paths["checkpoint"] = out / "model.npz"
        save(model, paths["checkpoint"])
        if opt is not None:
            paths["optimizer"] = out / "optimizer.npz"
            save(optimizer_state(model, opt), paths["optimizer"])
    _write_text(paths["results"], json.dumps(strict(record(task, result)), indent=1, allow_nan=False))
    if plots:
        from .plots import plot_error_by_position, plot_grad_flow_run, plot_run
        paths["loss"] = plot_run(task, result, out / "loss.png")
        if result.grad_flow_start and result.grad_flow_end:
            paths["grad_flow"] = plot_grad_flow_run(task, result, out / "grad_flow.png")
        if result.final is not None and "rms_over_12_steps" in result.final.numbers:
            paths["error_by_position"] = plot_error_by_position(task, result, out / "error_by_position.png")
    return paths


def optimizer_state(model: SequenceModel, opt: Any) -> dict[str, np.ndarray]:
    """The optimizer's per-parameter state (moments, step count) as {"<param>:<key>": array}."""
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for p in opt.params:
        for key, value in opt.state[id(p)].items():
            out[f"{names[id(p)]}:{key}"] = np.asarray(value)
    return out


def load_optimizer_state(model: SequenceModel, opt: Any, state: dict[str, np.ndarray]) -> None:
    """Put back what optimizer_state saved (a step count comes back as an int)."""
    params = dict(model.named_parameters())
    for name, value in state.items():
        pname, key = name.rsplit(":", 1)
        if pname not in params:
            raise RunFolderError(f"optimizer.npz: no parameter {pname!r} in the model; the run folder "
                                 f"does not match these settings")
        opt.state[id(params[pname])][key] = int(value) if value.ndim == 0 and key == "t" else value


def load_run(folder: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(results.json as a dict, model state dict, optimizer state or {}) of a run folder, for --resume."""
    folder = Path(folder)
    if not (folder / "results.json").exists() or not (folder / "model.npz").exists():
        raise RunFolderError(f"--resume {folder}: expected results.json and model.npz there (a folder "
                             f"written by tinygrad-rnn train)")
    rec = json.loads((folder / "results.json").read_text())
    opt = load(folder / "optimizer.npz") if (folder / "optimizer.npz").exists() else {}
    return rec, load(folder / "model.npz"), opt


def result_from_record(rec: dict[str, Any]) -> TrainResult:
    """The TrainResult a results.json describes (to continue it)."""
    result = TrainResult(rec["task"], rec["settings"], losses=list(rec["loss"]),
                         grad_norms=list(rec["grad_norm_before_clip"]),
                         clipped_norms=list(rec["grad_norm_after_clip"]),
                         evaluations=list(rec["evaluations"]), sequences=rec["sequences"],
                         solved_after=rec["solved_after"], seconds=rec["seconds"],
                         grad_flow_start=list(rec["grad_flow_start"]), samples=list(rec["samples"]),
                         task_options=dict(rec.get("task_options") or {}))
    if rec.get("final"):
        f = rec["final"]
        result.final = Evaluation(f["numbers"], f["solved"], f["summary"])
    return result
