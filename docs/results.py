"""`make results`: re-run the experiments of docs/results.md and rebuild the page from the records.

EXPERIMENTS lists each experiment as the arguments of one `tinygrad-rnn train` command (cells and
seeds compared in one command). `python docs/results.py --run` runs every experiment whose record
is missing (all of them with --force, some with --only ID) into out/results/<id>/, and keeps a
compact copy of its runs' results.json files in docs/results/<id>.json (checked in), with the
machine, library versions, date and load. Then, and on its own (`python docs/results.py`), it
builds docs/results.md from docs/results.md.in: every table and every number of the page comes
from a record, through the placeholders

    {{table:ID}}        one row per cell: seeds solved, sequences to solve, final test metric, time
    {{runs:ID}}         one row per run
    {{cmd:ID}}          the command that made the record
    {{fig:ID}}          the comparison figure (copied to docs/images/results/ID.png)
    {{val:ID:PATH}}     one number: PATH is metric.goal or metric.baseline, CELL.FIELD (solved, runs,
                        median_solved_after, median_final, median_seconds) or CELL.SEED.KEY (a run's
                        final number KEY,
                        or solved_after, seconds, clipped_fraction, max_grad_norm, gradflow_end_K,
                        gradflow_start_K for ||dL/dh|| K steps back)
    {{machine}}         where and when the records were made

tests/test_results_doc.py checks that docs/results.md is what this script builds from the records.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "docs" / "results"
FIGURES = ROOT / "docs" / "images" / "results"
TEMPLATE = ROOT / "docs" / "results.md.in"
PAGE = ROOT / "docs" / "results.md"

# id -> arguments of `tinygrad-rnn train` (each with --cell ... --seeds ...: one comparison)
EXPERIMENTS: dict[str, list[str]] = {
    "xor": ["temporal_xor", "--cell", "elman,dampened", "--seeds", "0,1,2"],
    "adding": ["adding", "--cell", "lstm,elman,dampened", "--seeds", "0,1,2,3"],
    "modern": ["adding_modern", "--cell", "lstm,elman,dampened", "--seeds", "0,1,2"],
    "reber": ["embedded_reber", "--cell", "lstm,elman,dampened", "--seeds", "0,1,2"],
    "modern_long": ["adding_modern", "--cell", "elman", "--iters", "8000", "--seeds", "0,1,2"],
    "modern_t30": ["adding_modern", "--cell", "elman", "--steps", "30", "--iters", "5000",
                   "--seeds", "0,1,2"],
    "reber_truncate1": ["embedded_reber", "--cell", "lstm,elman", "--truncate", "1", "--iters", "1000",
                        "--seeds", "0,1,2"],
    "reber_heldout": ["embedded_reber", "--cell", "lstm,elman", "--heldout", "--seeds", "0,1,2"],
    "letters": ["elman_letters", "--cell", "elman,dampened", "--seeds", "0,1,2"],
    "letters_truncate1": ["elman_letters", "--cell", "elman", "--truncate", "1", "--seeds", "0,1,2"],
    "xor_hidden2": ["temporal_xor", "--cell", "elman", "--hidden", "2", "--iters", "6000",
                    "--seeds", "0,1,2"],
    "xor_truncate1": ["temporal_xor", "--cell", "elman", "--truncate", "1", "--seeds", "0,1,2"],
    "chars": ["chars", "--cell", "elman,dampened", "--seeds", "0,1"],
    "adding_forget1": ["adding", "--cell", "lstm", "--forget-bias", "1", "--iters", "3000", "--seeds", "0,1"],
}

# what a compact record keeps of each run's results.json (the per-iteration lists are dropped)
_KEEP = ("task", "settings", "unit", "sequences", "iterations", "seconds", "solved", "solved_after",
         "interrupted", "diverged", "final", "verdict", "metric", "paper_result", "clipped_fraction",
         "max_grad_norm", "grad_flow_start", "grad_flow_end")


def machine() -> dict[str, Any]:
    """Where and with what the records are made."""
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = os.environ.get("TG_RESULTS_SOURCE") or subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "numpy": numpy.__version__, "commit": commit or None}


def _compact(run: dict[str, Any]) -> dict[str, Any]:
    out = {k: run.get(k) for k in _KEEP}
    key = run["metric"]["key"]
    out["evaluations"] = [{"iteration": e["iteration"], "sequences": e["sequences"], "solved": e["solved"],
                           key: e["numbers"].get(key)} for e in run["evaluations"]]
    return out


def run(ids: list[str], force: bool, out: Path) -> None:
    """Run each experiment (unless its record exists and not force) and write its record."""
    RECORDS.mkdir(parents=True, exist_ok=True)
    FIGURES.mkdir(parents=True, exist_ok=True)
    for rid in ids:
        record = RECORDS / f"{rid}.json"
        if record.exists() and not force:
            print(f"{rid}: kept {record.relative_to(ROOT)}")
            continue
        folder = out / rid
        args = EXPERIMENTS[rid]
        start, load = time.time(), os.getloadavg()[0]
        print(f"{rid}: tinygrad-rnn train {' '.join(args)}", flush=True)
        done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "train", *args, "-o", str(folder),
                               "--overwrite", "--no-progress"], cwd=ROOT,
                              env=dict(os.environ, MPLBACKEND="Agg"))
        if not (folder / "compare.json").exists():
            print(f"{rid}: FAILED (exit {done.returncode}), no record written; see {folder}", flush=True)
            continue
        summary = json.loads((folder / "compare.json").read_text())
        runs = [json.loads((folder / name / "results.json").read_text()) for name in summary["runs"]]
        doc = {"id": rid, "command": "tinygrad-rnn train " + " ".join(args), "machine": machine(),
               "date": time.strftime("%Y-%m-%d", time.gmtime(start)),
               "wall_seconds": round(time.time() - start, 1),
               "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
               "verdict": summary["verdict"], "cells": summary["cells"], "metric": summary["metric"],
               "runs": [_compact(r) for r in runs]}
        tmp = record.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
        tmp.replace(record)
        shutil.copyfile(folder / "compare.png", FIGURES / f"{rid}.png")
        print(f"{rid}: wrote {record.relative_to(ROOT)}", flush=True)


# ---- the page --------------------------------------------------------------------------------

def load_records(folder: Path = RECORDS) -> dict[str, dict[str, Any]]:
    """Every record in docs/results/, by id."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _num(x: Any, digits: int = 3) -> str:
    """A number as the page shows it: counts with thousands commas, others to `digits` significant."""
    if x is None:
        return "—"
    if isinstance(x, list):
        return " ".join(f"{v:.2f}" for v in x)
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 100):
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def _secs(x: float) -> str:
    """Seconds: whole above 10, one decimal below."""
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def _run(rec: dict[str, Any], cell: str, seed: int) -> dict[str, Any]:
    for r in rec["runs"]:
        if r["settings"]["cell"] == cell and r["settings"]["seed"] == seed:
            return r
    raise KeyError(f"no run of {cell} seed {seed} in {rec['id']}")


def value(records: dict[str, dict[str, Any]], ref: str) -> str:
    """The number a {{val:ID:PATH}} placeholder names (see the module docstring)."""
    rid, path = ref.split(":", 1)
    rec = records[rid]
    parts = path.split(".")
    if parts[0] == "metric":                   # the task's levels: goal, baseline
        return _num(rec["metric"][parts[1]])
    if len(parts) == 2:
        cell, field = parts
        row = rec["cells"][cell]
        if field == "solved":
            return f"{row['solved']} of {row['runs']}"
        return _secs(row[field]) if field == "median_seconds" else _num(row[field])
    cell, seed, key = parts[0], int(parts[1]), parts[2]
    r = _run(rec, cell, seed)
    m = re.fullmatch(r"gradflow_(start|end)_(\d+)", key)
    if m:
        flow = r[f"grad_flow_{m.group(1)}"]
        row = flow[len(flow) - 1 - int(m.group(2))]
        return f"{(row[0] if isinstance(row, list) else row):.1e}"
    if key == "seconds":
        return _secs(r[key])
    if key == "clipped_fraction":
        return f"{r[key]:.0%}"
    if key in r:
        return _num(r[key])
    return _num(r["final"]["numbers"][key])


def table(rec: dict[str, Any]) -> str:
    """One row per cell of an experiment."""
    m, unit = rec["metric"], rec["runs"][0]["unit"]
    head = (f"| cell | seeds solved | {unit} to solve, per seed | final {m['key'].replace('_', ' ')}, "
            f"per seed (criterion {_num(m['goal'])}) | seconds per run (median) |")
    lines = [head, "|---|---|---|---|---|"]
    for cell, row in rec["cells"].items():
        runs = [_run(rec, cell, s) for s in row["seeds"]]
        seeds = " / ".join(f"{_num(r['solved_after'])}" if r["solved"] else "not solved" for r in runs)
        finals = " / ".join(_num(f) for f in row["final"])
        lines.append(f"| {cell} | {row['solved']} of {row['runs']} | {seeds} | {finals} | "
                     f"{_secs(row['median_seconds'])} |")
    return "\n".join(lines)


def runs_table(rec: dict[str, Any]) -> str:
    """One row per run: seed, sequences seen, solved after, final metric, share of steps clipped,
    largest gradient norm, seconds."""
    m, unit = rec["metric"], rec["runs"][0]["unit"]
    lines = [f"| cell | seed | {unit} seen | solved after | final {m['key'].replace('_', ' ')} | "
             f"steps clipped | largest gradient norm | seconds |", "|---|---|---|---|---|---|---|---|"]
    for r in rec["runs"]:
        clipped = "—" if r["clipped_fraction"] is None else f"{r['clipped_fraction']:.0%}"
        lines.append(f"| {r['settings']['cell']} | {r['settings']['seed']} | {_num(r['sequences'])} | "
                     f"{_num(r['solved_after'])} | {_num(r['final']['numbers'].get(m['key']))} | {clipped} | "
                     f"{_num(r['max_grad_norm'])} | {_secs(r['seconds'])} |")
    return "\n".join(lines)


def machine_line(records: dict[str, dict[str, Any]]) -> str:
    """Where, when and with what the records were made, and the machine's load around them."""
    machines = {json.dumps(r["machine"], sort_keys=True) for r in records.values()}
    dates = sorted({r["date"] for r in records.values()})
    loads = [x for r in records.values() for x in r["load_average"]]
    lines = []
    for text in sorted(machines):
        mc = json.loads(text)
        lines.append(f"{mc['cpu']} ({mc['cores']} cores), {mc['system']}, Python {mc['python']}, "
                     f"numpy {mc['numpy']}, tinygrad_rnn at commit {mc['commit']}")
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    return (f"Recorded on {when} on " + "; ".join(lines) + f". The machine was shared: its 1-minute load "
            f"average was {min(loads):.1f} to {max(loads):.1f} around the runs, so the seconds are "
            f"those of a busy machine.")


def render(template: str, records: dict[str, dict[str, Any]]) -> str:
    """The page: the template with every placeholder filled from the records."""
    def fill(m: re.Match) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "machine":
            return machine_line(records)
        if kind == "val":
            return value(records, arg)
        rec = records[arg]
        if kind == "table":
            return table(rec)
        if kind == "runs":
            return runs_table(rec)
        if kind == "cmd":
            return rec["command"]
        if kind == "fig":
            return f"![{rec['command']}](images/results/{arg}.png)"
        raise ValueError(f"docs/results.py: unknown placeholder {m.group(0)}")
    notice = ("<!-- Built by docs/results.py from docs/results.md.in and the records in docs/results/: "
              "edit those, never this file. -->\n")
    template = re.sub(r"\A<!--.*?-->\n", notice, template, flags=re.S)
    return re.sub(r"\{\{(machine|val|table|runs|cmd|fig):?([^}]*)\}\}", fill, template)


def build() -> Path:
    """docs/results.md from docs/results.md.in and the records."""
    text = render(TEMPLATE.read_text(), load_records())
    tmp = PAGE.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(PAGE)
    return PAGE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run the experiments whose record is missing")
    parser.add_argument("--force", action="store_true", help="with --run: run every experiment again")
    parser.add_argument("--only", nargs="+", choices=list(EXPERIMENTS), help="with --run: these experiments")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "results", help="where the runs go")
    args = parser.parse_args()
    if args.run:
        run(args.only or list(EXPERIMENTS), args.force, args.out)
    if TEMPLATE.exists():
        print(f"wrote {build().relative_to(ROOT)}")


if __name__ == "__main__":
    main()
