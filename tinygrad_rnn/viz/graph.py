"""The graph behind some tensors as a Graphviz picture: scopes as nested clusters, collapse,
gradient colouring.

Nodes are tensors (an unnamed intermediate shows its op; a named one, its name); small unnamed
constants are folded into the label of the op that uses them. Edges point forward (parent ->
child) and, after a backward pass, carry the gradient that flows back along them:
the vector-Jacobian product of the child's gradient with respect to that parent.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from ..engine.autograd import _unbroadcast
from ..engine.context import no_grad
from ..engine.ops import Scatter
from ..engine.tensor import Tensor

DEFAULT_MAX_NODES = 500

# ---- the fixed gradient colour scale: one bin per decade of |gradient| ----------------------
GRAD_DECADES = (0, -1, -2, -3, -4, -5, -6)  # bin lower edges: |g| >= 10**d; below the last: faint
PALETTE = ("#67000d", "#cb181d", "#f16913", "#fd8d3c", "#fdae6b", "#fdd0a2", "#fee6ce", "#e0e0e0")
WIDTHS = (3.2, 2.8, 2.4, 2.0, 1.7, 1.4, 1.1, 0.8)
NO_GRAD_COLOR = "#9e9e9e"

_KIND_STYLE = {
    "output": dict(shape="box", style="rounded,filled,bold", fillcolor="#f8cecc", color="#b85450"),
    "parameter": dict(shape="box", style="filled", fillcolor="#fff2cc", color="#d6b656"),
    "input": dict(shape="box", style="filled", fillcolor="#dae8fc", color="#6c8ebf"),
    "state": dict(shape="box", style="rounded,filled", fillcolor="#d5e8d4", color="#82b366"),
    "op": dict(shape="ellipse", style="filled", fillcolor="white", color="#666666"),
    "group": dict(shape="box", style="rounded,filled,bold", fillcolor="#eeeeee", color="#444444"),
}
_KIND_TEXT = {
    "output": "output (what backward starts from)",
    "parameter": "parameter (learned, shared over steps)",
    "input": "input / constant",
    "state": "state / named tensor",
    "op": "op (intermediate result)",
    "group": "collapsed scope",
}
_GATE_FILL = {"forget gate": "#fde0dd", "input gate": "#e5f5e0", "candidate": "#fff7bc",
              "output gate": "#deebf7", "cell state": "#efedf5", "reset gate": "#fde0dd",
              "update gate": "#e5f5e0"}
# Emitting the LSTM's gate clusters in this order makes dot stack them top to bottom as in the
# usual walkthrough: forget, input, candidate, output (checked for H = 2..5, T = 1..2); other
# scopes keep their order of appearance, after these.
_GATE_ORDER = {name: i for i, name in enumerate(
    ("candidate", "output gate", "input gate", "forget gate", "cell state"))}
_OP_SYMBOL = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "matmul": "@", "neg": "−(·)"}
_STATE_NAME = re.compile(r"^[hcs](_\w+)?$")
_SMALL = 16  # values=True prints arrays of at most this many elements


@dataclass
class Group:
    """A collapsed scope drawn as one node: the non-leaf tensors made inside it."""

    scope: tuple[str, ...]
    tensors: list[Tensor] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "/".join(self.scope)


@dataclass
class Edge:
    """src -> dst carries `tensor` forward; `grad` is the gradient flowing back along it (the
    consumers' vector-Jacobian products, in the tensor's shape; None: none), `grad_norm` its norm."""

    src: str
    dst: str
    tensor: Tensor
    grad_norm: float | None
    grad: np.ndarray | None = None


@dataclass
class Drawing:
    """A drawn graph. `nodes` maps DOT node ids to a Tensor or a collapsed Group; `order` lists the
    node ids in forward (topological) order; `edges` in the same order of their heads."""

    roots: list[Tensor]
    nodes: dict[str, Tensor | Group]
    edges: list[Edge]
    order: list[str]
    graphviz: graphviz.Digraph
    collapse: Any = None
    _rendered: dict[tuple[str, str], bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def source(self) -> str:
        """The DOT text."""
        return self.graphviz.source

    def render(self, fmt: str = "svg") -> bytes:
        """The picture in `fmt` (svg, png, pdf) from the Graphviz renderer found on this machine."""
        from .render import render
        key = (fmt, self.source)  # the Digraph may have been customised since the last render
        if key not in self._rendered:
            self._rendered[key] = render(self.source, fmt)
        return self._rendered[key]

    def svg(self) -> str:
        """The rendered SVG text."""
        return self.render("svg").decode("utf-8")

    def save(self, path: str | Path) -> Path:
        """Write by extension: .dot, .svg, .png, .pdf, .html; atomically (no half-written file)."""
        from .render import write_atomic
        path = Path(path)
        ext = path.suffix.lower().lstrip(".")
        if ext in ("dot", "gv"):
            write_atomic(path, self.source.encode("utf-8"))
        elif ext in ("svg", "png", "pdf"):
            write_atomic(path, self.render(ext))
        elif ext in ("html", "htm"):
            try:
                from .html import write_html
            except ImportError:
                raise NotImplementedError("Drawing.save: .html output (the interactive page) is not "
                                          "available in this version; save .svg, .png or .dot") from None
            write_html(self, path)
        else:
            raise ValueError(f"Drawing.save: unknown extension {path.suffix!r} in {str(path)!r}; "
                             "use .dot, .svg, .png, .pdf or .html")
        return path

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        try:
            return {"image/svg+xml": self.svg()}
        except RuntimeError as e:  # no renderer: still show something useful
            return {"text/plain": f"{self!r}\n({e})"}

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return (f"Drawing({len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"collapse={self.collapse!r})")


# ---- walking the graph -----------------------------------------------------------------------

def walk(roots: Tensor | Sequence[Tensor]) -> list[Tensor]:
    """Every tensor behind roots (constants included), parents before children; iterative DFS."""
    roots = _as_roots(roots, "walk")
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        stack.extend((p, False) for p in reversed(t.parents) if id(p) not in seen)
    return order


def named_tensors(roots: Tensor | Sequence[Tensor]) -> dict[str, Tensor]:
    """The named tensors behind roots, by name (the first met in forward order wins)."""
    out: dict[str, Tensor] = {}
    for t in walk(roots):
        if t.name and t.name not in out:
            out[t.name] = t
    return out


def _as_roots(roots: Any, fn: str) -> list[Tensor]:
    items = [roots] if isinstance(roots, Tensor) else list(roots) if isinstance(roots, Iterable) else None
    if not items or not all(isinstance(r, Tensor) for r in items):
        raise TypeError(f"{fn}: roots must be a Tensor or a non-empty list of Tensors, "
                        f"got {type(roots).__name__}")
    return items


# ---- draw ------------------------------------------------------------------------------------

def draw(roots: Tensor | Sequence[Tensor], collapse: int | str | Sequence[str] | None = None,
         grads: bool = True, values: bool = False, max_nodes: int = DEFAULT_MAX_NODES,
         params: bool = True, rankdir: str = "LR") -> Drawing:
    """Draw the graph behind roots. Scopes become nested clusters; `collapse` (a depth, or scope
    names) turns each such cluster into one node; after backward, edges are coloured by
    log10 |gradient flowing back| on a fixed scale (grads=False: plain edges). params=False
    leaves out the parameters (leaves that require grad), as the classic diagrams do."""
    roots = _as_roots(roots, "draw")
    keys = _collapse_rule(collapse)
    tensors = _by_level(walk(roots))
    root_ids = {id(r) for r in roots}
    folded = {id(t) for t in tensors if _is_folded(t) and id(t) not in root_ids}
    hidden = folded | ({id(t) for t in tensors if t.is_leaf and t.requires_grad and id(t) not in root_ids}
                       if not params else set())

    # node ids: a tensor's own "n<i>", or its collapsed group's "g<j>"; numbered in forward order
    node_of: dict[int, str] = {}
    nodes: dict[str, Tensor | Group] = {}
    order: list[str] = []
    groups: dict[tuple[str, ...], str] = {}
    for t in tensors:
        if id(t) in hidden:
            continue
        key = None if t.is_leaf or id(t) in root_ids else keys(t.scope)
        if key is None:
            nid = f"n{len(node_of)}"
            nodes[nid] = t
            order.append(nid)
        elif key in groups:
            nid = groups[key]
            nodes[nid].tensors.append(t)  # type: ignore[union-attr]
        else:
            nid = groups[key] = f"g{len(groups)}"
            nodes[nid] = Group(key, [t])
            order.append(nid)
        node_of[id(t)] = nid
    if len(nodes) > max_nodes:
        if collapse is None:
            hint = ("pass collapse=1 to draw one box per time step (collapse=2 keeps the cells' "
                    "insides one level deeper, collapse=['lstm'] collapses scopes by name), ")
        elif isinstance(collapse, int) and collapse > 1:
            hint = f"pass a smaller collapse= depth than {collapse}, "
        else:
            hint = ""
        raise ValueError(f"draw: {len(nodes)} nodes to draw, more than max_nodes={max_nodes} (a picture "
                         f"that size is unreadable and slow to lay out); {hint}draw fewer steps, "
                         "or raise max_nodes")

    have_grads = grads and any(t.grad is not None for t in tensors)
    # edges need the gradients of the ops' outputs: absent after a lean backward
    # (keep_intermediate=False), and then the edges stay plain rather than look gradient-free
    edge_grads = have_grads and any(t.grad is not None for t in tensors if not t.is_leaf)
    contrib = _edge_gradients(tensors, hidden) if edge_grads else {}
    edges: list[Edge] = []
    index: dict[tuple[str, str, int], int] = {}
    sums: list[Any] = []
    for t in tensors:
        if id(t) not in node_of:
            continue
        dst = node_of[id(t)]
        for p in dict.fromkeys(t.parents):  # each distinct parent once, in order
            if id(p) in hidden or node_of[id(p)] == dst:
                continue
            key = (node_of[id(p)], dst, id(p))
            g = contrib.get((id(t), id(p)))
            if key not in index:
                index[key] = len(edges)
                edges.append(Edge(key[0], dst, p, None))
                sums.append(g)
            elif g is not None:
                i = index[key]
                sums[i] = g if sums[i] is None else sums[i] + g
    for e, g in zip(edges, sums):
        e.grad, e.grad_norm = g, None if g is None else float(np.linalg.norm(g))

    dot = _build_dot(nodes, order, edges, folded, root_ids, keys, have_grads, edge_grads, values,
                     rankdir)
    return Drawing(roots, nodes, edges, order, dot, collapse)


def _by_level(order: list[Tensor]) -> list[Tensor]:
    """The same tensors, still parents first, sorted by their longest distance to the roots
    (farthest first): what step t=1 computes comes before what t=2 computes."""
    dist: dict[int, int] = {}
    for t in reversed(order):  # every consumer of t comes later in `order`
        d = dist.setdefault(id(t), 0)
        for p in t.parents:
            if dist.get(id(p), -1) < d + 1:
                dist[id(p)] = d + 1
    return sorted(order, key=lambda t: -dist[id(t)])


def _collapse_rule(collapse: Any):
    """scope path -> the key of the collapsed cluster that contains it, or None."""
    if collapse is None:
        return lambda scope: None
    if isinstance(collapse, bool) or not isinstance(collapse, (int, str, list, tuple, set, frozenset)):
        raise TypeError(f"draw: collapse must be None, a depth (int >= 1) or scope names, "
                        f"got {collapse!r}")
    if isinstance(collapse, int):
        if collapse < 1:
            raise ValueError(f"draw: collapse depth must be >= 1 (1 = one box per time step), "
                             f"got {collapse}; use collapse=None to draw every op")
        return lambda scope: scope[:collapse] if len(scope) >= collapse else None
    names = {collapse} if isinstance(collapse, str) else set(collapse)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"draw: collapse names must be strings, got {collapse!r}")

    def by_name(scope: tuple[str, ...]) -> tuple[str, ...] | None:
        for i, s in enumerate(scope):
            if s in names:
                return scope[:i + 1]
        return None
    return by_name


def _is_folded(t: Tensor) -> bool:
    """Small unnamed constants are printed inside their op's label instead of drawn."""
    return t.is_leaf and not t.requires_grad and t.name is None and t.data.size <= 1


def _edge_gradients(tensors: list[Tensor], hidden: set[int]) -> dict[tuple[int, int], np.ndarray]:
    """(child, parent) -> the gradient flowing from child back into parent: the child's own
    vector-Jacobian product, recomputed from its recorded op (sums over repeated parents)."""
    out: dict[tuple[int, int], np.ndarray] = {}
    with no_grad():
        for t in tensors:
            ctx = t._ctx
            if ctx is None or t.grad is None:
                continue
            in_grads = ctx.backward(ctx, t.grad)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for p, g in zip(ctx.parents, in_grads):
                if g is None or not p.requires_grad or id(p) in hidden:
                    continue
                if isinstance(g, Scatter):
                    buf = np.zeros(p.shape, dtype=p.dtype)
                    g.add_into(buf)
                    g = buf
                else:
                    g = _unbroadcast(np.asarray(g), p.shape)
                key = (id(t), id(p))
                out[key] = g if key not in out else out[key] + g
    return out


# ---- labels and styles -------------------------------------------------------------------------

def grad_bin(norm: float) -> int:
    """Index into the fixed colour scale: 0 for |g| >= 1, one bin per decade, last for < 1e-6."""
    if norm <= 0 or not math.isfinite(norm):
        return len(PALETTE) - 1 if norm == 0 else 0
    d = math.floor(math.log10(norm))
    for i, lo in enumerate(GRAD_DECADES):
        if d >= lo:
            return i
    return len(PALETTE) - 1


def _kind(t: Tensor, root_ids: set[int]) -> str:
    if id(t) in root_ids:
        return "output"
    if t.name and _STATE_NAME.match(t.name):
        return "state"
    if t.is_leaf:
        return "parameter" if t.requires_grad else "input"
    return "state" if t.name else "op"


def _is_parameter(obj: Tensor | Group, root_ids: set[int]) -> bool:
    return isinstance(obj, Tensor) and _kind(obj, root_ids) == "parameter"


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def _fmt_num(x: float) -> str:
    return f"{x:.2g}" if x != 0 and (abs(x) < 1e-2 or abs(x) >= 1e3) else f"{x:.3g}"


def _fmt_index(index: Any) -> str:
    parts = index if isinstance(index, tuple) else (index,)

    def one(p: Any) -> str:
        if isinstance(p, slice):
            s = ("" if p.start is None else str(p.start)) + ":" + ("" if p.stop is None else str(p.stop))
            return s + (f":{p.step}" if p.step is not None else "")
        if p is None:
            return "None"
        if p is Ellipsis:
            return "..."
        return str(int(p)) if np.ndim(p) == 0 else "idx"
    return "[" + ", ".join(one(p) for p in parts) + "]"


def op_text(t: Tensor, folded: set[int]) -> str:
    """The op with its folded constants: '1 − ·', '× 0.5', 'tanh', 'x ** 2', '[:, 0:3]'."""
    ctx, op = t._ctx, t.op
    if op == "pow":
        return f"x ** {_fmt_num(ctx.p)}"
    if op == "getitem":
        return "x" + _fmt_index(ctx.index)
    if op in ("sum", "mean", "max") and getattr(ctx, "axis", None) is not None:
        return f"{op}(axis={ctx.axis[0] if len(ctx.axis) == 1 else ctx.axis})"
    if op in _OP_SYMBOL and len(t.parents) == 2:
        args = [_fmt_num(p.data.item()) if id(p) in folded else "·" for p in t.parents]
        return f"{args[0]} {_OP_SYMBOL[op]} {args[1]}"
    return _OP_SYMBOL.get(op, op)


def _values_rows(t: Tensor) -> list[str]:
    small = t.data.size <= _SMALL  # a stand-in's placeholder has the tensor's size
    if not t.has_value:
        rows = ["value not kept (lean)"]
    else:
        rows = [_array_row("data", t.data)] if small else []
    if small and t.grad is not None:
        rows.append(_array_row("grad", t.grad))
    return rows


def _array_row(label: str, a: np.ndarray) -> str:
    return f"{label} " + np.array2string(np.asarray(a), precision=3, separator=" ", suppress_small=True)


def _html_label(title: str, rows: Sequence[str], bold: bool = True) -> str:
    """An HTML-like Graphviz label: the title, then smaller grey rows (all text escaped)."""
    head = f"<b>{html.escape(title)}</b>" if bold else html.escape(title)
    body = "".join(f'<br/><font point-size="9" color="#444444">{html.escape(r)}</font>' for r in rows)
    return f"<{head}{body}>"


def _tensor_label(t: Tensor, kind: str, folded: set[int], values: bool, show_grad: bool) -> str:
    rows: list[str] = []
    if kind == "op":
        title, bold = op_text(t, folded), False
        rows.append(_fmt_shape(t.shape))
    else:
        title, bold = t.name or ("output" if kind == "output" else "const"), True
        rows.append(_fmt_shape(t.shape) if t.is_leaf else f"{op_text(t, folded)}  {_fmt_shape(t.shape)}")
    if show_grad and t.grad is not None:
        rows.append(f"|grad| {_fmt_num(float(np.linalg.norm(t.grad)))}")
    if values:
        rows.extend(_values_rows(t))
    return _html_label(title, rows, bold)


def _group_label(g: Group) -> str:
    inner = sorted({s[len(g.scope)] for s in (t.scope for t in g.tensors) if len(s) > len(g.scope)})
    rows = [", ".join(inner)] if inner else []
    rows.append(f"{len(g.tensors)} ops")
    return _html_label(g.label, rows)


def _build_dot(nodes: dict[str, Tensor | Group], order: list[str], edges: list[Edge],
               folded: set[int], root_ids: set[int], keys: Any, have_grads: bool, edge_grads: bool,
               values: bool, rankdir: str) -> graphviz.Digraph:
    """The Digraph: nodes placed in nested clusters by scope, then the edges, then the key."""
    dot = graphviz.Digraph(
        "tinygrad_rnn",
        graph_attr=dict(rankdir=rankdir, fontname="Helvetica", fontsize="12", nodesep="0.25",
                        ranksep="0.5", newrank="true"),
        node_attr=dict(fontname="Helvetica", fontsize="11", margin="0.06,0.03", height="0.3"),
        edge_attr=dict(arrowsize="0.6", color="#555555", fontname="Helvetica", fontsize="9"))

    # where each node sits: the cluster path of its scope, cut above any collapsed cluster
    def place(nid: str) -> tuple[str, ...]:
        obj = nodes[nid]
        if isinstance(obj, Group):
            return obj.scope[:-1]
        if obj.is_leaf:  # inputs sit outside the step boxes (so the boxes can line up in time)
            return ()
        key = keys(obj.scope)
        return obj.scope if key is None else key[:-1]

    members: dict[tuple[str, ...], list[str]] = {}
    for nid in order:
        path = place(nid)
        for n in range(len(path) + 1):
            members.setdefault(path[:n], [])
        members[path].append(nid)

    kinds_seen: list[str] = []

    def emit_node(g: graphviz.Digraph, nid: str) -> None:
        obj = nodes[nid]
        extra = {}
        if isinstance(obj, Group):
            kind, label, tip = "group", _group_label(obj), obj.label
            extra["group"] = f"depth{len(obj.scope)}"  # same group: keep the steps in a straight row
        else:
            kind = _kind(obj, root_ids)
            label = _tensor_label(obj, kind, folded, values, have_grads)
            tip = f"{obj.name or obj.op or 'tensor'} {_fmt_shape(obj.shape)}"
        if kind not in kinds_seen:
            kinds_seen.append(kind)
        g.node(nid, label=label, tooltip=tip, **_KIND_STYLE[kind], **extra)

    # clusters nest by path; emitted in order of first appearance (deterministic)
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for path in members:
        if path:
            children.setdefault(path[:-1], []).append(path)
    counter = [0]
    groups_at_top = [n for n in members.get((), []) if isinstance(nodes[n], Group)]

    def emit_cluster(g: graphviz.Digraph, path: tuple[str, ...]) -> None:
        here = members[path]
        shared = [n for n in here if not path and _is_parameter(nodes[n], root_ids)]
        if len(shared) and len(children.get(path, [])) + len(groups_at_top) > 1:
            with g.subgraph(name="cluster_parameters") as c:  # drawn once, used by every step
                c.attr(label="shared parameters", style="rounded,dashed", color="#d6b656", fontsize="11")
                for nid in shared:
                    emit_node(c, nid)
            here = [n for n in here if n not in shared]
        for nid in here:
            emit_node(g, nid)
        subs = children.get(path, [])
        for sub in sorted(subs, key=lambda q: _GATE_ORDER.get(q[-1], len(_GATE_ORDER))):
            counter[0] += 1
            with g.subgraph(name=f"cluster_{counter[0]}") as c:
                c.attr(label=sub[-1], tooltip="/".join(sub), **_cluster_style(sub))
                emit_cluster(c, sub)

    emit_cluster(dot, ())

    for e in edges:
        attrs: dict[str, str] = {}
        src_obj = nodes[e.src]
        if isinstance(src_obj, Group) and e.tensor.name:
            attrs["label"] = e.tensor.name
        if edge_grads:
            if e.grad_norm is None:
                attrs.update(color=NO_GRAD_COLOR, style="dashed", penwidth="0.8",
                             tooltip="no gradient flows here")
            else:
                b = grad_bin(e.grad_norm)
                attrs.update(color=PALETTE[b], penwidth=str(WIDTHS[b]),
                             tooltip=f"|grad| = {e.grad_norm:.3g}")
        into_box = isinstance(nodes[e.dst], Group)
        if _is_parameter(nodes[e.src], root_ids):
            attrs["weight"] = "0"  # shared parameters must not pull the steps out of time order
        elif into_box and nodes[e.src].__class__ is Tensor and _kind(nodes[e.src], root_ids) == "input":
            attrs["headport"] = "s"  # inputs come in from below
        elif e.tensor.name and _STATE_NAME.match(e.tensor.name):
            attrs["weight"] = "6"  # the state passed on through time: keep it short and straight
        dot.edge(e.src, e.dst, **attrs)

    _legend(dot, kinds_seen, edge_grads)
    return dot


def _cluster_style(path: tuple[str, ...]) -> dict[str, str]:
    depth, name = len(path), path[-1]
    if name in _GATE_FILL:
        return dict(style="rounded,filled", fillcolor=_GATE_FILL[name], color="#bbbbbb", fontsize="11")
    if depth == 1:
        return dict(style="rounded", color="#777777", fontsize="14", penwidth="1.4")
    return dict(style="rounded,dashed", color="#999999", fontsize="12")


def _legend(dot: graphviz.Digraph, kinds: list[str], have_grads: bool) -> None:
    """The key, as the graph's label under the drawing (it takes no part in the layout)."""
    cells = []
    for k in ("output", "state", "parameter", "input", "op", "group"):
        if k in kinds:
            cells.append(f'<td bgcolor="{_KIND_STYLE[k]["fillcolor"]}" border="1" width="14"> </td>'
                         f'<td align="left">{html.escape(_KIND_TEXT[k])}  </td>')
    rows = ["<tr>" + "".join(cells) + "</tr>"]
    if have_grads:
        labels = ["≥ 1"] + [f"1e{d}" for d in GRAD_DECADES[1:]] + [f"&lt; 1e{GRAD_DECADES[-1]}"]
        swatches = "".join(f'<td bgcolor="{c}" width="14"> </td><td align="left">{t} </td>'
                           for c, t in zip(PALETTE, labels))
        rows.append(f'<tr><td colspan="{2 * len(PALETTE) + 2}" align="left">'
                    '<table border="0" cellborder="0" cellspacing="1" cellpadding="1"><tr>'
                    '<td align="left"><b>edge colour: |gradient| flowing back along it </b></td>'
                    f'{swatches}<td bgcolor="{NO_GRAD_COLOR}" width="14"> </td>'
                    '<td align="left">none needed</td></tr></table></td></tr>')
    dot.attr(label='<<table border="0" cellborder="0" cellspacing="2" cellpadding="1">'
             + "".join(rows) + "</table>>", labelloc="b", labeljust="l", fontsize="10")
