"""`make docs`: regenerate the pictures in docs/images/ from real runs of the examples.

The pictures of drawing.md come from the `tinygrad-rnn` commands it names (COMMANDS). Each
example listed in PICTURES runs in full (fixed seeds, so the pictures repeat) with its
output in a temporary folder; the pictures the docs use are copied into docs/images/ under
the names the Markdown refers to. `--quick` runs the examples in reduced mode (TG_QUICK=1),
for checking the build itself; `--only NAME` builds one example's pictures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"

# example -> {file it writes (under out/examples/<example>/): name in docs/images/}
PICTURES: dict[str, dict[str, str]] = {
    "01_autograd_basics": {"neuron.png": "autograd_neuron.png"},
    "02_unrolled_graphs": {"dampened_unrolled.png": "dampened_unrolled.png"},
    "03_vanishing_gradients": {"gradflow.png": "vanishing_gradflow.png",
                               "jacobian_spectra.png": "jacobian_spectra.png",
                               "elman_rescaled_U.png": "elman_rescaled_U.png"},
    "04_temporal_xor": {"error_by_position.png": "temporal_xor_error.png"},
    "05_adding_lstm_vs_elman": {"loss_lstm_vs_elman.png": "adding_loss_lstm_vs_elman.png",
                                "grad_flow_lstm_vs_elman.png": "adding_grad_flow.png",
                                "elman/loss.png": "adding_elman_loss_and_clipping.png"},
}

# the pictures of drawing.md, made by the command line: (arguments, files written into docs/images)
COMMANDS: list[tuple[list[str], list[str]]] = [
    (["graph", "--cell", "dampened", "--steps", "8", "--collapse", "1", "--no-params", "-o",
      "dampened_classic.svg"], ["dampened_classic.svg"]),
    (["graph", "--cell", "lstm", "--steps", "4", "--collapse", "1", "-o", "lstm_unrolled.svg"],
     ["lstm_unrolled.svg"]),
    (["graph", "--cell", "lstm", "--steps", "1", "-o", "lstm_step.svg"], ["lstm_step.svg"]),
    (["graph", "--cell", "elman", "--steps", "4", "-o", "elman_unrolled.svg"], ["elman_unrolled.svg"]),
    (["graph", "--cell", "elman", "--steps", "2", "--hidden", "2", "--values", "-o", "elman_values.svg"],
     ["elman_values.svg"]),
    (["gradflow", "--steps", "50", "-o", "gradflow.png", "--heatmap", "gradflow_heatmap.png"],
     ["gradflow.png", "gradflow_heatmap.png"]),
    (["gradflow", "--steps", "8", "--cells", "elman", "--hidden", "3", "--by-step", "U", "-o", "elman_u.png"],
     ["elman_u.png", "elman_u_by_step_U.png"]),
]


def build_commands(images: Path) -> list[Path]:
    """Run the `tinygrad-rnn` commands of COMMANDS with their output in `images`."""
    images.mkdir(parents=True, exist_ok=True)
    written = []
    for args, files in COMMANDS:
        done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", *args], cwd=images,
                              env=dict(os.environ, MPLBACKEND="Agg"), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"docs/build.py: tinygrad-rnn {' '.join(args)} failed "
                             f"(exit {done.returncode}):\n{done.stderr[-3000:]}")
        for f in files:
            written.append(images / f)
            print(f"  wrote {_show(images / f)}  (tinygrad-rnn {args[0]})")
    return written


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def build(names: list[str], images: Path, quick: bool = False) -> list[Path]:
    """Run each named example (full, or reduced if quick) and copy its pictures into `images`."""
    images.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"docs-{name}-") as tmp:
            env = dict(os.environ, TG_OUT=tmp, MPLBACKEND="Agg")
            env.pop("TG_QUICK", None)
            if quick:
                env["TG_QUICK"] = "1"
            start = time.perf_counter()
            done = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py")], cwd=tmp, env=env,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"docs/build.py: examples/{name}.py failed (exit {done.returncode}):\n"
                                 f"{done.stderr[-3000:]}")
            print(f"ran examples/{name}.py in {time.perf_counter() - start:.0f} s")
            for src, dst in PICTURES[name].items():
                target = images / dst
                shutil.copyfile(Path(tmp) / "examples" / name / src, target)
                written.append(target)
                print(f"  wrote {_show(target)}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run the examples in reduced mode")
    parser.add_argument("--only", choices=list(PICTURES), action="append",
                        help="build only these examples' pictures (and skip the commands')")
    parser.add_argument("--images", type=Path, default=IMAGES, help="output folder (default docs/images)")
    args = parser.parse_args(argv)
    build(args.only or list(PICTURES), args.images, args.quick)
    if not args.only:
        build_commands(args.images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
