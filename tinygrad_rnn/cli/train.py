"""`tinygrad-rnn train TASK --cell ...`: train a classic experiment and say whether it is solved."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from .args import int_list, name_list, nonneg_float, nonneg_int, positive_int


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from ..experiments.tasks import TASKS
    from ..experiments.train import OPTIMIZERS
    from ..nn.cells import CELLS

    lines = [f"  {name:15s} {cls.paper}\n  {'':15s} defaults: " + ", ".join(
        f"{k.replace('_', '-')} {v}" for k, v in cls.defaults.items()) for name, cls in TASKS.items()]
    p = sub.add_parser(
        "train", help="train a classic experiment (Elman 1990, Hochreiter & Schmidhuber 1997, ...)",
        description="Train a cell on a classic task and judge it by the paper's criterion. Unset "
                    "options take the task's defaults (see docs/results.md).\n\ntasks:\n" + "\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=sorted(set(TASKS) | {n.replace("_", "-") for n in TASKS}),
                   metavar="TASK", help="one of: " + ", ".join(TASKS))
    p.add_argument("--cell", type=name_list(list(CELLS)),
                   help="recurrent cell, or several separated by commas to compare them (task default; "
                        "one of " + ", ".join(CELLS) + ")")
    p.add_argument("--hidden", type=positive_int, help="hidden units")
    p.add_argument("--steps", type=positive_int,
                   help="sequence length T (adding tasks) or window length (temporal_xor, "
                        "elman_letters, chars)")
    p.add_argument("--iters", type=positive_int, help="optimizer steps at most")
    p.add_argument("--lr", type=nonneg_float, help="learning rate")
    p.add_argument("--batch", type=positive_int, help="sequences (or stream segments) per batch")
    p.add_argument("--optim", choices=list(OPTIMIZERS), help="optimizer")
    p.add_argument("--clip", type=nonneg_float, help="gradient clipping threshold (0: none)")
    p.add_argument("--clip-mode", choices=["norm", "value"],
                   help="clip the global norm (default) or each element (chars default)")
    p.add_argument("--truncate", type=positive_int,
                   help="detach the state every k steps (truncated BPTT; 1 = Elman's original rule)")
    p.add_argument("--seed", type=nonneg_int, help="seed of data and initial weights (default 0)")
    p.add_argument("--seeds", type=int_list,
                   help="several seeds separated by commas (e.g. 0,1,2): one run per cell and seed, "
                        "summarised per cell, with one figure of all runs")
    p.add_argument("--jobs", type=positive_int,
                   help="with several runs: how many train at once (default: 2, or fewer cores)")
    p.add_argument("--dtype", choices=["float64", "float32"], help="parameter dtype (default float64)")
    p.add_argument("--forget-bias", type=float,
                   help="lstm only: initial forget-gate bias (1, or the task's default: 5 for the adding "
                        "tasks; large values approach the 1997 LSTM, which had no forget gate)")
    p.add_argument("--eval-every", type=positive_int, help="iterations between evaluations")
    p.add_argument("--keep-going", action="store_true", help="train all iterations even once solved")
    p.add_argument("--no-fused", dest="fused", action="store_false",
                   help="unroll the cell's primitive ops (the drawable graph; slower) instead of its "
                        "whole-sequence layer (one op per batch, the same numbers)")
    p.add_argument("--text", help="chars only: train on this text file instead of the generated corpus")
    p.add_argument("--heldout", action="store_true",
                   help="embedded_reber only: test on strings that training never shows (the paper's "
                        "test set, drawn like the training set, mostly repeats it)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("-o", "--out", default=None,
                   help="output folder, created if missing (default: runs/TASK-CELL, or the next free "
                        "runs/TASK-CELL-2, -3, ...); one holding a run is refused without --overwrite")
    p.add_argument("--overwrite", action="store_true", help="write over the run in the -o folder")
    p.add_argument("--checkpoint-every", type=positive_int, metavar="N",
                   help="save model, optimizer and results every N iterations (for long runs)")
    p.add_argument("--resume", metavar="FOLDER",
                   help="continue the run saved in FOLDER (its settings; --iters may raise the budget)")
    return p


# options passed on to every run of a comparison: (dest, flag)
_PASSED = [("hidden", "--hidden"), ("steps", "--steps"), ("iters", "--iters"), ("lr", "--lr"),
           ("batch", "--batch"), ("optim", "--optim"), ("clip", "--clip"), ("clip_mode", "--clip-mode"),
           ("truncate", "--truncate"), ("dtype", "--dtype"), ("forget_bias", "--forget-bias"),
           ("eval_every", "--eval-every"), ("text", "--text"), ("checkpoint_every", "--checkpoint-every")]
_SWITCHES = [("keep_going", True, "--keep-going"), ("fused", False, "--no-fused"),
             ("heldout", True, "--heldout")]


def run(args: argparse.Namespace) -> int:
    from ..experiments.tasks import TASKS

    name = args.task.replace("-", "_")
    cls = TASKS[name]
    if args.seed is not None and args.seeds is not None:
        return _bad("give --seed or --seeds, not both")
    cells = args.cell or [cls.defaults["cell"]]
    seeds = args.seeds or [args.seed or 0]
    if args.steps is not None and cls.steps_meaning is None:
        return _bad(f"--steps does not apply to {name} (its grammar sets the sequence lengths)")
    if args.text is not None and name != "chars":
        return _bad("--text applies only to the chars task")
    if args.heldout and name != "embedded_reber":
        return _bad("--heldout applies only to the embedded_reber task")
    if args.forget_bias is not None and "lstm" not in cells:
        return _bad("--forget-bias applies only to --cell lstm")
    if len(cells) * len(seeds) > 1:
        if args.resume:
            return _bad("--resume continues one run; give one --cell and one --seed")
        return _compare(name, cells, seeds, args)
    return _single(name, cells[0], seeds[0], args)


def _terminate_as_interrupt() -> object:
    """SIGTERM handled like Ctrl-C (the run so far is kept); returns the previous handler."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    return signal.signal(signal.SIGTERM, handler)


def _single(name: str, cell: str, seed: int, args: argparse.Namespace) -> int:
    from ..experiments.outputs import (
        RunFolderError,
        free_folder,
        load_optimizer_state,
        load_run,
        prepare_folder,
        result_from_record,
        write_outputs,
    )
    from ..experiments.tasks import get_task
    from ..experiments.train import (
        TrainConfig,
        TrainResult,
        finish,
        make_model,
        make_optimizer,
        train,
        verdict,
    )
    from ..nn.module import StateDictError

    previous = None
    if args.resume:
        try:
            previous = load_run(args.resume)
        except (RunFolderError, OSError, ValueError) as e:
            return _bad(str(e))
        rec = previous[0]
        if rec["task"] != name:
            return _bad(f"--resume {args.resume}: that run is of task {rec['task']}, not {name}")
        settings = dict(rec["settings"])
        if args.iters is not None:
            settings["iters"] = args.iters
        if len(rec["loss"]) >= settings["iters"] or rec.get("diverged"):
            return _bad(f"--resume {args.resume}: that run has done {len(rec['loss'])} of its "
                        f"{settings['iters']} iterations" + (" and diverged" if rec.get("diverged") else "")
                        + "; give a larger --iters")
        seed, settings["keep_going"] = settings["seed"], True if rec["solved"] else settings["keep_going"]
        options = dict(rec.get("task_options") or {})
    else:
        options = {"path": args.text} if args.text is not None else {}
        if args.heldout:
            options["heldout"] = True
    try:
        task = get_task(name, seed=seed, steps=(settings.get("steps") if previous else args.steps), **options)
    except (OSError, ValueError) as e:
        return _bad(str(e))
    if previous:
        config = TrainConfig(**{k: v for k, v in settings.items() if k in TrainConfig.__dataclass_fields__})
    else:
        config = TrainConfig.for_task(task, cell=cell, hidden=args.hidden, steps=args.steps,
                                      iters=args.iters, lr=args.lr, batch=args.batch, optim=args.optim,
                                      clip=args.clip, clip_mode=args.clip_mode, truncate=args.truncate,
                                      seed=seed, dtype=args.dtype, eval_every=args.eval_every,
                                      keep_going=args.keep_going or None, fused=args.fused,
                                      forget_bias=args.forget_bias)
    try:           # the folder is checked (and made) before any training
        out = prepare_folder(args.resume or args.out or free_folder(f"runs/{name}-{config.cell}"),
                             overwrite=args.overwrite or bool(args.resume))
    except RunFolderError as e:
        return _bad(str(e))
    model = make_model(task, config)     # before the banner: after it, Ctrl-C keeps the run
    opt = make_optimizer(model, config)
    result = TrainResult(task.name, asdict(config), task_options=options)
    if previous:
        try:
            model.load_state_dict(previous[1])
            load_optimizer_state(model, opt, previous[2])
        except (StateDictError, RunFolderError) as e:
            return _bad(f"--resume {args.resume}: {e}")
        result = result_from_record(previous[0])
        result.config = asdict(config)
        result.task_options = options
    steps = getattr(task, "steps", getattr(task, "T", None))
    print(f"training {name} with {config.cell} (hidden {config.hidden}"
          + (f", steps {steps}" if steps else "") + f", seed {config.seed}), {config.optim} lr {config.lr}, "
          f"batch {config.batch}, clip {config.clip} ({config.clip_mode}), up to {config.iters} iterations"
          + (f" (resuming after {len(result.losses)})" if previous else "")
          + f" -> {out}; Ctrl-C stops and keeps the run", flush=True)

    def checkpoint(model, result, opt):  # noqa: ANN001, ANN202
        write_outputs(task, model, result, out, opt, plots=False)

    from ..speed.memory import retain_freed_memory
    retain_freed_memory()          # the command opts in to this process-wide setting; the library never
    old = _terminate_as_interrupt()
    try:
        try:
            model, result = train(task, config, progress=args.progress, model=model, result=result, opt=opt,
                                  checkpoint=checkpoint, checkpoint_every=args.checkpoint_every or 0)
        except ValueError as e:        # e.g. a batch larger than the stream allows
            return _bad(str(e))
        try:
            finish(task, model, result)
        except KeyboardInterrupt:      # a second Ctrl-C: skip the closing evaluation, still save
            result.interrupted = True
    finally:
        signal.signal(signal.SIGTERM, old)
    if result.diverged:
        paths = write_outputs(task, model, result, out, plots=True, save_model=False)
    else:
        paths = write_outputs(task, model, result, out, opt)
    print("\n".join(verdict(task, result)))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    if result.diverged:
        print(f"tinygrad-rnn train: the run diverged ({result.diverged}); model.npz was not written "
              f"(a previous one in {out} is kept)", file=sys.stderr)
        return 1
    return 130 if result.interrupted else 0


def _compare(name: str, cells: list[str], seeds: list[int], args: argparse.Namespace) -> int:
    from ..experiments.compare import run_all, run_folder, write_comparison
    from ..experiments.outputs import RunFolderError, free_folder, holds_run, prepare_folder

    out = Path(args.out) if args.out else free_folder(f"runs/{name}-compare")
    if args.out is None:
        while any(holds_run(run_folder(out, c, s)) for c in cells for s in seeds):
            out = free_folder(out.with_name(out.name + "-"))
    held = [str(run_folder(out, c, s)) for c in cells for s in seeds if holds_run(run_folder(out, c, s))]
    if held and not args.overwrite:
        return _bad(f"{held[0]} holds a previous run; choose another -o or pass --overwrite")
    try:
        prepare_folder(out, overwrite=True)
    except RunFolderError as e:
        return _bad(str(e))
    options: list[str] = []
    for dest, flag in _PASSED:
        if getattr(args, dest) is not None:
            options += [flag, str(getattr(args, dest))]
    options += [flag for dest, value, flag in _SWITCHES if getattr(args, dest) == value]
    n = len(cells) * len(seeds)
    jobs = min(args.jobs or 2, n) if args.jobs else min(2, os.cpu_count() or 1, n)
    command = " ".join(["tinygrad-rnn train", name, "--cell", ",".join(cells), "--seeds",
                        ",".join(map(str, seeds)), *options])
    print(f"comparing {', '.join(cells)} on {name} over seeds {', '.join(map(str, seeds))}: {n} runs, "
          f"{jobs} at a time -> {out}", flush=True)
    old, interrupted = _terminate_as_interrupt(), False
    try:
        records = run_all(name, cells, seeds, out, options, jobs=jobs, overwrite=args.overwrite)
    except KeyboardInterrupt:      # the runs so far (the interrupted ones saved what they had)
        interrupted = True
        records = [json.loads((run_folder(out, c, s) / "results.json").read_text())
                   for c in cells for s in seeds if (run_folder(out, c, s) / "results.json").exists()]
    finally:
        signal.signal(signal.SIGTERM, old)
    paths = write_comparison(name, records, out, command)
    print("\n".join(json.loads(paths["summary"].read_text())["verdict"]))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    if interrupted:
        print("interrupted: the runs so far are kept and compared", file=sys.stderr)
        return 130
    return 0 if len(records) == n else 1


def _bad(reason: str) -> int:
    print(f"tinygrad-rnn train: error: {reason}", file=sys.stderr)
    return 2
