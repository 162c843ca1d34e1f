"""Cells against cells over seeds: every (cell, seed) pair trained as its own `tinygrad-rnn train`
process (up to `jobs` at a time), each into OUT/<cell>-seed<seed>/, then one summary per cell
(solved count, median sequences to solve, final test metric, wall time), compare.json and one
figure, compare.png, with every run on the same axes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .outputs import strict


def run_folder(out: Path, cell: str, seed: int) -> Path:
    """Where the run of (cell, seed) goes inside a comparison's folder."""
    return out / f"{cell}-seed{seed}"


def run_all(task: str, cells: Sequence[str], seeds: Sequence[int], out: Path, options: Sequence[str],
            jobs: int = 1, overwrite: bool = False,
            log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Train every (cell, seed) as a child process; returns the results.json records, in order.

    options: further `train` arguments given to every run. With jobs > 1 each child uses one BLAS
    thread, so the runs share the cores instead of fighting over them. Ctrl-C or SIGTERM passes
    SIGINT on to the running children, which save what they have.
    """
    pairs = [(c, s) for c in cells for s in seeds]
    env = dict(os.environ)
    if jobs > 1:
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    waiting, running, failed = list(pairs), {}, []
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                cell, seed = waiting.pop(0)
                folder = run_folder(out, cell, seed)
                folder.mkdir(parents=True, exist_ok=True)
                cmd = [sys.executable, "-m", "tinygrad_rnn", "train", task, "--cell", cell,
                       "--seed", str(seed), "-o", str(folder), "--no-progress", *options]
                cmd += ["--overwrite"] if overwrite else []
                logf = open(folder / "train.log", "w")
                child = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
                running[(cell, seed)] = (child, logf)
                log(f"started {cell} seed {seed} -> {folder}")
            time.sleep(0.2)
            for key, (p, logf) in list(running.items()):
                if p.poll() is None:
                    continue
                logf.close()
                del running[key]
                folder = run_folder(out, *key)
                text = (folder / "train.log").read_text()
                head = next((ln for ln in text.splitlines() if ln.startswith(f"{task} / ")), None)
                if p.returncode not in (0, 130) or head is None:
                    failed.append(key)
                    log(f"FAILED {key[0]} seed {key[1]} (exit {p.returncode}); see {folder / 'train.log'}:\n"
                        + "\n".join(text.splitlines()[-5:]))
                else:
                    log(head)
    except KeyboardInterrupt:
        for p, _ in running.values():
            p.send_signal(signal.SIGINT)
        for p, logf in running.values():
            p.wait()
            logf.close()
        raise
    return [json.loads((run_folder(out, c, s) / "results.json").read_text())
            for c, s in pairs if (run_folder(out, c, s) / "results.json").exists()]


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per cell: runs, solved, median sequences to solve (of the solved runs), the final test
    metric of every run and its median, the wall time of every run and its median."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        key = r["metric"]["key"]
        row = out.setdefault(r["settings"]["cell"], {"runs": 0, "solved": 0, "seeds": [], "solved_after": [],
                                                      "final": [], "seconds": []})
        row["runs"] += 1
        row["solved"] += int(r["solved"])
        row["seeds"].append(r["settings"]["seed"])
        row["solved_after"].append(r["solved_after"])
        row["final"].append(None if r["final"] is None else r["final"]["numbers"].get(key))
        row["seconds"].append(r["seconds"])
    for row in out.values():
        hits = [s for s in row["solved_after"] if s is not None]
        finals = [f for f in row["final"] if f is not None]
        row["median_solved_after"] = float(np.median(hits)) if hits else None
        row["median_final"] = float(np.median(finals)) if finals else None
        row["median_seconds"] = float(np.median(row["seconds"]))
    return out


def verdicts(task: str, records: Sequence[dict[str, Any]], summary: dict[str, dict[str, Any]]) -> list[str]:
    """One line per cell, then the paper's figure with its source (and its note, if any)."""
    if not records:
        return [f"{task}: no run finished"]
    meta, unit = records[0]["metric"], records[0]["unit"]
    lines = []
    for cell, row in summary.items():
        when = (f", median {row['median_solved_after']:,.0f} {unit} to solve"
                if row["median_solved_after"] is not None else "")
        final = (f"; final {meta['key'].replace('_', ' ')} median {row['median_final']:.4g}"
                 if row["median_final"] is not None else "")
        lines.append(f"{task} / {cell}: {row['solved']}/{row['runs']} seeds solved{when}{final}; "
                     f"median {row['median_seconds']:.0f} s per run")
    lines.append(f"paper: {records[0]['paper_result']}")
    note = records[0].get("paper_note")
    if note and any(c != "lstm" for c in summary) and not records[0]["settings"].get("truncate"):
        lines.append(f"note: {note}")
    return lines


def write_comparison(task: str, records: Sequence[dict[str, Any]], out: Path,
                     command: str) -> dict[str, Path]:
    """compare.json (the summary, the verdicts and each run's folder) and compare.png, into out."""
    from ..viz.render import write_atomic
    from .plots import plot_compare
    summary = summarize(records)
    lines = verdicts(task, records, summary)
    doc = {"task": task, "command": command, "verdict": lines, "cells": summary,
           "runs": [str(run_folder(out, r["settings"]["cell"], r["settings"]["seed"]).name) for r in records],
           "metric": records[0]["metric"] if records else None}
    paths = {"summary": write_atomic(out / "compare.json", json.dumps(strict(doc), indent=1,
                                                                      allow_nan=False).encode())}
    if records:
        seeds = ", ".join(str(s) for s in sorted({r["settings"]["seed"] for r in records}))
        paths["figure"] = plot_compare(records[0]["metric"], records, out / "compare.png",
                                       title=f"{task}: {', '.join(summary)}, seeds {seeds}")
    return paths
