"""`make bench`: run the benchmark suite and write docs/benchmarks.md.

Per-op overhead (bench/ops.py, when it has run()), the cells' forward + BPTT against the hand-written
numpy baseline, PyTorch and HIPS autograd (bench/cells.py), scaling in T and peak memory; then the
issue's targets checked against this run's ratios. `--quick` gives a short run (about a minute),
written to out/benchmarks-quick.md unless --out says otherwise: it never replaces the committed report.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import cells, train_step  # noqa: E402
from tinygrad_rnn.speed import memory  # noqa: E402

IMPL_ORDER = cells.IMPLS
RETAIN_ENV = "TINYGRAD_RNN_RETAIN_MEMORY"  # "0": the child run keeps the system's malloc settings
ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")


# ---- what machine, what BLAS ---------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> list[str]:
    lines = []
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        lines.append(f"numpy {np.__version__} built against {info.get('name')} {info.get('version')} "
                     f"({info.get('openblas configuration', '').strip()})")
    except Exception:  # numpy < 1.26 has no mode="dicts"
        lines.append(f"numpy {np.__version__}")
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            lines.append(f"thread pool: {pool.get('internal_api')} {pool.get('version')} "
                         f"({pool.get('architecture')}), {pool.get('num_threads')} threads by default, "
                         f"{Path(pool.get('filepath', '')).name}")
    except ImportError:
        lines.append("threadpoolctl not installed: BLAS threads could not be pinned")
    return lines


def _peers() -> list[str]:
    torch, hips = cells._torch(), cells._hips()
    out = [f"PyTorch {torch.__version__} ({torch.get_num_threads()} intra-op threads by default)"
           if torch is not None else "PyTorch: not installed (skipped)"]
    if hips is not None:
        from importlib.metadata import version
        out.append(f"HIPS autograd {version('autograd')}")
    else:
        out.append("HIPS autograd: not installed (skipped)")
    return out


def machine() -> list[str]:
    """Lines describing the machine, Python, numpy's BLAS, thread counts and the peers."""
    env = ", ".join(f"{k}={os.environ[k]}" for k in ENV_VARS if k in os.environ) or "none set"
    return [f"{_cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}",
            f"Python {platform.python_version()}", *_blas(), *_peers(),
            f"thread environment variables: {env}"]


# ---- formatting --------------------------------------------------------------------------

def _ms(s: float) -> str:
    return f"{s * 1e3:.3g}" if s < 1 else f"{s * 1e3:,.0f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def cell_tables(rows: list[dict]) -> list[str]:
    """One markdown table per (threads, dtype): rows cell x size, columns the implementations."""
    out: list[str] = []
    for threads in dict.fromkeys(r["threads"] for r in rows):
        for dtype in dict.fromkeys(r["dtype"] for r in rows):
            sub = [r for r in rows if r["threads"] == threads and r["dtype"] == dtype]
            if not sub:
                continue
            impls = [i for i in IMPL_ORDER if any(r["impl"] == i for r in sub)]
            body = []
            for cell in dict.fromkeys(r["cell"] for r in sub):
                for size in dict.fromkeys(r["size"] for r in sub if r["cell"] == cell):
                    got = {r["impl"]: r for r in sub if r["cell"] == cell and r["size"] == size}
                    shape = next(iter(got.values()))["B_I_H_T"]
                    line = [cell, f"{size} {shape}"]
                    for i in impls:
                        r = got.get(i)
                        if r is None:
                            line.append("-")
                        elif i == "numpy":
                            line.append(f"{_ms(r['seconds'])} ms")
                        else:
                            wrong = " **wrong gradients**" if r.get("grads_agree") is False else ""
                            line.append(f"{_ms(r['seconds'])} ({r['vs_numpy']:.2f}x){wrong}")
                    body.append(line)
            reps = "/".join(str(n) for n in sorted({r["repeats"] for r in sub}, reverse=True))
            label = "one BLAS thread, CPU time" if threads == 1 else "default BLAS threads, wall time"
            out += [f"### {dtype}, {label} (median ms of {reps} rounds; ratio to numpy)", "",
                    *_table(["cell", "size (B, I, H, T)", *impls], body), ""]
    return out


def ops_table(rows: list[dict]) -> list[str]:
    """bench/ops.py's rows: median microseconds and the ratios it gives (to numpy, to torch)."""
    def ratio(r: dict, key: str) -> str:
        return "" if r.get(key) is None else f"{r[key]:.2f}x"
    body = [[r["case"], r["impl"], f"{r['seconds'] * 1e6:,.1f}", ratio(r, "vs_numpy"), ratio(r, "vs_torch")]
            for r in rows]
    return _table(["case", "implementation", "median us", "x numpy", "x torch"], body)


# ---- the targets ---------------------------------------------------------------------------

def _ratio(rows: list[dict], cell: str, size: str, impl: str, dtype: str = "float64") -> float | None:
    for r in rows:
        if (r["cell"], r["size"], r["impl"], r["dtype"], r["threads"]) == (cell, size, impl, dtype, 1):
            return r["vs_numpy"]
    return None


def targets(rows: list[dict], scaling: list[dict], peaks: list[dict],
            steps: list[dict] | None = None, spread: list[dict] | None = None) -> list[list[str]]:
    """[target, measured, met] for every target of the issue this run can judge. A ratio with a spread
    over several runs (cells.ratio_spread) is judged on its median."""
    out: list[list[str]] = []
    steps = steps or []
    medians = {(r["cell"], r["size"], r["impl"]): r for r in spread or []}

    def add(name: str, value: float | None, limit: float, fmt: str = "{:.2f}x") -> None:
        if value is not None:
            out.append([name, fmt.format(value), "yes" if value <= limit else "**no**"])

    for cell in ("lstm", "elman"):
        for size, limit in (("medium", 1.6), ("tiny", 6.0), ("long", 3.5)):  # the textbook engine's limits
            sp, ratio = medians.get((cell, size, "tinygrad_rnn")), _ratio(rows, cell, size, "tinygrad_rnn")
            if sp:
                add(f"{cell} default <= {limit}x numpy at {size}: median of {len(sp['ratios'])} runs "
                    f"({sp['min']:.2f}x to {sp['max']:.2f}x; this run's table: "
                    f"{ratio or float('nan'):.2f}x)", sp["median"], limit)
            else:
                add(f"{cell} default <= {limit}x numpy at {size}", ratio, limit)
    for cell in ("lstm", "elman", "gru"):
        for dtype in ("float64", "float32"):
            for size, limit in (("tiny", 1.6), ("small", 1.6), ("medium", 1.1), ("long", 1.1)):
                ratio = _ratio(rows, cell, size, "tinygrad sequence", dtype)
                add(f"{cell} sequence <= {limit}x numpy at {size}, {dtype}", ratio, limit)
        pairs = [(r["vs_numpy"] / q, r["size"]) for r in rows if r["cell"] == cell and r["dtype"] == "float64"
                 and r["impl"] == "tinygrad sequence" and r["threads"] == 1
                 and (q := _ratio(rows, cell, r["size"], "torch nn"))]
        if pairs:
            worst, where = max(pairs)
            add(f"{cell} sequence faster than torch nn at every size, float64 (worst: {where})", worst, 1.0,
                "{:.2f}x torch's time")
    for r in steps:
        if r["impl"] == "tinygrad sequence" and r["vs_torch"] is not None:
            add("Adam step of the adding task (LSTM H=16, T=50, B=32, float64) <= 0.6x torch.nn.LSTM's",
                r["vs_torch"], 0.6)
    for cell in ("lstm", "elman"):
        for peer in ("torch primitive", "hips autograd"):
            pairs = [(r, _ratio(rows, cell, r["size"], peer, r["dtype"])) for r in rows
                     if r["cell"] == cell and r["impl"] == "tinygrad_rnn" and r["threads"] == 1]
            pairs = [(r["vs_numpy"] / q, f"{r['size']} {r['dtype']}") for r, q in pairs if q]
            if pairs:
                worst, where = max(pairs)
                add(f"{cell} default faster than {peer} everywhere (worst: {where})", worst, 1.0,
                    "{:.2f}x the peer's time")
    for impl in ("tinygrad_rnn", "tinygrad lean", "tinygrad sequence"):
        t = {r["T"]: r["seconds"] for r in scaling if r["impl"] == impl}
        if 1000 in t and 4000 in t:
            add(f"{impl}: time(T=4000) / time(T=1000) <= 4.4", t[4000] / t[1000], 4.4, "{:.2f}")
    for r in peaks:
        if r["impl"] == "tinygrad lean":  # (the sequence layer's peak is in the table: no target of its own)
            add(f"{r['impl']}: peak memory at long <= 2x numpy ({r['cell']})", r["vs_numpy"], 2.0)
    return out


def torch_float32_wins(rows: list[dict]) -> list[str]:
    """A line naming where torch.nn's float32 (oneDNN's kernel for the LSTM) beats the sequence layer."""
    got = {(r["cell"], r["size"], r["impl"]): r["seconds"] for r in rows
           if r["dtype"] == "float32" and r["threads"] == 1}
    wins = [f"{cell} {size} ({got[cell, size, 'torch nn'] / s:.2f}x our time)"
            for (cell, size, impl), s in got.items()
            if impl == "tinygrad sequence" and got.get((cell, size, "torch nn"), s) < s]
    if not any(impl == "torch nn" for _, _, impl in got):
        return []
    return [f"torch nn, float32, faster than the sequence layer at: {', '.join(wins) or 'no size'}.", ""]


def system_malloc_targets(rows: list[dict]) -> list[list[str]]:
    """The medium-size targets again, from the run with the system's malloc settings."""
    out = []
    for impl, limit in (("tinygrad_rnn", 1.6), ("tinygrad lean", 1.6), ("tinygrad sequence", 1.1)):
        for cell in ("lstm", "elman", "gru"):
            ratio = _ratio(rows, cell, "medium", impl)
            if ratio is not None and (cell != "gru" or impl == "tinygrad sequence"):
                out.append([f"{cell} {impl.replace('tinygrad_rnn', 'default')} <= {limit}x numpy at medium, "
                            f"{RETAIN_ENV}=0", f"{ratio:.2f}x", "yes" if ratio <= limit else "**no**"])
    return out


# ---- the run -------------------------------------------------------------------------------

SYSTEM_MALLOC_CELLS = ("elman", "lstm", "gru")
SYSTEM_MALLOC_SIZES = ("tiny", "medium")


def _system_malloc_child(path: str, repeats: int) -> None:
    """In a fresh process that keeps the system's malloc settings: time the cells, write the rows."""
    sizes = {k: cells.SIZES[k] for k in SYSTEM_MALLOC_SIZES}
    rows = cells.time_cells(SYSTEM_MALLOC_CELLS, sizes, (np.float64,), threads=1, repeats=repeats,
                            progress=lambda m: print(f"[system malloc] {m}", flush=True))
    Path(path).write_text(json.dumps(rows))


def _system_malloc_rows(repeats: int, say: Callable[[str], None]) -> list[dict]:
    """The child run above (malloc settings cannot be undone inside one process)."""
    if not memory.retained():
        return []  # not glibc's malloc, or turned off: the main run already is the system's
    say(f"the cells again in a process with {RETAIN_ENV}=0")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, __file__, "--system-malloc-rows", str(out), "--repeats", str(repeats)]
        subprocess.run(cmd, check=True, env={**os.environ, RETAIN_ENV: "0"})
        rows = json.loads(out.read_text())
    return [{**r, "B_I_H_T": tuple(r["B_I_H_T"])} for r in rows]


def _ops_rows(quick: bool) -> list[dict] | None:
    path = ROOT / "bench" / "ops.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_ops", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.run() if hasattr(mod, "run") else None


def report_path(quick: bool, out: str | None) -> Path:
    """Where the report goes: --out if given, else docs/benchmarks.md for a full run and
    out/benchmarks-quick.md for a quick one (a short, noisy run must not replace the committed figures)."""
    if out is not None:
        return Path(out)
    return ROOT / "out" / "benchmarks-quick.md" if quick else ROOT / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Run the benchmark suite and write docs/benchmarks.md.")
    ap.add_argument("--quick", action="store_true",
                    help="short run: float64, Elman and LSTM at tiny and small, short scaling; "
                         "no per-op, default-threads or memory part")
    ap.add_argument("--out", default=None, help="the report (default: docs/benchmarks.md; with --quick, "
                    "out/benchmarks-quick.md)")
    ap.add_argument("--repeats", type=int, default=7, help="rounds per figure (>= 7)")
    ap.add_argument("--system-malloc-rows", metavar="JSON", help=argparse.SUPPRESS)  # the child run below
    args = ap.parse_args(argv)
    args.out = str(report_path(args.quick, args.out))
    repeats = max(7, args.repeats)
    if args.system_malloc_rows:
        return _system_malloc_child(args.system_malloc_rows, repeats)
    if os.environ.get(RETAIN_ENV, "1") != "0":  # the bench opts in; the library never does on its own
        memory.retain_freed_memory()
    started = time.perf_counter()
    load0 = os.getloadavg()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    desc = machine()
    for line in desc:
        say(line)
    ops_rows = None if args.quick else _ops_rows(args.quick)
    if args.quick:
        rows = cells.time_cells(("elman", "lstm"), {k: cells.SIZES[k] for k in ("tiny", "small")},
                                (np.float64,), threads=1, repeats=repeats, progress=say)
        scaling = cells.time_scaling(T_values=(250, 1000), repeats=repeats, progress=say,
                                     impls=("numpy", "tinygrad_rnn"))
        peaks: list[dict] = []
        system_rows: list[dict] = []
        spread: list[dict] = []
    else:
        rows = cells.time_cells(threads=1, repeats=repeats, progress=say)
        rows += cells.time_cells(("elman", "lstm"), {k: cells.SIZES[k] for k in ("small", "medium")},
                                 (np.float64,), threads=None, repeats=repeats, progress=say)
        scaling = cells.time_scaling(repeats=repeats, progress=say)
        peaks = cells.peak_memory("lstm") + cells.peak_memory("elman")
        system_rows = _system_malloc_rows(repeats, say)
        spread = cells.ratio_spread(runs=10, progress=say)
    step_rows = train_step.run(repeats, progress=say)
    elapsed = time.perf_counter() - started
    load1 = os.getloadavg()

    cmd = "make bench" + (" (python bench/run.py --quick)" if args.quick else "")
    lines = [
        "# Benchmarks", "",
        f"Generated by `{cmd}` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"in {elapsed:.0f} s. Do not edit by hand: rerun the command.", "",
        "Work timed: forward + full BPTT from the zero state, loss = sum over t of sum(h_t^2), gradients "
        "with respect to every weight. Figures are medians of rounds in which the implementations take "
        "turns (after a warm-up that also checks every implementation's loss against the numpy "
        "baseline); each ratio is against the hand-written numpy forward + BPTT (bench/baselines.py) "
        "of the same rounds. The gradients of tinygrad_rnn's runs are compared with the baseline's "
        "(any disagreement is marked in the tables). One-thread figures are CPU time of the process "
        "(time.process_time), so "
        "other work on a shared machine does not count; default-thread figures are wall time. "
        f"{repeats} rounds per figure. "
        "Garbage collector on, as in training, with the objects that existed before timing frozen "
        "(gc.freeze) so that torch's own objects are not rescanned; a collection before each call.",
        "",
        "## Machine", "", *[f"- {line}" for line in desc],
        f"- load average (1 min) at start {load0[0]:.2f}, at end {load1[0]:.2f}: other work on the machine "
        "slows every implementation; ratios are more stable than times", "",
    ]
    target_rows = targets(rows, scaling, peaks, step_rows, spread) + system_malloc_targets(system_rows)
    if target_rows:
        lines += ["## Targets (float64, one BLAS thread, this run)", "",
                  *_table(["target", "measured", "met"], target_rows), ""]
    if spread:
        body = [[r["cell"], r["size"], r["impl"], *[f"{r[k]:.2f}x" for k in ("median", "min", "max")],
                 " ".join(f"{x:.2f}" for x in sorted(r["ratios"]))] for r in spread]
        lines += [f"## The medium-size ratio over {len(spread[0]['ratios'])} runs", "",
                  "One run's ratio moves with the machine's load by 10-20% (and more for the default mode, "
                  "whose graph keeps every array: its memory traffic meets other work's). The default "
                  "cells' limits at medium are judged on the median of these separate runs (float64, one "
                  f"BLAS thread, {repeats} rounds each).", "",
                  *_table(["cell", "size", "implementation", "median", "min", "max", "every run"], body), ""]
    if ops_rows:
        lines += ["## Per-op overhead (bench/ops.py, one BLAS thread)", "",
                  "The loss row is the cells' loss alone (all implementations but numpy stack the T "
                  "states, square and sum them). The tanh and sigmoid rows are the activations alone, "
                  "no graph: numpy's calls as the engine (and the numpy baseline) make them, torch's "
                  "kernel; they are the part of the gap to `torch primitive` below that no engine on "
                  "numpy can close.", "", *ops_table(ops_rows), ""]
    lines += ["## Cells: forward + BPTT", "",
              "Implementations: `numpy` hand-written (the bar); `tinygrad_rnn` the default primitive-op "
              "cells of tinygrad_rnn.nn, `loss.backward()`; `tinygrad lean` the same recorded inside "
              "`tg.lean()` (the graph keeps only the values some backward needs) with "
              "`backward(keep_intermediate=False)`; `tinygrad sequence` the whole-sequence layers "
              "tg.nn.RNN/LSTM/GRU/DampenedRNN (one op per call, hand-written BPTT); "
              "`torch nn` torch.nn.RNN/LSTM/GRU (no dampened cell there); "
              "`torch primitive` the same cell from eager torch ops step by step; `hips autograd` the "
              "same cell with autograd.numpy. Sizes (B, I, H, T).", "", *cell_tables(rows),
              *torch_float32_wins(rows)]
    if step_rows:
        body = [[r["impl"], f"{r['seconds'] * 1e3:.2f}",
                 "" if r["vs_torch"] is None else f"{r['vs_torch']:.2f}x"] for r in step_rows]
        lines += ["## One Adam training step (bench/train_step.py)", "",
                  "The adding task as `tinygrad-rnn train` runs it (LSTM H=16, T=50, B=32, float64): "
                  "forward, MSE at the last step, backward, clipping, Adam. `tinygrad sequence` is "
                  "train's default (the layer), `tinygrad_rnn` its --no-fused (the primitive cell); "
                  "`torch nn` torch.nn.LSTM + Linear with the same weights and torch.optim.Adam. One thread, "
                  "CPU time, "
                  f"median of {step_rows[0]['repeats']} rounds.", "",
                  *_table(["implementation", "median ms", "x torch nn"], body), ""]
    if system_rows:
        lines += [f"## With the system's malloc settings ({RETAIN_ENV}=0)", "",
                  "The tables above run, like any process after its first `backward()`, with glibc's "
                  "malloc keeping freed memory for reuse (`tg.speed.memory.retain_freed_memory()`; every "
                  "implementation, numpy included, runs under it). Here the same cells run in a second "
                  "process that keeps the system's settings: each call of the default mode then "
                  "page-faults the memory of its graph in afresh, because glibc returned it to the "
                  "system when the previous graph was freed.", "",
                  *cell_tables(system_rows)]
    if scaling:
        Ts = sorted({r["T"] for r in scaling})
        impls = [i for i in IMPL_ORDER if any(r["impl"] == i for r in scaling)]
        secs = {(r["impl"], r["T"]): r["seconds"] for r in scaling}
        body = [[i, *[_ms(secs[i, T]) for T in Ts],
                 *([f"{secs[i, Ts[-1]] / secs[i, Ts[-2]]:.2f}"] if len(Ts) > 1 else [])] for i in impls]
        B, n_in, H, _ = cells.SIZES["long"]
        lines += [f"## Scaling in T ({scaling[0]['cell']}, B={B}, I={n_in}, H={H}, float64, one BLAS thread, "
                  f"CPU time, median ms of {scaling[0]['repeats']} rounds; every T takes its turn)", "",
                  *_table(["implementation", *[f"T={T}" for T in Ts],
                           *([f"T={Ts[-1]} / T={Ts[-2]}"] if len(Ts) > 1 else [])], body), ""]
    if peaks:
        body = [[r["cell"], r["impl"], f"{r['peak_bytes'] / 2**20:.1f}", f"{r['vs_numpy']:.2f}x"]
                for r in peaks]
        lines += ["## Peak memory (long config, float64, tracemalloc; the loss stacks the T hidden "
                  "states, which costs three (T, B, H) arrays that the numpy baseline does not make)", "",
                  *_table(["cell", "implementation", "peak MiB", "x numpy"], body), ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(args.out).with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(args.out)
    say(f"wrote {args.out}")


if __name__ == "__main__":
    main()
