"""Instructions (and, with --cache, cache misses) per forward + BPTT call, counted by valgrind.

Timings on a shared machine move by 10-20% between runs; counts of executed instructions do not.
Each implementation runs in valgrind twice, for `--calls N1 N2` calls; (count(N2) - count(N1)) /
(N2 - N1) is the cost of one call with start-up and imports taken out. With `--cache BYTES`,
cachegrind also simulates a last-level cache of that size (e.g. 524288 for a 512 KiB L2), which
shows the misses that instruction counts cannot: the price of memory a graph keeps alive.

    python bench/instructions.py elman medium "tinygrad_rnn"
    python bench/instructions.py lstm tiny "tinygrad sequence" --cache 524288

The numpy baseline is counted beside the implementation and the ratio printed. One BLAS thread.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import cells  # noqa: E402

# valgrind's summary lines (on stderr), per tool: metric name -> its pattern
_METRICS = {
    "callgrind": {"instructions": r"Collected\s*:\s*([\d,]+)"},
    "cachegrind": {"instructions": r"I\s+refs:\s*([\d,]+)", "D1 misses": r"D1\s+misses:\s*([\d,]+)",
                   "LL data misses": r"LLd\s+misses:\s*([\d,]+)"},
}


def parse(tool: str, report: str) -> dict[str, int]:
    """The counts in valgrind's summary for this tool; ValueError if one is missing."""
    out = {}
    for name, pattern in _METRICS[tool].items():
        m = re.search(pattern, report)
        if m is None:
            raise ValueError(f"instructions: no {name!r} in {tool}'s report; it ended:\n{report[-800:]}")
        out[name] = int(m.group(1).replace(",", ""))
    return out


def _command(tool: str, cache: int | None, cell: str, size: str, impl: str, calls: int) -> list[str]:
    opts = [f"--tool={tool}", f"--{tool}-out-file=/dev/null"]
    if cache:
        opts += ["--cache-sim=yes", f"--LL={cache},8,64"]
    child = [sys.executable, __file__, "--child", cell, size, impl, "--calls", "0", str(calls)]
    return ["valgrind", *opts, *child]


def count(cell: str, size: str, impls: list[str], calls: tuple[int, int], cache: int | None) -> dict:
    """{impl: {metric: per-call count}}: all valgrind runs at once, one BLAS thread each, one hash seed."""
    tool = "cachegrind" if cache else "callgrind"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONHASHSEED": "0"}  # a random hash seed moves small counts by up to 5% between runs
    runs = {(impl, n): subprocess.Popen(_command(tool, cache, cell, size, impl, n), env=env, text=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for impl in impls for n in calls}
    totals = {}
    for key, proc in runs.items():
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"instructions: valgrind failed for {key[0]!r} ({key[1]} calls):\n"
                               f"{err[-800:]}")
        totals[key] = parse(tool, err)
    n1, n2 = calls
    return {impl: {m: (totals[impl, n2][m] - totals[impl, n1][m]) / (n2 - n1) for m in totals[impl, n1]}
            for impl in impls}


def _child(cell: str, size: str, impl: str, calls: int) -> None:
    from tinygrad_rnn.speed import memory
    memory.retain_freed_memory()  # as make bench does: freed memory is reused, not faulted in afresh
    p, xs = cells._problem(cell, cells.SIZES[size], np.float64)
    step = cells.implementation(impl, cell, p, xs)
    if step is None:
        raise SystemExit(f"instructions: {impl!r} is not available here (its package is missing)")
    for _ in range(calls):
        step()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cell", choices=cells.CELLS)
    ap.add_argument("size", choices=list(cells.SIZES))
    ap.add_argument("impl", choices=[i for i in cells.IMPLS if i != "hips autograd"])
    ap.add_argument("--calls", type=int, nargs=2, default=(1, 3), metavar=("N1", "N2"),
                    help="calls in the two runs (default 1 3)")
    ap.add_argument("--cache", type=int, metavar="BYTES", help="simulate a last-level cache of this size")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the run valgrind watches
    args = ap.parse_args(argv)
    n1, n2 = args.calls
    if args.child:
        _child(args.cell, args.size, args.impl, n2)
        return 0
    if not 0 <= n1 < n2:
        ap.error(f"--calls: need 0 <= N1 < N2, got {n1} {n2}")
    if args.cache is not None and args.cache < 1024:
        ap.error(f"--cache: a cache size in bytes (>= 1024), got {args.cache}")
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    impls = ["numpy"] + ([args.impl] if args.impl != "numpy" else [])
    per_call = count(args.cell, args.size, impls, (n1, n2), args.cache)
    B, n_in, H, T = cells.SIZES[args.size]
    print(f"{args.cell} {args.size} (B={B}, I={n_in}, H={H}, T={T}), float64, one BLAS thread, per call:")
    for metric in per_call["numpy"]:
        base = per_call["numpy"][metric]
        for impl in impls:
            ratio = f"  {per_call[impl][metric] / base:.2f}x numpy" if impl != "numpy" and base else ""
            print(f"  {metric:15s} {impl:16s} {per_call[impl][metric] / 1e6:10.2f} M{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
