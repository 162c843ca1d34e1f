"""The `tinygrad-rnn` command. Each subcommand lives in `tinygrad_rnn/cli/<name>.py` and
provides `add_parser(subparsers)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import limits

COMMANDS = ["demo", "graph", "gradflow", "gradcheck", "train", "exercise"]


class _Parser(argparse.ArgumentParser):
    """Bad arguments: exit 2 with a one-line reason and a pointer to --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinygrad-rnn", description="See backpropagation through time: draw unrolled "
                     "RNN/LSTM graphs, plot gradients through time, check gradients, train the "
                     "classic experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"tinygrad_rnn.cli.{name}")
        module.add_parser(sub).set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand. A user's mistake is one line on stderr, never a traceback: exit 2 for bad
    arguments (checked before any work, the memory a run needs included), 1 for what fails while
    running (a file that cannot be written, memory that runs out)."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    prog = f"tinygrad-rnn {args.command}"
    reason = limits.refusal(args)
    if reason:
        parser.exit(2, f"{prog}: error: {reason} (see {prog} --help)\n")
    note = limits.announcement(args)
    if note:
        print(f"{prog}: {note}", file=sys.stderr)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{prog}: error: out of memory; try a smaller --hidden or fewer --steps", file=sys.stderr)
        return 1
    except OSError as e:  # a file or folder that cannot be written or read
        where = f": {e.filename}" if e.filename else ""
        print(f"{prog}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
