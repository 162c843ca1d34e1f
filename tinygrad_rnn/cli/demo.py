"""`tinygrad-rnn demo`: the main job on built-in defaults, written into out/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import output_folder


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo", help="draw the unrolled LSTM and Elman graphs and the gradient-flow plot into out/",
        description="Writes into the output folder: the unrolled LSTM (one box per step), one LSTM "
        "step with every op and gate, the unrolled Elman network with every op, the gradient-flow "
        "plot of all cells over 50 steps with its per-unit heatmap, and lstm_backprop.html, an "
        "interactive page stepping through the LSTM's forward and backward pass; prints what it wrote.")
    p.add_argument("-o", "--out", type=output_folder, default="out",
                   help="output folder, created if missing (default: out)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..viz import RenderError, draw, jacobian_spectrum, plot_grad_flow, plot_grad_heatmap
    from .gradflow import measure, table
    from .graph import unrolled_loss

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str]] = []
    pictures = [("lstm_unrolled", "lstm", 4, 1, "the LSTM unrolled over 4 steps, one box per step"),
                ("lstm_step", "lstm", 1, None, "one LSTM step: every op, gates as clusters"),
                ("elman_unrolled", "elman", 4, None, "the Elman network unrolled over 4 steps, every op")]
    try:
        for stem, cell, steps, collapse, what in pictures:
            loss, _, _, _ = unrolled_loss(cell, steps, hidden=3, seed=0)
            loss.backward()
            drawing = draw(loss, collapse=collapse)
            for ext in ("svg", "png"):
                written.append((drawing.save(out / f"{stem}.{ext}"), what))
        loss, _, _, _ = unrolled_loss("lstm", 4, hidden=3, seed=0)
        loss.backward()
        page = draw(loss).save(out / "lstm_backprop.html")
        written.append((page, "interactive: step through the LSTM's forward, then backward pass"))
    except RenderError as e:
        print(f"tinygrad-rnn demo: error: {e}", file=sys.stderr)
        return 1

    steps = 50
    norms, hs_by = measure(["dampened", "elman", "lstm", "gru"], steps, hidden=8)
    title = f"Gradient reaching h_t from a loss at step T={steps} (H=8)"
    plot_grad_flow(norms, out / "gradflow.png", title=title)
    written.append((out / "gradflow.png", "||dL/dh_t|| against the distance from the loss, four cells"))
    plot_grad_heatmap(hs_by, out / "gradflow_heatmap.png")
    written.append((out / "gradflow_heatmap.png", "|dL/dh_t| per unit over time"))

    width = max(len(str(p)) for p, _ in written)
    for path, what in written:
        print(f"wrote {str(path):<{width}}  {what}")
    print(f"\n||dL/dh_t|| with the loss at step T={steps}:")
    print(table(norms, steps))
    _, hs, state, cell = unrolled_loss("elman", 20, hidden=8, seed=0)
    spec = jacobian_spectrum(cell, state[0:1].detach(), k=20)
    print("\nElman (H=8) Jacobian dh_t/dh_{t-1} at h_20, 20 steps with zero input "
          "(Pascanu et al. 2013):")
    print("  " + str(spec).replace("\n", "\n  "))
    print(f"\nOpen the interactive page in a web browser (one self-contained file, works offline):\n"
          f"  {page.resolve().as_uri()}\n  (← → step, space plays, click a box for its value and gradient)")
    return 0
