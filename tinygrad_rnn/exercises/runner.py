"""Running a student's file: executed alone in a fresh namespace (runpy), nothing else of theirs is run.

A syntax error, or an exception raised by their code (at import or while being checked), comes back
as a StudentError naming their file and line, never as a crash of the checker.
"""

from __future__ import annotations

import runpy
import traceback
from pathlib import Path
from typing import Any


class StudentError(Exception):
    """The student's own code failed; str() names the file, the line and the error."""


def load(path: str | Path) -> dict[str, Any]:
    """The namespace of the student's file, run as a script named 'exercise' (not '__main__')."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"exercise check: no file {str(path)!r}; write one with "
                                "`tinygrad-rnn exercise start N DIR`")
    try:
        return runpy.run_path(str(path), run_name="exercise")
    except SyntaxError as e:
        at = f"{path.name}, line {e.lineno}" if e.lineno else path.name
        shown = f"\n    {e.text.rstrip()}" if e.text else ""
        raise StudentError(f"your file does not parse: {at}: {e.msg}{shown}") from None
    except Exception as e:  # anything their module-level code raises is theirs to fix
        raise StudentError(f"your file raised while being loaded: {where(e, path)}") from None


def where(e: BaseException, path: Path) -> str:
    """'ValueError at ex1.py line 12 (in backward): message', the deepest frame in the student's file."""
    mine = path.resolve()
    frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename).resolve() == mine]
    what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if not frames:
        return what
    f = frames[-1]
    code = f"\n    {f.line}" if f.line else ""
    return f"{path.name} line {f.lineno} (in {f.name}): {what}{code}"


def student_call(path: str | Path, fn: Any, *args: Any, what: str) -> Any:
    """fn(*args) for a function of the student's; an exception becomes a StudentError at their line."""
    if not callable(fn):
        raise StudentError(f"{what} is not a function in your file (got {type(fn).__name__})")
    try:
        return fn(*args)
    except NotImplementedError as e:
        raise StudentError(f"{what} is not written yet ({where(e, Path(path))})") from None
    except Exception as e:
        raise StudentError(f"{what} raised {where(e, Path(path))}") from None


def need(ns: dict[str, Any], name: str, path: str | Path) -> Any:
    """ns[name], or a StudentError telling the student what to define."""
    if name not in ns:
        raise StudentError(f"{Path(path).name} defines no `{name}`; keep the names of the stub "
                           "(`tinygrad-rnn exercise start N DIR` writes it)")
    return ns[name]
