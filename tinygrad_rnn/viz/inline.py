"""Inline in a notebook: the interactive page (the self-contained page in an iframe's srcdoc, so it
runs in the notebook as it does in a browser tab, offline), and figures that need no backend."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.tensor import Tensor
from .graph import Drawing

if TYPE_CHECKING:
    from .mpl import InlineFigure

_FRAGMENT = re.compile(r"[\w=&.,-]*")


class Page:
    """One interactive page. `html` is the file's text; in Jupyter it shows inline (an iframe);
    `save(path)` writes the .html file (atomically)."""

    def __init__(self, text: str, height: int = 640) -> None:
        self.html, self.height = text, int(height)

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;'
                f'height:{self.height}px;border:1px solid #ddd" '
                'sandbox="allow-scripts" title="tinygrad_rnn interactive page"></iframe>')

    def save(self, path: str | Path) -> Path:
        from .render import write_atomic
        return write_atomic(Path(path), self.html.encode("utf-8"))

    def __repr__(self) -> str:
        return f"Page({len(self.html):,} characters; shown inline in Jupyter, .save(path) writes it)"


def page(drawing: Drawing, fragment: str = "", order: Sequence[Tensor] | None = None,
         title: str | None = None, height: int = 640) -> Page:
    """The interactive page of a drawing (forward, then backward, step by step), for a notebook cell.

    fragment: what a URL fragment would say, e.g. "quiz" (predict each gradient before it is shown)
    or "step=end&view=collapsed"; applied when the page opens (an iframe has no address bar)."""
    from .html import html_page
    if not isinstance(drawing, Drawing):
        raise TypeError("page: expected a Drawing (from tinygrad_rnn.viz.draw), got "
                        f"{type(drawing).__name__}")
    fragment = fragment.lstrip("#")
    if not _FRAGMENT.fullmatch(fragment):
        raise ValueError(f"page: fragment {fragment!r} may hold only letters, digits and = & . , - _ "
                         "(e.g. 'quiz&step=fwd')")
    text = html_page(drawing, order, title)
    if fragment:  # read by page.js when the address has no fragment (a sandboxed iframe cannot set one)
        start = f'<script>window.TG_PAGE_FRAGMENT = "{fragment}";</script>\n'
        text = text.replace("<head>\n", "<head>\n" + start, 1)
    return Page(text, height)


def figure(**kwargs: Any) -> InlineFigure:
    """A new matplotlib Figure (the arguments of matplotlib.figure.Figure, e.g. figsize=(7, 4)) made
    without pyplot: no backend is selected or changed; a notebook cell ending in it shows it."""
    from .mpl import InlineFigure  # matplotlib is imported on first use only
    return InlineFigure(**kwargs)
