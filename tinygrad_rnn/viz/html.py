"""The interactive page: the drawn graph stepped through in the engine's forward order, then its
backward order, in one self-contained HTML file.

The page holds the Graphviz SVG of each view (every op, and one box per time step), a JSON block
with every tensor's value and gradient, and a small plain script and stylesheet (page.js,
page.css beside this file), all inlined: nothing is fetched when it is opened.

Step k of the forward pass is `toposort(root)[k-1]`, the order `autograd.backward` walks in
reverse; backward step j finishes the gradient of `toposort(root)[-j]` and sends it along that
tensor's incoming edges (the gradients `draw` colours edges by).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.autograd import toposort
from ..engine.tensor import Tensor
from .bystep import by_step_rows
from .graph import GRAD_DECADES, NO_GRAD_COLOR, PALETTE, WIDTHS, Drawing, Group, draw, grad_bin, op_text

EXPANDED_MAX_NODES = 250  # above this the every-op view is left out (unreadable, slow to lay out)
SMALL = 64  # arrays of at most this many elements are embedded in full; larger ones summarised
_FIRST = 6  # entries shown of a summarised array


@dataclass
class _View:
    """One picture of the graph on the page."""

    key: str  # "expanded" or "collapsed"
    title: str
    drawing: Drawing


def write_html(drawing: Drawing, path: str | Path, order: Sequence[Tensor] | None = None,
               title: str | None = None, max_expanded_nodes: int = EXPANDED_MAX_NODES) -> Path:
    """Write `html_page(drawing, ...)` to path atomically; returns the path."""
    from .render import write_atomic
    return write_atomic(Path(path), html_page(drawing, order, title, max_expanded_nodes).encode("utf-8"))


def html_page(drawing: Drawing, order: Sequence[Tensor] | None = None, title: str | None = None,
              max_expanded_nodes: int = EXPANDED_MAX_NODES) -> str:
    """The self-contained page: forward steps = order (default: the engine's toposort of the root
    backward ran from, the first root holding a gradient), then backward steps = reversed(order);
    both the every-op view (if at most max_expanded_nodes nodes) and the one-box-per-step view,
    each rendered by Graphviz. Drawn tensors outside the order (inputs, targets) are given from
    the start."""
    if not isinstance(drawing, Drawing):
        raise TypeError(f"html_page: expected a Drawing (from tinygrad_rnn.viz.draw), got "
                        f"{type(drawing).__name__}")
    if order is not None and not all(isinstance(t, Tensor) for t in order):
        raise TypeError("html_page: order must be a sequence of Tensors (e.g. the list that "
                        "tinygrad_rnn.autograd.backward returns), or None for the engine's toposort")
    views, note = _views(drawing, max_expanded_nodes)
    data = _page_data(drawing.roots, views, order)
    data["note"] = note
    svgs = [_prepare_svg(v.drawing.svg(), k, v.drawing) for k, v in enumerate(views)]
    return _assemble(data, svgs, title or _default_title(data))


# ---- which pictures ------------------------------------------------------------------------------

def _views(drawing: Drawing, limit: int) -> tuple[list[_View], str]:
    """The given drawing's view first, then the other one when it is cheap; a note on what is left out."""
    roots = drawing.roots
    if _lacks_grads(drawing):  # drawn with grads=False: the page is about gradients, so redraw
        drawing = draw(roots, collapse=drawing.collapse, max_nodes=max(len(drawing.nodes), 1))
    note, left_out = "", "nodes and is left out; draw fewer steps to see it."
    views: list[_View] = []
    if drawing.collapse is None:
        if len(drawing.nodes) <= limit:
            views.append(_View("expanded", "every op", drawing))
        else:
            note = f"The every-op view has {len(drawing.nodes)} (more than {limit}) {left_out}"
        collapsed = draw(roots, collapse=1, max_nodes=max(len(drawing.nodes), 1))
        if any(isinstance(o, Group) for o in collapsed.nodes.values()) or not views:
            views.append(_View("collapsed", "one box per step", collapsed))
    else:
        c = drawing.collapse
        views.append(_View("collapsed", "one box per step" if c == 1 else f"collapsed ({c!r})", drawing))
        try:
            views.append(_View("expanded", "every op", draw(roots, collapse=None, max_nodes=limit)))
        except ValueError:
            note = f"The every-op view has more than {limit} {left_out}"
    return views, note


def _lacks_grads(d: Drawing) -> bool:
    return bool(d.edges) and all(e.grad_norm is None for e in d.edges) and any(
        t.grad is not None for t in _members(d))


def _members(d: Drawing) -> list[Tensor]:
    out: list[Tensor] = []
    for obj in d.nodes.values():
        out.extend(obj.tensors if isinstance(obj, Group) else [obj])
    return out


# ---- the embedded data ---------------------------------------------------------------------------

def _backward_root(roots: list[Tensor]) -> Tensor | None:
    """The root backward ran from: the first that requires grad and holds a gradient, else the first
    that requires grad."""
    wants = [r for r in roots if r.requires_grad]
    with_grad = [r for r in wants if r.grad is not None]
    return (with_grad or wants or [None])[0]


def _page_data(roots: list[Tensor], views: list[_View], order: Sequence[Tensor] | None) -> dict[str, Any]:
    """Tensors (forward order first), the two orders, and per view its nodes and edges with the
    forward/backward step at which each lights up."""
    if order is None:
        root = _backward_root(roots)
        order = [] if root is None else toposort(root)
    order = list(order)
    n_fwd = len(order)
    has_grads = any(t.grad is not None for t in order)
    index: dict[int, int] = {id(t): i for i, t in enumerate(order)}
    tensors = list(order)
    for v in views:  # drawn tensors outside the order (inputs, targets): given from the start
        for t in _members(v.drawing):
            if id(t) not in index:
                index[id(t)] = len(tensors)
                tensors.append(t)
    root_ids = {id(r) for r in roots}

    def fstep(i: int) -> int:
        return i + 1 if i < n_fwd else 0

    def bstep(i: int) -> int | None:
        return n_fwd - i if has_grads and i < n_fwd else None

    table = [_tensor_json(t, fstep(i), bstep(i), id(t) in root_ids, index) for i, t in enumerate(tensors)]
    for i, t in enumerate(tensors):  # a shared parameter's gradient, one term per step (page.js byStepBlock)
        if t.is_leaf and t.requires_grad and t.grad is not None:
            table[i]["bystep"] = by_step_rows(t, tensors)
    return {
        "forward": list(range(n_fwd)),
        "backward": list(range(n_fwd - 1, -1, -1)) if has_grads else [],
        "tensors": table,
        "views": [_view_json(v, index, fstep, bstep) for v in views],
        "scale": {"palette": list(PALETTE), "widths": list(WIDTHS), "decades": list(GRAD_DECADES),
                  "none": NO_GRAD_COLOR},
    }


def _view_json(v: _View, index: dict[int, int], fstep: Any, bstep: Any) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    members: dict[str, list[Tensor]] = {}
    for nid, obj in v.drawing.nodes.items():
        ts = obj.tensors if isinstance(obj, Group) else [obj]
        members[nid] = ts
        idx = [index[id(t)] for t in ts]
        fs = [fstep(i) for i in idx]
        bs = [b for b in (bstep(i) for i in idx) if b is not None]
        nodes[nid] = {"tensors": idx, "group": "/".join(obj.scope) if isinstance(obj, Group) else None,
                      "f": [min(fs), max(fs)], "b": [min(bs), max(bs)] if bs else None}
    edges = []
    for e in v.drawing.edges:
        # the edge lights with the first op in its head that reads e.tensor; its gradient is whole
        # once the last of them has sent its share back (the earliest of them in forward order)
        readers = [index[id(t)] for t in members[e.dst] if any(p is e.tensor for p in t.parents)]
        fs = [fstep(i) for i in readers] or [0]
        bs = [b for b in (bstep(i) for i in readers) if b is not None]
        norm = e.grad_norm
        b = grad_bin(norm) if norm is not None else None
        edges.append({"src": e.src, "dst": e.dst, "tensor": index.get(id(e.tensor)),
                      "param": e.tensor.is_leaf and e.tensor.requires_grad, "f": min(fs),
                      "b": max(bs) if bs else None, "norm": _num(norm) if norm is not None else None,
                      "color": PALETTE[b] if b is not None else NO_GRAD_COLOR,
                      "width": WIDTHS[b] if b is not None else 0.8})
    return {"key": v.key, "title": v.title, "nodes": nodes, "edges": edges}


def _tensor_json(t: Tensor, f: int, b: int | None, is_root: bool, index: dict[int, int]) -> dict[str, Any]:
    """f: forward step that computes t (0: given); b: backward step that completes its gradient."""
    kind = ("output" if is_root else "parameter" if t.is_leaf and t.requires_grad
            else "input" if t.is_leaf else "state" if t.name else "op")
    grad = None if t.grad is None else _array_json(t.grad)
    # parents not on the page are small folded constants: shown by value
    parents = [index[id(p)] if id(p) in index else _fmt_const(p) for p in t.parents]
    return {"name": t.name, "op": t.op, "optext": None if t.is_leaf else op_text(t, set()),
            "scope": list(t.scope), "shape": list(t.shape),
            "dtype": str(t.dtype), "kind": kind, "f": f, "b": b, "parents": parents,
            "value": _array_json(t.data) if t.has_value else None, "grad": grad,
            "gcolor": None if grad is None else PALETTE[grad_bin(float(np.linalg.norm(t.grad)))]}


def _fmt_const(p: Tensor) -> str:
    return f"{p.data.item():.4g}" if p.data.size == 1 else f"const {tuple(p.shape)}"


def _array_json(a: Any) -> dict[str, Any]:
    """Small arrays in full (as rows of the last axis); large ones as min, max, mean, norm, first few."""
    a = np.asarray(a, dtype=np.float64)
    out: dict[str, Any] = {"norm": _num(float(np.linalg.norm(a))) if a.size else 0.0}
    if a.size <= SMALL:
        out["rows"] = [[_num(x) for x in row] for row in a.reshape(-1, a.shape[-1] if a.ndim else 1).tolist()]
    else:
        flat = a.ravel()
        out.update(min=_num(float(flat.min())), max=_num(float(flat.max())), mean=_num(float(flat.mean())),
                   first=[_num(float(x)) for x in flat[:_FIRST]])
    return out


def _num(x: float) -> float | str:
    """JSON has no NaN or Infinity: those travel as the strings JavaScript's Number() reads back."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


# ---- the SVG, tagged for the script --------------------------------------------------------------

_ITEM = re.compile(r'<g id="v(\d+)-(node|edge)(\d+)" class="(?:node|edge)">\s*<title>(.*?)</title>', re.S)


def _ends(title: str) -> str:
    """'a:port->b:port' (an edge's SVG title; the renderer may add ports) -> 'a->b'."""
    return "->".join(end.split(":")[0] for end in html.unescape(title).split("->"))


def _prepare_svg(svg: str, k: int, d: Drawing) -> str:
    """Graphviz's SVG made inlineable: no XML prolog, ids prefixed per view, every node tagged with
    its DOT id (data-node) and every edge with its index in d.edges (data-edge), tooltips removed
    (the page shows its own)."""
    svg = svg[svg.index("<svg"):]
    svg = svg.replace(' id="', f' id="v{k}-')
    # edges: Graphviz numbers them in the order of the DOT edge statements, i.e. of d.edges;
    # edges with the same ends (an LSTM step hands on h and c) are told apart by that order
    pending: dict[str, list[int]] = {}
    for i, e in enumerate(d.edges):
        pending.setdefault(f"{e.src}->{e.dst}", []).append(i)
    found = sorted((int(m.group(3)), _ends(m.group(4))) for m in _ITEM.finditer(svg) if m.group(2) == "edge")
    edge_of = {n: pending[t].pop(0) for n, t in found if pending.get(t)}

    def tag(m: re.Match[str]) -> str:
        kind, n, name = m.group(2), int(m.group(3)), html.unescape(m.group(4))
        attr = ""
        if kind == "node" and name in d.nodes:
            attr = f' data-node="{html.escape(name)}"'
        elif kind == "edge" and n in edge_of:
            attr = f' data-edge="{edge_of[n]}"'
        return f'<g id="v{k}-{kind}{n}" class="{kind}"{attr}>'

    svg = _ITEM.sub(tag, svg)
    svg = re.sub(r"<title>.*?</title>\n?", "", svg, flags=re.S)
    svg = svg.replace(">|grad| ", ' class="gtext">|grad| ')  # label rows hidden until the gradient arrives
    svg = re.sub(r' xlink:title="[^"]*"', "", svg)
    return re.sub(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"',
                  r'<svg data-width="\1" data-height="\2"', svg, count=1)


# ---- the page ------------------------------------------------------------------------------------

def _default_title(data: dict[str, Any]) -> str:
    """'Forward and backward pass: lstm unrolled over 4 steps, 74 tensors' (from the scopes)."""
    fwd = data["forward"]
    if not fwd:
        return "tinygrad_rnn: the graph"
    scopes = [tuple(data["tensors"][i]["scope"]) for i in fwd]
    steps = {s[0] for s in scopes if s and s[0].startswith("t=")}
    cells = Counter(s[1] for s in scopes if len(s) > 1 and s[0] in steps)
    what = f"{cells.most_common(1)[0][0]} unrolled over {len(steps)} steps, " if cells else ""
    return f"Forward and backward pass: {what}{len(fwd)} tensors"


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script_json(data: Any) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' survive, so '</script>' cannot end the block."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


_SLOT = re.compile(r"<!--(title|css|views|data|js)-->")


def _assemble(data: dict[str, Any], svgs: list[str], title: str) -> str:
    """page.html with its slots filled in one pass (so no inserted text is read as a slot)."""
    views = "\n".join(f'<div class="view" id="view-{k}"{"" if k == 0 else " hidden"}>\n{s}</div>'
                      for k, s in enumerate(svgs))
    fill = {"title": html.escape(title), "css": _asset("page.css"), "views": views,
            "data": _script_json(data), "js": _asset("page.js")}
    return _SLOT.sub(lambda m: fill[m.group(1)], _asset("page.html"))
