"""DOT text -> SVG/PNG/PDF through a Graphviz renderer, and atomic file writes.

The renderer is the system `dot` when it is on PATH, else the `graphviz-pure` executable (a
self-contained Graphviz port installed with this package) beside the running Python or on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

FORMATS = ("svg", "png", "pdf")
_HOW_DOT = ("install Graphviz (e.g. `apt install graphviz`, `brew install graphviz`, or "
            "https://graphviz.org/download/) so that `dot` is on PATH")
_HOW = f"{_HOW_DOT}, or `pip install graphviz-pure` into this Python's environment"


class RenderError(RuntimeError):
    """No Graphviz renderer, or the renderer failed; the message says what to do."""


def find_renderer() -> str:
    """Path of the Graphviz executable to use: system `dot` first, then `graphviz-pure`."""
    dot = shutil.which("dot")
    if dot:
        return dot
    names = ("graphviz-pure.exe", "graphviz-pure") if os.name == "nt" else ("graphviz-pure",)
    dirs = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    for d in dirs:
        for n in names:
            exe = Path(d) / n
            if exe.is_file() and os.access(exe, os.X_OK):
                return str(exe)
    pure = shutil.which("graphviz-pure")
    if pure:
        return pure
    raise RenderError(f"render: no Graphviz renderer found (neither `dot` on PATH nor `graphviz-pure` "
                      f"beside {sys.executable}); {_HOW}. Saving as .dot needs no renderer.")


def render(source: str, fmt: str = "svg", timeout: float = 120.0) -> bytes:
    """Lay out and draw DOT text as `fmt` (svg, png, pdf); returns the file's bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"render: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    exe = find_renderer()
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"render: {Path(exe).name} took more than {timeout:.0f} s; draw a smaller "
                          "graph (collapse=1, fewer steps)") from None
    err = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not done.stdout:
        if "not recognized" in err:
            raise RenderError(f"render: {Path(exe).name} cannot write {fmt}; for {fmt}, {_HOW_DOT}; "
                              "or save .svg or .png instead")
        raise RenderError(f"render: {Path(exe).name} -T{fmt} failed (exit {done.returncode}): "
                          f"{err.splitlines()[-1] if err else 'no output'}")
    return done.stdout


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write bytes to path via a temporary file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask
