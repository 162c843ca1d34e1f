"""The `tinygrad-rnn` command. Each subcommand lives in `tinygrad_rnn/cli/<name>.py` and
provides `add_parser(subparsers)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import sys

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
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
