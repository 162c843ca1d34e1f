"""`tinygrad-rnn gradflow`: the vanishing-gradient picture, cells side by side."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from ..nn.cells import CELLS
from .args import nonneg_int, output_path, positive_int
from .graph import unrolled_loss

LABELS = {"dampened": "Dampened", "elman": "Elman", "lstm": "LSTM", "gru": "GRU"}


def cell_list(text: str) -> list[str]:
    """argparse type: comma-separated cell names."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in CELLS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown cell {', '.join(bad) or '(none)'}; choose from "
                                         f"{', '.join(CELLS)}, comma-separated")
    return names


def measure(cells: list[str], steps: int, hidden: int, seed: int = 0
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per cell: ||dL/dh_t|| for t = 1..T (with ||dL/dc_t|| as a second column for the LSTM), and
    the hidden tensors (for a per-unit heatmap). Loss at the last step only."""
    from ..viz import grad_flow, named_tensors
    norms, hs_by = {}, {}
    for kind in cells:
        loss, hs, _, _ = unrolled_loss(kind, steps, hidden, input_size=2, batch=1, seed=seed)
        loss.backward()
        if kind == "lstm":
            named = named_tensors(loss)
            norms[LABELS[kind]] = grad_flow([(h, named[f"c_{t}"]) for t, h in enumerate(hs, start=1)])
        else:
            norms[LABELS[kind]] = grad_flow(hs)
        hs_by[LABELS[kind]] = hs
    return norms, hs_by


def by_step(cells: list[str], steps: int, hidden: int, param: str, seed: int = 0) -> dict[str, Any]:
    """Per cell that has parameter `param`: its gradient split into the steps' contributions
    dL/dparam^(t) (tg.viz.grad_by_step), loss at the last step only."""
    from ..viz import grad_by_step
    out = {}
    for kind in cells:
        loss, _, _, cell = unrolled_loss(kind, steps, hidden, input_size=2, batch=1, seed=seed)
        p = dict(cell.named_parameters()).get(param)
        if p is None:
            continue
        loss.backward()
        out[LABELS[kind]] = grad_by_step(p, loss, name=param)
    if not out:
        raise ValueError(f"no cell among {', '.join(cells)} has a parameter {param!r}")
    return out


def table(norms: dict[str, Any], steps: int) -> str:
    """||dL/dh_{T-k}|| at a few distances k from the loss, one column per cell."""
    ks = sorted({k for k in (0, 1, 2, 5, 10, 20, 50, 100, 200, steps - 1) if k < steps})
    names = list(norms)
    lines = ["k = T-t " + "".join(f"{n:>12}" for n in names)]
    for k in ks:
        row = [(a[:, 0] if a.ndim == 2 else a)[steps - 1 - k] for a in norms.values()]
        lines.append(f"{k:>7} " + "".join(f"{v:>12.3e}" for v in row))
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "gradflow", help="plot ||dL/dh_t|| against the distance from the loss, per cell",
        description=textwrap.fill(
            "Unroll each cell (freshly initialised, seeded) over T random inputs, take a loss at the "
            "last step, backprop, and plot the gradient norm reaching every h_t on a log scale against "
            "k = T - t: the vanishing gradient as a curve. Also prints a small table.", 78),
        epilog="examples:\n  tinygrad-rnn gradflow --steps 50 --cells dampened,elman,lstm -o gradflow.png\n"
               "  tinygrad-rnn gradflow --steps 6 --cells elman --hidden 3 --by-step U -o flow.png\n"
               "      (also writes flow_by_step_U.png: dL/dU split into each step's term)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=positive_int, default=50, help="time steps T (default: 50)")
    p.add_argument("--cells", type=cell_list, default=list(CELLS), metavar="NAMES",
                   help=f"comma-separated, from {', '.join(CELLS)} (default: all)")
    p.add_argument("--hidden", type=positive_int, default=8, help="hidden size H (default: 8)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (default: 0)")
    p.add_argument("--heatmap", type=output_path(".png", ".svg", ".pdf"), default=None, metavar="FILE",
                   help="also write |dL/dh_t| per unit over time as a heatmap")
    p.add_argument("--by-step", metavar="PARAM", default=None,
                   help="also plot the shared parameter PARAM's gradient (W, U or b) term by term: "
                        "||dL/dPARAM^(t)|| per step, and for a small PARAM the matrices, into "
                        "<output>_by_step_PARAM.<ext>")
    p.add_argument("-o", "--output", type=output_path(".png", ".svg", ".pdf"), required=True,
                   metavar="FILE", help="the plot: .png, .svg or .pdf")
    return p


def run(args: argparse.Namespace) -> int:
    from ..viz import plot_grad_by_step, plot_grad_flow, plot_grad_heatmap
    split = None
    if args.by_step is not None:
        try:
            split = by_step(args.cells, args.steps, args.hidden, args.by_step, args.seed)
        except ValueError as e:
            print(f"tinygrad-rnn gradflow: error: --by-step: {e} (the cells' parameters are W, U, b; "
                  "the dampened cell's are W, lam, b)", file=sys.stderr)
            return 2
    norms, hs_by = measure(args.cells, args.steps, args.hidden, args.seed)
    print(f"||dL/dh_t|| with the loss at the last step (T={args.steps}, H={args.hidden}):")
    print(table(norms, args.steps))
    title = f"Gradient reaching h_t from a loss at step T={args.steps} (H={args.hidden})"
    plot_grad_flow(norms, args.output, title=title)
    print(f"wrote {Path(args.output)}")
    if args.heatmap:
        plot_grad_heatmap(hs_by, args.heatmap)
        print(f"wrote {Path(args.heatmap)}")
    if split is not None:
        out = Path(args.output)
        path = out.with_name(f"{out.stem}_by_step_{args.by_step}{out.suffix}")
        for label, sg in split.items():
            print(f"{label}: {sg}")
        plot_grad_by_step(split if len(split) > 1 else next(iter(split.values())), path,
                          title=f"dL/d{args.by_step} = sum over the steps t of dL/d{args.by_step}^(t) "
                                f"(T={args.steps}, H={args.hidden})")
        print(f"wrote {path}")
    return 0
