"""`tinygrad-rnn graph`: draw an unrolled cell after a backward pass."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from ..nn.cells import CELLS
from .args import nonneg_float, nonneg_int, output_path, positive_int

GRAPH_FORMATS = (".svg", ".png", ".dot", ".pdf", ".html", ".gif")


def unrolled_loss(kind: str, steps: int, hidden: int, input_size: int = 2, batch: int = 1,
                  seed: int = 0) -> tuple[Any, list[Any], Any, Any]:
    """Unroll a seeded cell over random inputs; loss = mse(h_T, random target), at the last step
    only (made inside step T's scope, with its target), so the gradient reaching h_t has travelled
    T - t steps. Returns (loss, hs, state, cell)."""
    import numpy as np

    from .. import nn
    from ..engine.context import scope
    from ..engine.tensor import Tensor
    cell = CELLS[kind](input_size, hidden, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    xs = rng.standard_normal((steps, batch, input_size))
    hs, state = nn.unroll(cell, xs)
    target = Tensor(rng.uniform(-0.5, 0.5, (batch, hidden)), name="target")
    with scope(f"t={steps}"):
        loss = nn.mse_loss(hs[-1], target)
    loss.name = "loss"
    return loss, hs, state, cell


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "graph", help="draw an unrolled RNN/LSTM/GRU graph after a backward pass",
        description=textwrap.fill(
            "Unroll a freshly initialised cell over random inputs, take a loss at the last step, run "
            "backward, and draw the graph: one cluster per time step, the cell and its gates inside, "
            "shared parameters drawn once, edges coloured by the gradient flowing back.", 78),
        epilog="examples:\n  tinygrad-rnn graph --cell lstm --steps 4 --collapse 1 -o lstm.svg\n"
               "  tinygrad-rnn graph --cell lstm --steps 1 -o lstm_step.png\n"
               "  tinygrad-rnn graph --cell elman --steps 3 --values -o elman.svg\n"
               "  tinygrad-rnn graph --cell elman --steps 100 --collapse 1 -o long.svg\n"
               "  tinygrad-rnn graph --cell elman --steps 4 --collapse 1 -o steps.gif   "
               "(+ steps_frames/*.png)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", choices=list(CELLS), default="elman", help="which cell (default: elman)")
    p.add_argument("--steps", type=positive_int, default=4, help="time steps T (default: 4)")
    p.add_argument("--hidden", type=positive_int, default=3, help="hidden size H (default: 3)")
    p.add_argument("--input", type=positive_int, default=2, dest="input_size",
                   help="input size I (default: 2)")
    p.add_argument("--collapse", type=positive_int, default=None, metavar="N",
                   help="draw each scope at depth N as one box (1: one box per time step, "
                        "2: one per cell); default: every op")
    p.add_argument("--no-grads", action="store_true", help="do not colour edges by gradient")
    p.add_argument("--values", action="store_true", help="print small arrays' values and gradients")
    p.add_argument("--no-params", action="store_true",
                   help="leave out the shared parameters (W, U, b) and their edges")
    p.add_argument("--shared", choices=("auto", "once", "per-step"), default="auto",
                   help="the shared parameters: drawn once with an edge into every step, or again "
                        "inside each step (fast to lay out for many steps); auto: per-step when "
                        "'once' would be slow (default: auto)")
    p.add_argument("--max-nodes", type=positive_int, default=500,
                   help="refuse larger drawings (default: 500)")
    p.add_argument("--max-seconds", type=nonneg_float, default=30.0,
                   help="refuse drawings whose estimated layout time is longer (default: 30)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (default: 0)")
    p.add_argument("-o", "--output", type=output_path(*GRAPH_FORMATS), required=True, metavar="FILE",
                   help="output file: .svg, .png, .dot, .pdf (a picture of the PNG without a system "
                        "Graphviz), .html (the interactive page) or .gif (the forward and backward "
                        "pass step by step, with the frames as PNGs in <name>_frames/)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..viz import RenderError, animate, draw
    loss, _, _, _ = unrolled_loss(args.cell, args.steps, args.hidden, args.input_size, seed=args.seed)
    loss.backward()
    try:
        drawing = draw(loss, collapse=args.collapse, grads=not args.no_grads, values=args.values,
                       max_nodes=args.max_nodes, params=not args.no_params, shared=args.shared,
                       max_seconds=args.max_seconds)
    except ValueError as e:  # too large for these arguments: refused before any layout
        print(f"tinygrad-rnn graph: error: {e}", file=sys.stderr)
        return 2
    try:
        if args.output.suffix.lower() == ".gif":
            files = animate(drawing, args.output)
            print(f"wrote {len(files) - 1} frames into {files[1].parent}")
        else:
            drawing.save(args.output)
    except (RenderError, NotImplementedError) as e:
        print(f"tinygrad-rnn graph: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({len(drawing.nodes)} nodes, {len(drawing.edges)} edges; "
          f"{args.cell}, T={args.steps}, H={args.hidden}, loss {loss.item():.4g})")
    return 0
