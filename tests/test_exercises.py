"""The graded exercises: every reference solution passes; typical wrong answers fail with the message
that teaches (sign error, missing accumulation over t, forgotten tanh', the wrong LSTM gate, ...); the
student's own errors are reported at their line; the CLI's exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_rnn import exercises

SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"


def solution(n: int) -> str:
    return (SOLUTIONS / f"ex{n}.py").read_text()


def wrong(tmp_path: Path, n: int, old: str, new: str) -> Path:
    """The reference solution of exercise n with one mistake put in (old must occur in it)."""
    text = solution(n)
    assert old in text, f"ex{n}.py no longer contains {old!r}"
    path = tmp_path / f"ex{n}_wrong.py"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_every_reference_solution_passes(n):
    result = exercises.check(n, SOLUTIONS / f"ex{n}.py")
    assert result.passed, result.message
    assert "all checks pass" in result.message


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_the_untouched_stub_is_reported_as_not_written_at_its_line(tmp_path, n):
    path = exercises.start(n, tmp_path)
    result = exercises.check(n, path)
    assert not result.passed
    assert "not written yet" in result.message and f"{path.name} line " in result.message


MISTAKES = [
    # (exercise, old, new, what the feedback must say)
    (1, "return g * (1 - y ** 2)", "return g * (y ** 2 - 1)",
     ["Tanh.backward", "element (0, 0)", "sign error"]),
    (1, "return g * (1 - y ** 2)", "return 1 - y ** 2", ["Tanh.backward", "multiply it by g"]),
    (1, "return g * (1 - y ** 2)", "return g", ["dL/dy unchanged"]),
    (1, "return g * y * (1 - y)", "return g * (1 - y)",
     ["Sigmoid.backward", "off by a factor of the output y"]),
    (1, "return g * (1 - y ** 2)", "return g * (1 - y ** 2) if y.ndim else g * 0",  # wrong on scalars only
     ["check_op found inputs where your op is wrong", "gradcheck: input 0"]),
    (1, "y = 1 / (1 + np.exp(-a))", "y = 1 / (1 + np.exp(a))", ["Sigmoid.forward(a)", "expected 0.622459"]),
    (2, "dL_dh[t - 1] + lam * delta_next", "dL_dh[t - 1] - lam * delta_next",
     ["dh[3] = dL/dh_4", "departs from the engine's: t = 4", "sign error"]),
    (2, "delta = dh[t - 1] * (1 - hs[t] ** 2)", "delta = dh[t - 1]", ["t = 4", "forgotten tanh'"]),
    (2, "dL_dh[t - 1] + lam * delta_next", "dL_dh[t - 1]", ["t = 4", "left out the gradient coming back"]),
    (2, "dW += xs[t - 1].T @ delta", "dW = xs[t - 1].T @ delta",
     ["dW: element", "missing accumulation over t", "first departs at k = 2"]),
    (2, "dlam += np.sum(delta * hs[t - 1])", "dlam += np.sum(delta * hs[t])", ["dlam", "h_(t-1)"]),
    (2, "db += delta.sum(axis=0)", "db += dh[t - 1].sum(axis=0)", ["db", "forgotten tanh'"]),
    (3, "delta_next @ U.T", "delta_next @ U", ["t = 4", "transpose"]),
    (3, "dU += hs[t - 1].T @ delta", "dU = hs[t - 1].T @ delta", ["dU", "missing accumulation over t"]),
    (3, "delta = dh[t - 1] * (1 - hs[t] ** 2)", "delta = dh[t - 1] * (1 - hs[t - 1] ** 2)",
     ["dh[3] = dL/dh_4", "tanh' at the wrong step"]),
    (4, "do * o * (1 - o)", "do", ["the wrong gate: o (output gate)", "forgotten sigmoid'"]),
    (4, "dc_t * c_prev, dc_t * i", "dc_t * c, dc_t * i", ["the wrong gate: f (forget gate)", "c_prev"]),
    (4, "dg * (1 - g ** 2)", "dg", ["the wrong gate: g (candidate)", "forgotten tanh'"]),
    (4, "dc_t = dc + dh * o * (1 - tc ** 2)", "dc_t = dh * o * (1 - tc ** 2)",
     ["cell-state path", "left out dc"]),
    (4, "dc_t = dc + dh * o * (1 - tc ** 2)", "dc_t = dc + dh * o", ["cell-state path", "forgotten tanh'"]),
    (4, "dc_prev = dc_t * f", "dc_prev = dc_t", ["dc_prev", "cell-state path to c_prev"]),
    (5, "np.diag(1 - h_t[0] ** 2) @ U.T", "np.diag(1 - h_t[0] ** 2) @ U", ["step_jacobian", "transpose"]),
    (5, "np.diag(1 - h_t[0] ** 2) @ U.T", "U.T", ["step_jacobian", "forgotten tanh'"]),
    (5, "out = step_jacobian(h, U) @ out", "out = out @ step_jacobian(h, U)", ["jacobian_product", "order"]),
    (5, "np.linalg.svd(U, compute_uv=False)[0] * gamma", "np.linalg.norm(U) * gamma", ["bound", "Frobenius"]),
    (5, "bound(hs, U) < 1", "bound(hs, U) > 1", ["must_vanish", "expected True, got False"]),
]


@pytest.mark.parametrize("n, old, new, says", MISTAKES, ids=[f"ex{m[0]}-{m[2][:28]}" for m in MISTAKES])
def test_a_typical_wrong_answer_fails_with_the_intended_message(tmp_path, n, old, new, says):
    result = exercises.check(n, wrong(tmp_path, n, old, new))
    assert not result.passed
    for s in says:
        assert s in result.message, f"{s!r} not in:\n{result.message}"


def test_a_syntax_error_is_the_students_with_its_line(tmp_path):
    path = wrong(tmp_path, 2, "    T = len(xs)\n", "    T = len(xs\n")
    result = exercises.check(2, path)
    assert not result.passed and "does not parse" in result.message
    assert f"{path.name}, line 7" in result.message


def test_an_exception_in_the_students_code_names_their_line(tmp_path):
    path = wrong(tmp_path, 3, "    dW, dU, db =", "    oops = xs[99]\n    dW, dU, db =")
    result = exercises.check(3, path)
    assert not result.passed
    assert "IndexError" in result.message and f"{path.name} line 9 (in backward)" in result.message
    path.write_text("import numpy as np\nnp.zeros(2) @ np.zeros(3)\n")
    result = exercises.check(3, path)
    assert "while being loaded" in result.message and f"{path.name} line 2" in result.message
    path.write_text("import numpy as np\n")
    assert "defines no `backward`" in exercises.check(3, path).message


def test_the_file_runs_alone_under_its_own_name_not_as_main(tmp_path):
    path = tmp_path / "ex1.py"
    path.write_text(solution(1) + '\nif __name__ == "__main__":\n    raise SystemExit("ran as a script")\n')
    assert exercises.check(1, path).passed


def test_start_writes_the_stub_once_and_list_names_five(tmp_path):
    assert [n for n, _, _ in exercises.catalogue()] == [1, 2, 3, 4, 5]
    path = exercises.start(4, tmp_path)
    assert path.name == "ex4_lstm_step.py" and "Check with:  tinygrad-rnn exercise check 4 ex4_lstm_step.py" \
        in path.read_text()
    with pytest.raises(FileExistsError, match="--force"):
        exercises.start(4, tmp_path)
    with pytest.raises(ValueError, match="choose 1..5"):
        exercises.exercise(6)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", "exercise", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(tmp_path):
    done = _cli("check", "5", str(SOLUTIONS / "ex5.py"), cwd=tmp_path)
    assert done.returncode == 0 and "all checks pass" in done.stdout
    bad = wrong(tmp_path, 5, "    return bool(", "    return bool((\n")
    done = _cli("check", "5", str(bad), cwd=tmp_path)
    assert done.returncode == 1 and "does not parse" in done.stdout and "Traceback" not in done.stderr
    done = _cli("start", "1", "work", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "work" / "ex1_op_backward.py").is_file()
    assert _cli("check", "9", str(bad), cwd=tmp_path).returncode == 2
    done = _cli("list", cwd=tmp_path)
    assert done.returncode == 0 and len(done.stdout.strip().splitlines()) == 5


def test_exercise_1_without_hypothesis_falls_back_to_fixed_shapes(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinygrad_rnn.testing", None)  # `from ..testing import` now fails
    assert exercises.check(1, SOLUTIONS / "ex1.py").passed
    # right on the fixed (2, 3) input, wrong on a scalar: only the shape sweep can see it
    path = wrong(tmp_path, 1, "return g * (1 - y ** 2)", "return g * (1 - y ** 2) if y.ndim else g * 0")
    result = exercises.check(1, path)
    assert not result.passed and "input of shape ()" in result.message and "gradcheck" in result.message
