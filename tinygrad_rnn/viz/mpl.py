"""Figures that never touch the user's matplotlib backend: made with matplotlib.figure.Figure (not
pyplot), saved atomically, shown inline by Jupyter through _repr_png_ without pyplot being imported."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .render import write_atomic


class InlineFigure(Figure):
    """A matplotlib Figure outside pyplot's figure manager: no backend is selected or changed, nothing
    stays open after it is dropped; as a notebook cell's result it shows as a PNG."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=110)
        return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, **kwargs: Any) -> Path:
    """fig.savefig to path by extension (png, svg, pdf), via a temporary file (no half-written file)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lower().lstrip(".") or "png", **{"dpi": 110, **kwargs})
    return write_atomic(path, buf.getvalue())
