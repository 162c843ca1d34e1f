"""`tinygrad-rnn exercise list | start N DIR | check N FILE`: the graded exercises."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import positive_int


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "exercise", help="graded exercises on backprop through time: list, start, check",
        description="Five exercises, each a file to fill in: an op's backward, BPTT of the dampened cell "
        "and of the Elman network by hand, one LSTM step backward gate by gate, vanishing gradients. "
        "`start N DIR` writes the stub (instructions in its docstring); `check N FILE` runs only that "
        "file and compares it with the engine (exit 0 when right, 1 with feedback when not).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="the exercises, in order")
    st = actions.add_parser("start", help="write exercise N's stub into DIR")
    st.add_argument("n", type=positive_int, metavar="N")
    st.add_argument("dir", type=Path, metavar="DIR")
    st.add_argument("--force", action="store_true", help="overwrite an existing file")
    ck = actions.add_parser("check", help="check FILE as exercise N")
    ck.add_argument("n", type=positive_int, metavar="N")
    ck.add_argument("file", type=Path, metavar="FILE")
    return p


def run(args: argparse.Namespace) -> int:
    from .. import exercises
    if args.action == "list":
        for n, name, title in exercises.catalogue():
            print(f"{n}  {name:<24} {title}")
        return 0
    try:
        exercises.exercise(args.n)
    except ValueError as e:
        print(f"tinygrad-rnn exercise: {e}", file=sys.stderr)
        return 2
    if args.action == "start":
        try:
            path = exercises.start(args.n, args.dir, overwrite=args.force)
        except FileExistsError as e:
            print(f"tinygrad-rnn {e}", file=sys.stderr)
            return 1
        print(f"wrote {path}\nfill it in, then: tinygrad-rnn exercise check {args.n} {path}")
        return 0
    result = exercises.check(args.n, args.file)
    print(result.message)
    return 0 if result.passed else 1
