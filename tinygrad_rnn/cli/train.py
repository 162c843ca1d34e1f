"""`tinygrad-rnn train TASK --cell ...`: train a classic experiment and say whether it is solved."""

from __future__ import annotations

import argparse
import sys

from .args import nonneg_float, positive_int


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
    p.add_argument("--cell", choices=list(CELLS), help="recurrent cell (task default)")
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
    p.add_argument("--seed", type=int, default=0, help="seed of data and initial weights (default 0)")
    p.add_argument("--dtype", choices=["float64", "float32"], help="parameter dtype (default float64)")
    p.add_argument("--forget-bias", type=float,
                   help="lstm only: initial forget-gate bias (1, or the task's default: 5 for the adding "
                        "tasks; large values approach the 1997 LSTM, which had no forget gate)")
    p.add_argument("--eval-every", type=positive_int, help="iterations between evaluations")
    p.add_argument("--keep-going", action="store_true", help="train all iterations even once solved")
    p.add_argument("--no-fused", dest="fused", action="store_false",
                   help="build each step from primitive ops (the drawable graph; slower)")
    p.add_argument("--text", help="chars only: train on this text file instead of the generated corpus")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("-o", "--out", default=None, help="output folder (default: runs/TASK-CELL)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..experiments.tasks import TASKS, get_task
    from ..experiments.train import TrainConfig, finish, make_model, train, verdict, write_outputs

    name = args.task.replace("-", "_")
    cls = TASKS[name]
    if args.steps is not None and cls.steps_meaning is None:
        return _bad(f"--steps does not apply to {name} (its grammar sets the sequence lengths)")
    if args.text is not None and name != "chars":
        return _bad("--text applies only to the chars task")
    if args.forget_bias is not None and (args.cell or cls.defaults.get("cell")) != "lstm":
        return _bad("--forget-bias applies only to --cell lstm")
    options = {"path": args.text} if args.text is not None else {}
    try:
        task = get_task(name, seed=args.seed, steps=args.steps, **options)
    except (OSError, ValueError) as e:
        return _bad(str(e))
    config = TrainConfig.for_task(task, cell=args.cell, hidden=args.hidden, steps=args.steps,
                                  iters=args.iters, lr=args.lr, batch=args.batch, optim=args.optim,
                                  clip=args.clip, clip_mode=args.clip_mode, truncate=args.truncate,
                                  seed=args.seed, dtype=args.dtype, eval_every=args.eval_every,
                                  keep_going=args.keep_going or None, fused=args.fused,
                                  forget_bias=args.forget_bias)
    model = make_model(task, config)     # before the banner: after it, Ctrl-C keeps the run
    out = args.out or f"runs/{name}-{config.cell}"
    steps = getattr(task, "steps", getattr(task, "T", None))
    print(f"training {name} with {config.cell} (hidden {config.hidden}"
          + (f", steps {steps}" if steps else "") + f"), {config.optim} lr {config.lr}, batch "
          f"{config.batch}, clip {config.clip} ({config.clip_mode}), up to {config.iters} iterations; "
          f"Ctrl-C stops and keeps the run", flush=True)
    try:
        model, result = train(task, config, progress=args.progress, model=model)
    except ValueError as e:        # e.g. a batch larger than the stream allows
        return _bad(str(e))
    try:
        finish(task, model, result)
    except KeyboardInterrupt:      # a second Ctrl-C: skip the closing evaluation, still save
        result.interrupted = True
    paths = write_outputs(task, model, result, out)
    print(verdict(task, result))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 130 if result.interrupted else 0


def _bad(reason: str) -> int:
    print(f"tinygrad-rnn train: error: {reason}", file=sys.stderr)
    return 2
