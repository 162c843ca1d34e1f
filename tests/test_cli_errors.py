"""The command line never shows a traceback for a user's mistake: one line on stderr, exit 2 for
bad arguments (before any work), 1 for what fails while running."""

import subprocess
import sys

import pytest

import tinygrad_rnn.cli.gradflow  # noqa: F401  (bound to the real unrolled_loss before any patch)
from tinygrad_rnn.cli import limits, main


def run_here(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err):
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("args, needle", [
    (["graph", "-o", "/dev/null/x.svg"], "cannot write '/dev/null/x.svg': /dev/null is not a folder"),
    (["gradflow", "-o", "/dev/null/x.png"], "/dev/null is not a folder"),
    (["gradflow", "-o", "f.png", "--heatmap", "/dev/null/h.png"], "/dev/null is not a folder"),
    (["demo", "-o", "/dev/null/out"], "cannot write '/dev/null/out': /dev/null is not a folder"),
    (["graph", "-o", "missing/x.svg"], "missing does not exist (create it first)"),
    (["graph", "-o", "."], "must end in one of"),
    (["graph", "--seed", "-5", "-o", "g.svg"], "expected a whole number >= 0, got -5"),
    (["gradflow", "--seed", "-5", "-o", "f.png"], "expected a whole number >= 0, got -5"),
    (["train", "temporal_xor", "--seed", "-5"], "expected a whole number >= 0, got -5"),
    (["graph", "--steps", "100000", "-o", "g.svg"], "--steps 100000 draws at least one box per step"),
])
def test_bad_arguments_exit_2_in_one_line_before_any_work(tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("tinygrad_rnn.cli.graph.unrolled_loss", _no_work)
    code, _, err = run_here(capsys, *args)
    assert code == 2 and needle in err, err
    _one_line(err)
    assert list(tmp_path.iterdir()) == []


def _no_work(*args, **kwargs):
    raise AssertionError("the command started working before refusing its arguments")


@pytest.mark.parametrize("args", [["graph", "--cell", "lstm", "--hidden", "100000", "-o", "g.svg"],
                                  ["gradflow", "--hidden", "100000", "-o", "f.png"],
                                  ["train", "adding", "--hidden", "100000"]])
def test_a_hidden_size_that_cannot_fit_is_refused_with_the_estimate(tmp_path, capsys, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(limits, "available_bytes", lambda: 8 << 30)
    code, _, err = run_here(capsys, *args)
    assert code == 2 and "--hidden 100000 needs about" in err and "8.0 GiB is available" in err, err
    _one_line(err)


def test_gradflow_over_many_steps_is_refused_or_announced_with_its_memory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(limits, "available_bytes", lambda: 2 << 30)
    code, _, err = run_here(capsys, "gradflow", "--steps", "100000", "-o", "f.png")
    assert code == 2 and "--steps 100000 --hidden 8 needs about" in err, err
    need = sum(limits.graph_bytes(k, 100000, 8) for k in limits.GATE_BLOCKS)
    assert need > 1 << 30     # gigabytes, as measured (3.9 GB on the old engine)
    monkeypatch.setattr(limits, "available_bytes", lambda: 64 << 30)
    monkeypatch.setattr("tinygrad_rnn.cli.gradflow.measure", _stop)
    with pytest.raises(_Stop):
        main(["gradflow", "--steps", "100000", "-o", "f.png"])
    assert "this run keeps about" in capsys.readouterr().err


class _Stop(Exception):
    pass


def _stop(*args, **kwargs):
    raise _Stop


def test_the_estimate_is_not_below_what_a_run_takes():
    tracemalloc = pytest.importorskip("tracemalloc")
    from tinygrad_rnn.cli.gradflow import measure
    for kind in limits.GATE_BLOCKS:
        tracemalloc.start()
        measure([kind], 300, 16)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert 0.4 * limits.graph_bytes(kind, 300, 16) < peak < 2.0 * limits.graph_bytes(kind, 300, 16), kind


@pytest.mark.parametrize("exc, needle", [(PermissionError(13, "Permission denied", "x.png"),
                                          "error: Permission denied: x.png"),
                                         (MemoryError(), "error: out of memory")])
def test_failures_while_running_exit_1_in_one_line(tmp_path, capsys, monkeypatch, exc, needle):
    monkeypatch.chdir(tmp_path)

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr("tinygrad_rnn.cli.gradflow.measure", fail)
    code, _, err = run_here(capsys, "gradflow", "--steps", "3", "-o", "f.png")
    assert code == 1 and needle in err, err
    _one_line(err)


def test_the_real_command_refuses_an_unwritable_output_without_a_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "graph", "-o", "/dev/null/x.svg"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 2 and "/dev/null is not a folder" in r.stderr
    _one_line(r.stderr)
