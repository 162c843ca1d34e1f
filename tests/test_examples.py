"""The examples run to the end in reduced mode (TG_QUICK=1) and write every file they report.

Each example runs as `sys.executable examples/NN_name.py` in its own temporary folder; all
of them are started at once (they are independent) and each test waits for its own. A
line "wrote PATH" in an example's output is a promise: PATH must exist under
out/examples/NN_name/ of that folder and hold a real file of its kind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXPECTED = ["01_autograd_basics", "02_unrolled_graphs", "03_vanishing_gradients", "04_temporal_xor",
            "05_adding_lstm_vs_elman", "06_character_model", "07_custom_op"]
TIMEOUT = 240  # seconds per example, on a loaded 2-core machine; reduced mode takes a few
WROTE = re.compile(r"^wrote (\S+)")
MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".npz": b"PK"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every example at once; {name: (Popen, cwd, stdout file, stderr file)}."""
    env = dict(os.environ, TG_QUICK="1", MPLBACKEND="Agg")
    env.pop("TG_OUT", None)
    started = {}
    for name in EXPECTED:
        cwd = tmp_path_factory.mktemp(name)
        out, err = (cwd.parent / f"{name}.stdout").open("w+"), (cwd.parent / f"{name}.stderr").open("w+")
        proc = subprocess.Popen([sys.executable, str(EXAMPLES_DIR / f"{name}.py")], cwd=cwd, env=env,
                                stdout=out, stderr=err, text=True)
        started[name] = (proc, cwd, out, err)
    yield started
    for proc, _, out, err in started.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
        err.close()


def test_the_examples_are_the_documented_ones_in_cell_format():
    found = sorted(p.stem for p in EXAMPLES_DIR.glob("[0-9][0-9]_*.py"))
    assert found == EXPECTED
    for name in EXPECTED:
        text = (EXAMPLES_DIR / f"{name}.py").read_text()
        assert text.startswith("# %%"), f"{name}: not in `# %%` cell format"
        assert text.count("\n# %%") >= 3, f"{name}: fewer than 4 cells"
        assert "TG_QUICK" in text, f"{name}: has no reduced mode"


@pytest.mark.parametrize("name", EXPECTED)
def test_example_runs_and_writes_what_it_says(runs, name):
    proc, cwd, out, err = runs[name]
    try:
        code = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{name} did not finish within {TIMEOUT} s in reduced mode")
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    assert code == 0, (f"{name} exited {code}\n--- stdout ---\n{stdout[-3000:]}\n"
                       f"--- stderr ---\n{stderr[-3000:]}")

    written = [WROTE.match(line).group(1) for line in stdout.splitlines() if WROTE.match(line)]
    assert written, f"{name} reported no file\n{stdout[-2000:]}"
    home = (cwd / "out" / "examples" / name).resolve()
    for p in written:
        path = (cwd / p).resolve()
        assert path.is_relative_to(home), f"{name} wrote {p} outside out/examples/{name}/"
        assert path.is_file() and path.stat().st_size > 0, f"{name} says it wrote {p}, but it is not there"
        head = path.read_bytes()[:200]
        if path.suffix in MAGIC:
            assert head.startswith(MAGIC[path.suffix]), f"{p} is not a {path.suffix} file"
        elif path.suffix == ".svg":
            assert b"<svg" in path.read_bytes(), f"{p} is not an SVG file"
        elif path.suffix == ".dot":
            assert head.startswith(b"digraph"), f"{p} is not DOT text"
    # nothing written beside out/ in the working folder (hypothesis keeps its own cache folder)
    assert {q.name for q in cwd.iterdir()} - {".hypothesis"} == {"out"}
