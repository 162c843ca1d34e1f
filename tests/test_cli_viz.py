"""The `tinygrad-rnn` graph / gradflow / gradcheck / demo subcommands, run as a user runs them."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_rnn.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The real command in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def cli_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """The same entry point in this process (saves an interpreter start per case)."""
    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.mark.parametrize("cell,extra,ext", [
    ("lstm", ["--collapse", "1"], "svg"),
    ("elman", [], "png"),
    ("gru", ["--steps", "2"], "dot"),
    ("dampened", ["--values", "--no-grads", "--hidden", "2"], "svg"),
])
def test_graph_writes_the_file(tmp_path, capsys, cell, extra, ext):
    out = tmp_path / f"g.{ext}"
    args = ("graph", "--cell", cell, *extra, "-o", str(out))
    r = cli(*args) if cell == "lstm" else cli_here(capsys, *args)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    if ext == "svg":
        text = out.read_text()
        ET.fromstring(text.encode())
        assert "t=1" in text and "t=4" in text
        assert ("flowing back" in text) == ("--no-grads" not in extra)
    elif ext == "png":
        assert out.read_bytes().startswith(PNG)
    else:
        text = out.read_text()
        assert text.startswith("digraph") and 'label="t=2"' in text and 'label="t=3"' not in text


def test_graph_html_is_written_or_refused_clearly(tmp_path, capsys):
    out = tmp_path / "g.html"
    r = cli_here(capsys, "graph", "--cell", "elman", "--steps", "2", "-o", str(out))
    if importlib.util.find_spec("tinygrad_rnn.viz.html") is None:
        assert r.returncode == 1 and "html" in r.stderr and "Traceback" not in r.stderr
    else:
        assert r.returncode == 0 and out.stat().st_size > 0


def test_gradflow_writes_plots_and_prints_a_table(tmp_path, capsys):
    out, heat = tmp_path / "flow.png", tmp_path / "heat.png"
    r = cli_here(capsys, "gradflow", "--steps", "12", "--cells", "dampened,lstm", "--hidden", "4",
                 "-o", str(out), "--heatmap", str(heat))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(PNG) and heat.read_bytes().startswith(PNG)
    lines = r.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("k = T-t"))
    assert lines[header].split()[-2:] == ["Dampened", "LSTM"]
    rows = [line.split() for line in lines[header + 1:] if line.strip() and line.split()[0].isdigit()]
    assert [int(r[0]) for r in rows] == [0, 1, 2, 5, 10, 11]
    damp = [float(r[1]) for r in rows]
    assert damp == sorted(damp, reverse=True) and damp[-1] < damp[0] * 1e-3  # it vanishes


def test_gradcheck_passes_every_op_and_cell():
    r = cli("gradcheck")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[1:-1]]
    names = {" ".join(row[:-3]) for row in rows}
    for name in ("matmul", "getitem (slice)", "sigmoid", "lstm cell (T=3)", "gru cell (T=3)",
                 "dampened cell (T=3)", "elman cell (T=3)", "lstm sequence layer (T=3)",
                 "dampened sequence layer (T=3)"):
        assert name in names
    assert all(row[-3] == "ok" for row in rows)
    assert r.stdout.splitlines()[-1] == f"{len(rows)} of {len(rows)} passed"


def test_gradcheck_fails_loudly_on_a_wrong_gradient(capsys, monkeypatch):
    import tinygrad_rnn as tg
    from tinygrad_rnn.cli import gradcheck as command

    class BadSquare(tg.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return a * g  # should be 2 a g

    real = command._op_cases
    monkeypatch.setattr(command, "_op_cases", lambda rng: real(rng)[:2] + [
        ("bad square", lambda a: BadSquare.apply(a), [np.linspace(0.5, 1.5, 4)])])
    monkeypatch.setattr(command, "CELLS", ())  # the cells are checked in the test above
    r = cli_here(capsys, "gradcheck")
    assert r.returncode == 1
    assert re.search(r"^bad square\s+FAIL", r.stdout, flags=re.M)
    assert "finite differences" in r.stdout and "1 FAILED" in r.stdout.splitlines()[-1]


@pytest.mark.parametrize("args,needle", [
    (["graph", "--cell", "transformer", "-o", "g.svg"], "invalid choice"),
    (["graph", "--cell", "lstm", "-o", "g.txt"], "must end in one of"),
    (["graph", "--steps", "0", "-o", "g.svg"], ">= 1"),
    (["graph", "--collapse", "x", "-o", "g.svg"], "whole number"),
    (["graph", "--cell", "lstm"], "required"),
    (["graph", "--steps", "200", "--max-nodes", "50", "-o", "g.svg"], "collapse"),
    (["gradflow", "--cells", "elman,bogus", "-o", "f.png"], "unknown cell bogus"),
    (["gradflow", "--steps", "-3", "-o", "f.png"], ">= 1"),
    (["gradflow", "-o", "f.svgz"], "must end in one of"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    r = cli(*args, cwd=tmp_path) if needle == "invalid choice" else cli_here(capsys, *args)
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["graph", "gradflow", "gradcheck", "demo"])
def test_help(capsys, command):
    r = cli_here(capsys, command, "--help")
    assert r.returncode == 0 and "usage: tinygrad-rnn " + command in r.stdout


def test_demo_writes_the_pictures(tmp_path):
    r = cli("demo", "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    expected = ["lstm_unrolled.svg", "lstm_unrolled.png", "lstm_step.svg", "lstm_step.png",
                "elman_unrolled.svg", "elman_unrolled.png", "gradflow.png", "gradflow_heatmap.png"]
    assert set(expected) <= {p.name for p in (tmp_path / "out").iterdir()}
    for name in expected:
        assert str(tmp_path / "out" / name) in r.stdout
    svg = (tmp_path / "out" / "lstm_step.svg").read_text()
    assert "forget gate" in svg and "t=2" not in svg
    assert "1/gamma" in r.stdout
