"""Graded exercises on backprop through time: a stub to fill in, checked against the engine with
feedback that teaches (which element, expected vs got, the first time step that departs, a hint).

    tinygrad-rnn exercise list
    tinygrad-rnn exercise start 2 my_work/      # writes my_work/ex2_dampened_bptt.py
    tinygrad-rnn exercise check 2 my_work/ex2_dampened_bptt.py

Only the student's file is run (in a fresh namespace); an error in it is reported at its line.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .feedback import WrongAnswer
from .runner import StudentError, load

_MODULES = ("ex1_op_backward", "ex2_dampened_bptt", "ex3_elman_bptt", "ex4_lstm_step", "ex5_vanishing")


@dataclass
class Result:
    """The outcome of a check: passed, and the text to show the student."""

    passed: bool
    message: str


def exercise(n: int) -> ModuleType:
    """The module of exercise n (1-based): TITLE, STUB, check(namespace, path)."""
    if not 1 <= n <= len(_MODULES):
        raise ValueError(f"exercise: there is no exercise {n}; choose 1..{len(_MODULES)} "
                         "(`tinygrad-rnn exercise list`)")
    return importlib.import_module(f"{__name__}.{_MODULES[n - 1]}")


def catalogue() -> list[tuple[int, str, str]]:
    """(number, file name of the stub, title) of every exercise, in order."""
    return [(n, f"{_MODULES[n - 1]}.py", exercise(n).TITLE) for n in range(1, len(_MODULES) + 1)]


def start(n: int, folder: str | Path, overwrite: bool = False) -> Path:
    """Write exercise n's stub (instructions in its docstring) into folder; returns its path."""
    from ..viz.render import write_atomic
    path = Path(folder) / f"{_MODULES[n - 1] if 1 <= n <= len(_MODULES) else ''}.py"
    text = exercise(n).STUB.replace("THIS_FILE", path.name)
    if path.exists() and not overwrite:
        raise FileExistsError(f"exercise start: {str(path)!r} exists; keep your work, or pass "
                              "--force to start again")
    return write_atomic(path, text.encode("utf-8"))


def check(n: int, path: str | Path) -> Result:
    """Run the student's file alone, check exercise n against the engine: Result(passed, message)."""
    mod = exercise(n)
    path = Path(path)
    try:
        ns = load(path)
        passed = mod.check(ns, path)
    except FileNotFoundError as e:
        return Result(False, str(e))
    except StudentError as e:
        return Result(False, f"exercise {n}: error in your code: {e}")
    except WrongAnswer as e:
        return Result(False, f"exercise {n}: not yet.\n{e}")
    lines = "\n".join(f"  ok  {p}" for p in passed)
    return Result(True, f"exercise {n}: all checks pass.\n{lines}")


__all__ = ["Result", "StudentError", "WrongAnswer", "catalogue", "check", "exercise", "start"]
