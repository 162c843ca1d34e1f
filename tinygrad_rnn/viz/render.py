"""DOT text -> SVG/PNG/PDF through a Graphviz renderer, and atomic file writes.

The renderer is the system `dot` when it is on PATH, else the `graphviz-pure` executable (a
self-contained Graphviz port installed with this package) beside the running Python or on PATH.
graphviz-pure writes no PDF: then the PDF holds the PNG rendering (at 150 dpi, through Pillow);
a system `dot` writes a vector PDF. `Digraph` is graphviz.Digraph with .pipe() and .render()
going through the same renderer, so a customised drawing renders without a system `dot`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

import graphviz

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
        if "not recognized" in err and fmt == "pdf":
            return _png_as_pdf(_with_dpi(source, timeout))
        if "not recognized" in err:
            raise RenderError(f"render: {Path(exe).name} cannot write {fmt}; for {fmt}, {_HOW_DOT}; "
                              "or save .svg or .png instead")
        raise RenderError(f"render: {Path(exe).name} -T{fmt} failed (exit {done.returncode}): "
                          f"{err.splitlines()[-1] if err else 'no output'}")
    return done.stdout


def _with_dpi(source: str, timeout: float) -> bytes:
    """PNG at 150 dpi (for a raster PDF): the -Gdpi switch on the command line."""
    exe = find_renderer()
    done = subprocess.run([exe, "-Tpng", "-Gdpi=150"], input=source.encode("utf-8"), capture_output=True,
                          timeout=timeout, check=False)
    if done.returncode != 0 or not done.stdout:
        raise RenderError(f"render: {Path(exe).name} -Tpng failed (exit {done.returncode}) while making "
                          "a PDF")
    return done.stdout


def _png_as_pdf(png: bytes) -> bytes:
    """One-page PDF holding the PNG (Pillow; a raster PDF for renderers that write no vector PDF)."""
    import io

    from PIL import Image
    out = io.BytesIO()
    with Image.open(io.BytesIO(png)) as im:
        im.convert("RGB").save(out, format="PDF", resolution=150.0)
    return out.getvalue()


class Digraph(graphviz.Digraph):
    """graphviz.Digraph whose pipe() and render() use `render` (system dot, else graphviz-pure):
    `drawing.graphviz.pipe(format="png")` works on a machine without Graphviz installed."""

    def pipe(self, format: str | None = None, *args: Any, encoding: str | None = None,
             **kwargs: Any) -> bytes | str:
        out = render(self.source, format or self.format or "svg")
        return out.decode(encoding) if encoding else out

    def render(self, filename: str | os.PathLike | None = None, directory: str | os.PathLike | None = None,
               view: bool = False, cleanup: bool = False, format: str | None = None, *args: Any,
               outfile: str | os.PathLike | None = None, **kwargs: Any) -> str:
        """Write the DOT source (unless cleanup) and the rendered file; returns the rendered file's path."""
        fmt = format or (Path(outfile).suffix.lstrip(".") if outfile else None) or self.format or "pdf"
        folder = Path(directory or self.directory or "")
        src = folder / (filename or self.filename or f"{self.name or 'Digraph'}.gv")
        target = Path(outfile) if outfile else src.with_name(f"{src.name}.{fmt}")
        write_atomic(target, render(self.source, fmt))
        if not cleanup and not outfile:
            write_atomic(src, self.source.encode("utf-8"))
        return str(target)


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
