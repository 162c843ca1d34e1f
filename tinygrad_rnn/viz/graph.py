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

from ..engine.tensor import Tensor
from .layout import LayoutCost, layout_cost, step_of
from .render import Digraph

DEFAULT_MAX_NODES = 500
DEFAULT_MAX_SECONDS = 30.0  # refuse drawings whose estimated layout time is longer than this
SHARED_MODES = ("auto", "once", "per-step")

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
    "reference": dict(shape="box", style="filled,dashed", fillcolor="#fff2cc", color="#d6b656",
                      fontsize="9", height="0.2", margin="0.03,0.01"),
}
_KIND_TEXT = {
    "output": "output (what backward starts from)",
    "parameter": "parameter (learned, shared over steps)",
    "input": "input / constant",
    "state": "state / named tensor",
    "op": "op (intermediate result)",
    "group": "collapsed scope",
    "reference": "shared parameter, drawn again where a step reads it",
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
    cost: LayoutCost | None = None  # the layout cost estimated before rendering
    where: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)  # node id -> cluster path
    references: dict[str, str] = field(default_factory=dict, repr=False)  # copy's id -> parameter's id
    restyle: Any = field(default=None, repr=False, compare=False)  # (node_style, edge_style) -> Digraph
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

    def _repr_svg_(self) -> str | None:
        """Jupyter's inline picture; None (nothing shown by this method) when no renderer is found."""
        try:
            return self.svg()
        except RuntimeError:
            return None

    def _repr_html_(self) -> str | None:
        """The SVG inline in a scrolling box at its natural size (front ends prefer HTML over SVG)."""
        svg = self._repr_svg_()
        if svg is None:
            return None
        svg = svg[svg.find("<svg"):]  # the XML prolog and DOCTYPE do not belong inside HTML
        return f'<div style="max-width:100%;max-height:80vh;overflow:auto">{svg}</div>'

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


def named_tensors(roots: Tensor | Sequence[Tensor]) -> dict[Any, Tensor]:
    """The named tensors behind roots, by name (the first met in forward order wins) and, for those
    made inside a time step, also by (step scope, name): named[("t=3", "f")] is step 3's forget gate."""
    out: dict[Any, Tensor] = {}
    for t in walk(roots):
        if t.name:
            out.setdefault(t.name, t)
            step = step_of(t.scope)
            if step is not None:
                out.setdefault((f"t={step}", t.name), t)
    return out


def find(roots: Tensor | Sequence[Tensor], name: str, t: int | None = None) -> Tensor:
    """The tensor called `name` behind roots; with t, the one made in step t (scope "t=<t>")."""
    named = named_tensors(roots)
    key: Any = name if t is None else (f"t={t}", name)
    if key not in named:
        where = "" if t is None else f" at step t={t}"
        same = sorted({k[0] for k in named if isinstance(k, tuple) and k[1] == name},
                      key=lambda s: int(s[2:]))
        hint = f"; {name!r} exists at {', '.join(same)}" if same else ""
        raise KeyError(f"find: no tensor named {name!r}{where} behind roots{hint}")
    return named[key]


def _as_roots(roots: Any, fn: str) -> list[Tensor]:
    items = [roots] if isinstance(roots, Tensor) else list(roots) if isinstance(roots, Iterable) else None
    if not items or not all(isinstance(r, Tensor) for r in items):
        raise TypeError(f"{fn}: roots must be a Tensor or a non-empty list of Tensors, "
                        f"got {type(roots).__name__}")
    return items


# ---- draw ------------------------------------------------------------------------------------

def draw(roots: Tensor | Sequence[Tensor], collapse: int | str | Sequence[str] | None = None,
         grads: bool = True, values: bool = False, max_nodes: int = DEFAULT_MAX_NODES,
         params: bool = True, rankdir: str = "LR", shared: str = "auto",
         max_seconds: float = DEFAULT_MAX_SECONDS) -> Drawing:
    """Draw the graph behind roots. Scopes become nested clusters; `collapse` (a depth, or scope
    names) turns each such cluster into one node; after backward, edges are coloured by
    log10 |gradient flowing back| on a fixed scale (grads=False: plain edges). params=False
    leaves out the parameters (leaves that require grad), as the classic diagrams do.

    shared: how parameters read by many steps are drawn: "once" (one box, an edge into every step),
    "per-step" (a small reference box inside every step that reads them; the full box stays in the
    shared-parameters cluster), or "auto" (per-step when "once" would give more than
    LONG_EDGES_ONCE long edges, which make the layout slow). Refuses at once (ValueError, with
    what to change) a drawing of more than max_nodes nodes (references not counted) or whose
    estimated layout time (`Drawing.cost`) is over max_seconds."""
    roots = _as_roots(roots, "draw")
    if shared not in SHARED_MODES:
        raise ValueError(f"draw: shared must be one of {', '.join(map(repr, SHARED_MODES))}, got {shared!r}")
    keys = _collapse_rule(collapse)
    tensors = _by_level(walk(roots))
    root_ids = {id(r) for r in roots}
    folded = {id(t) for t in tensors if _is_folded(t) and id(t) not in root_ids}
    hidden = folded | ({id(t) for t in tensors if t.is_leaf and t.requires_grad and id(t) not in root_ids}
                       if not params else set())
    node_of, nodes, order = _assign(tensors, hidden, keys, root_ids)
    if len(nodes) > max_nodes:
        raise ValueError(f"draw: {len(nodes)} nodes to draw, more than max_nodes={max_nodes} (a picture "
                         f"that size is unreadable and slow to lay out); "
                         f"{_advice(tensors, hidden, keys, root_ids, collapse, max_nodes)}")

    have_grads = grads and any(t.grad is not None for t in tensors)
    # edges need what the backward pass sent along them: absent after a lean backward
    # (keep_intermediate=False), and then the edges stay plain rather than look gradient-free
    edge_grads = have_grads and any(t.parent_grads is not None for t in tensors if not t.is_leaf)
    contrib = _edge_gradients(tensors, hidden) if edge_grads else {}
    edges = _edges(tensors, node_of, hidden, contrib)
    where = _placement(nodes, edges, keys, root_ids)
    masters: dict[str, str] = {}
    cost = _cost(nodes, where, edges, {})
    if shared == "per-step" or (shared == "auto" and cost.long_edges > LONG_EDGES_ONCE):
        masters, ref_steps = _per_step_references(nodes, order, where, edges, root_ids)
        cost = _cost(nodes, where, edges, ref_steps)
    if cost.seconds > max_seconds:
        hint = ("draw the parameters beside each step (shared='per-step', on the command line "
                "--shared per-step), " if not masters and cost.long_edges else "")
        advice = _advice(tensors, hidden, keys, root_ids, collapse, max_nodes, cost, max_seconds)
        raise ValueError(f"draw: this drawing has {cost} (more than max_seconds={max_seconds:g}); {hint}"
                         f"{advice}")

    def build(node_style: dict[str, dict[str, str]] | None = None,
              edge_style: dict[int, dict[str, str]] | None = None) -> Digraph:
        return _build_dot(nodes, order, edges, where, masters, folded, root_ids, have_grads, edge_grads,
                          values, rankdir, node_style or {}, edge_style or {})
    return Drawing(roots, nodes, edges, order, build(), collapse, cost=cost, where=where,
                   references=masters, restyle=build)


LONG_EDGES_ONCE = 24  # "auto" draws parameters per step above this many long edges (~1 s of layout)


def _assign(tensors: list[Tensor], hidden: set[int], keys: Any, root_ids: set[int]
            ) -> tuple[dict[int, str], dict[str, Tensor | Group], list[str]]:
    """Node ids: a tensor's own "n<i>", or its collapsed group's "g<j>"; numbered in forward order."""
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
    return node_of, nodes, order


def _advice(tensors: list[Tensor], hidden: set[int], keys: Any, root_ids: set[int], collapse: Any,
            max_nodes: int, cost: LayoutCost | None = None, max_seconds: float = DEFAULT_MAX_SECONDS) -> str:
    """What to change so that the drawing fits: only options that do (their node counts checked;
    the step count solved from the node count, or from the cost model when it is the time)."""
    steps = {step_of(t.scope) for t in tensors} - {None}
    tips = []
    if collapse != 1 and steps:
        n1 = len(_assign(tensors, hidden, _collapse_rule(1), root_ids)[1])
        if n1 <= max_nodes:
            tips.append(f"collapse=1 (on the command line --collapse 1) draws one box per time step: "
                        f"{n1} nodes")
    n = len(_assign(tensors, hidden, keys, root_ids)[1])
    if len(steps) > 1:
        fit = len(steps) - 1
        while fit > 1 and (n * fit / len(steps) > max_nodes
                           or (cost is not None and cost.scaled(fit / len(steps)).seconds > max_seconds)):
            fit = int(fit * 0.9)
        tips.append(f"draw at most {fit} steps (--steps {fit}) at this collapse")
    tips.append("or raise max_nodes / max_seconds (--max-nodes, --max-seconds) and wait")
    return "; ".join(tips)


def _edges(tensors: list[Tensor], node_of: dict[int, str], hidden: set[int],
           contrib: dict[tuple[int, int], np.ndarray]) -> list[Edge]:
    """One edge per (drawn parent, drawn child node), carrying the sum of the gradients sent along it."""
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
    return edges


def _placement(nodes: dict[str, Tensor | Group], edges: list[Edge], keys: Any, root_ids: set[int]
               ) -> dict[str, tuple[str, ...]]:
    """The cluster path each node sits in: its scope, cut above any collapsed cluster. A leaf made
    inside a step (x_t) sits in that step; a leaf made outside (a target) sits where all its readers
    are (e.g. the step whose loss reads it); parameters and the initial state sit at the top."""
    def cut(scope: tuple[str, ...]) -> tuple[str, ...]:
        key = keys(scope)
        return scope if key is None else key[:-1]

    where: dict[str, tuple[str, ...]] = {}
    for nid, obj in nodes.items():
        if isinstance(obj, Group):
            where[nid] = obj.scope[:-1]
        elif obj.is_leaf and obj.requires_grad and id(obj) not in root_ids:
            where[nid] = ()
        else:
            where[nid] = cut(obj.scope)
    readers: dict[str, list[tuple[str, ...]]] = {}
    for e in edges:
        readers.setdefault(e.src, []).append(where[e.dst])
    for nid, obj in nodes.items():
        if isinstance(obj, Tensor) and obj.is_leaf and not obj.scope and where[nid] == () and nid in readers \
                and not obj.requires_grad and not (obj.name and _STATE_NAME.match(obj.name)):  # h_0 stays out
            where[nid] = cut(_common_prefix(readers[nid]))
    return where


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    n = min(len(p) for p in paths)
    for i in range(n):
        if any(p[i] != first[i] for p in paths):
            return first[:i]
    return first[:n]


def _node_step(obj: Tensor | Group, path: tuple[str, ...]) -> int | None:
    """The step a node belongs to: its own scope's (x_t drawn beside a collapsed step too), else its
    cluster's (a target placed with its readers); None: outside the steps (parameters, h_0)."""
    own = step_of(obj.scope)
    return own if own is not None else step_of(path)


def _cost(nodes: dict[str, Tensor | Group], where: dict[str, tuple[str, ...]], edges: list[Edge],
          fixed: dict[str, int | None]) -> LayoutCost:
    steps = {nid: fixed[nid] if nid in fixed else _node_step(obj, where[nid]) for nid, obj in nodes.items()}
    readers: dict[str, set[int | None]] = {}
    for e in edges:
        readers.setdefault(e.src, set()).add(steps[e.dst])
    for nid, obj in nodes.items():  # a target read by one collapsed step belongs to that step
        if steps[nid] is None and isinstance(obj, Tensor) and obj.is_leaf and not obj.requires_grad \
                and len(readers.get(nid, ())) == 1:
            steps[nid] = next(iter(readers[nid]))
    return layout_cost(steps, [(e.src, e.dst) for e in edges])


def _per_step_references(nodes: dict[str, Tensor | Group], order: list[str],
                         where: dict[str, tuple[str, ...]], edges: list[Edge], root_ids: set[int]
                         ) -> tuple[dict[str, str], dict[str, int | None]]:
    """Each parameter edge into a step starts instead at a small copy of the parameter placed where
    its reader is ("p<k>"); the full parameter box stays in the shared cluster without edges.
    Returns {reference id: the parameter's own node id} and {reference id: its reader's step}."""
    refs: dict[tuple[str, tuple[str, ...]], str] = {}
    steps: dict[str, int | None] = {}
    for e in edges:
        src = nodes[e.src]
        if not _is_parameter(src, root_ids):
            continue
        step = _node_step(nodes[e.dst], where[e.dst])
        if step is None:
            continue  # read outside the steps: the edge is short already
        key = (e.src, where[e.dst] if step_of(where[e.dst]) is not None else (e.dst,))
        if key not in refs:
            refs[key] = rid = f"p{len(refs)}"
            nodes[rid], where[rid], steps[rid] = src, where[e.dst], step
            order.append(rid)
        e.src = refs[key]
    return {rid: src for (src, _), rid in refs.items()}, steps

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
    """(child, parent) -> the gradient the backward pass sent from child into parent (`parent_grads`,
    kept by a pass with keep_intermediate; summed over repeated parents)."""
    out: dict[tuple[int, int], np.ndarray] = {}
    for t in tensors:
        for p, g in zip(t.parents, t.parent_grads or ()):
            if g is not None and id(p) not in hidden:
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
    ctx, op = t.ctx, t.op
    if op == "pow" and len(t.parents) == 1:
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
               where: dict[str, tuple[str, ...]], refs: dict[str, str], folded: set[int], root_ids: set[int],
               have_grads: bool, edge_grads: bool, values: bool, rankdir: str,
               node_style: dict[str, dict[str, str]], edge_style: dict[int, dict[str, str]]) -> Digraph:
    """The Digraph: nodes placed in nested clusters (`where`), then the edges, then the key.
    node_style / edge_style (by node id / edge index) override attributes: the frames of an animation."""
    dot = Digraph(
        "tinygrad_rnn",
        graph_attr=dict(rankdir=rankdir, fontname="Helvetica", fontsize="12", nodesep="0.25",
                        ranksep="0.5", newrank="true"),
        node_attr=dict(fontname="Helvetica", fontsize="11", margin="0.06,0.03", height="0.3"),
        edge_attr=dict(arrowsize="0.6", color="#555555", fontname="Helvetica", fontsize="9"))

    members: dict[tuple[str, ...], list[str]] = {}
    for nid in order:
        path = where[nid]
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
        elif nid in refs:
            kind, label = "reference", _html_label(obj.name or "param", [], bold=False)
            tip = f"{obj.name or 'parameter'}: the shared parameter again (the same tensor as every copy)"
        else:
            kind = _kind(obj, root_ids)
            label = _tensor_label(obj, kind, folded, values, have_grads)
            tip = f"{obj.name or obj.op or 'tensor'} {_fmt_shape(obj.shape)}"
        if kind not in kinds_seen:
            kinds_seen.append(kind)
        g.node(nid, label=label, tooltip=tip, **{**_KIND_STYLE[kind], **extra, **node_style.get(nid, {})})

    # clusters nest by path; emitted in order of first appearance (deterministic)
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for path in members:
        if path:
            children.setdefault(path[:-1], []).append(path)
    counter = [0]
    groups_at_top = [n for n in members.get((), []) if isinstance(nodes[n], Group)]

    def emit_cluster(g: graphviz.Digraph, path: tuple[str, ...]) -> None:
        here = members[path]
        shared = [n for n in here if not path and n not in refs and _is_parameter(nodes[n], root_ids)]
        if len(shared) and len(children.get(path, [])) + len(groups_at_top) > 1:
            with g.subgraph(name="cluster_parameters") as c:  # drawn once, used by every step
                c.attr(label="shared parameters", style="rounded,dashed", color="#d6b656", fontsize="11")
                for nid in shared:
                    emit_node(c, nid)
            here = [n for n in here if n not in shared]
        # inside a step, the leaves (x_t, a target) come after the sub-clusters: dot keeps the order
        # in which clusters are emitted (see _GATE_ORDER), and a leaf first would shift it
        late = [n for n in here if path and isinstance(nodes[n], Tensor) and nodes[n].is_leaf]
        for nid in here:
            if nid not in late:
                emit_node(g, nid)
        subs = children.get(path, [])
        for sub in sorted(subs, key=lambda q: _GATE_ORDER.get(q[-1], len(_GATE_ORDER))):
            counter[0] += 1
            with g.subgraph(name=f"cluster_{counter[0]}") as c:
                c.attr(label=sub[-1], tooltip="/".join(sub), **_cluster_style(sub))
                emit_cluster(c, sub)
        for nid in late:
            emit_node(g, nid)

    emit_cluster(dot, ())

    for i, e in enumerate(edges):
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
        if e.src in refs:
            pass  # a parameter's copy beside its step: its edge may pull (weight 0 made dot 10x slower)
        elif _is_parameter(src_obj, root_ids):
            attrs["weight"] = "0"  # shared parameters must not pull the steps out of time order
        elif into_box and isinstance(src_obj, Tensor) and _kind(src_obj, root_ids) == "input":
            attrs["headport"] = "s"  # inputs come in from below
        elif e.tensor.name and _STATE_NAME.match(e.tensor.name):
            attrs["weight"] = "6"  # the state passed on through time: keep it short and straight
        attrs.update(edge_style.get(i, {}))
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
    for k in ("output", "state", "parameter", "reference", "input", "op", "group"):
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
