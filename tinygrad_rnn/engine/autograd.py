"""The engine: one iterative reverse-mode pass over a topological order of the graph.

No recursion (a 100,000-op chain backprops), each node visited once, gradients of reused
tensors added (never assigned), broadcasting undone here for every op at once.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any
from weakref import ref

import numpy as np

from ..speed import memory
from .context import STATE, AnomalyError, gc_paused, scope_str
from .ops import Scatter
from .tensor import Tensor


def toposort(root: Tensor) -> list[Tensor]:
    """Tensors that need a gradient, each after all of its parents: the ones behind root, in the
    order they were made (a tensor is always made after its parents)."""
    seen = {root}  # tensors hash by identity
    stack = [root]
    while stack:
        ctx = stack.pop()._ctx
        if ctx is not None:
            for p in ctx.parents:
                if p.requires_grad and p not in seen:
                    seen.add(p)
                    stack.append(p)
    return sorted(seen, key=_made)


_made = attrgetter("_seq")


def backward(root: Tensor, grad: Any = None, keep_intermediate: bool = True) -> list[Tensor]:
    """Fill `.grad` with d(root)/d(tensor) for the graph behind root; returns the order used.

    Leaves and `retain_grad()` tensors accumulate across calls. With keep_intermediate every
    other tensor shows this pass's gradient (replaced); without it their `.grad` is None.
    """
    seed = _seed(root, grad)
    memory.on_first_backward()  # from the second pass on, the graph's memory is reused, not faulted in
    with gc_paused():  # the graph has no cycles; collections here would only rescan it
        return _backward(root, seed, keep_intermediate)


def _backward(root: Tensor, seed: np.ndarray, keep_intermediate: bool) -> list[Tensor]:
    order = toposort(root)
    grads: dict[Tensor, Any] = {root: seed}  # gradients still on their way to a node
    owned: set[Tensor] = set()  # tensors whose pending buffer was made here: safe to add into in place
    check = STATE.anomaly
    was_enabled = STATE.grad_enabled
    STATE.grad_enabled = False  # a backward rule that uses Tensors records nothing
    try:
        for node in reversed(order):
            g = grads.pop(node, None)
            ctx = node._ctx
            if node._node.__class__ is ref:  # a lean graph's stand-in
                _stand_in_grad(node, g, keep_intermediate, owned)
            elif ctx is None or node._retain:  # leaves and retained tensors accumulate across calls
                if g is not None:
                    node.grad = _accumulated(node.grad, g, node, owned)
                if ctx is None:
                    continue
            else:
                node.grad = g if keep_intermediate else None
            if g is None:
                continue
            in_grads = ctx.backward(ctx, g)  # one per input, in the broadcast shape (or None)
            if in_grads.__class__ is not tuple:
                in_grads = (in_grads,)
            parents = ctx.parents
            fresh = ctx.fresh_grads
            if len(in_grads) != len(parents):
                raise RuntimeError(f"{ctx.op_name}: backward returned {len(in_grads)} gradients "
                                   f"for {len(parents)} inputs; return one per input (None for none)")
            for p, pg in zip(parents, in_grads):
                if pg is None or not p.requires_grad:
                    continue
                if pg.__class__ is Scatter:
                    _scatter_into(grads, owned, p, pg)
                else:
                    if pg.__class__ is not np.ndarray or pg.shape != p.data.shape or pg.dtype != p.data.dtype:
                        pg = _conform(pg, p, ctx.op_name)  # un-broadcast, cast: the rare path
                    have = grads.get(p)
                    if have is not None and p in owned:
                        have += pg
                    elif fresh and pg is not g and pg.base is None:  # new and nobody else's: adopt it
                        if have is not None:
                            pg += have
                        grads[p] = pg
                        owned.add(p)
                    elif have is None:
                        grads[p] = pg  # it may be shared: never written into
                    else:
                        grads[p] = _own_sum(have, pg)  # a fresh buffer: ours to add into from now on
                        owned.add(p)
                if check and not np.isfinite(grads[p]).all():
                    raise AnomalyError(
                        f"{ctx.op_name}: backward produced NaN or Inf for an input of shape "
                        f"{p.shape} [input shapes {', '.join(str(q.shape) for q in parents)}; "
                        f"scope {scope_str(node.scope)}]")
            # drop the references to this node's gradients (each was adopted or added in): freed
            # now, their memory is reused, still in cache, by the next node's backward
            in_grads = pg = have = None
    finally:
        STATE.grad_enabled = was_enabled
    return order


def _accumulated(have: np.ndarray | None, g: np.ndarray, node: Tensor, owned: set[Tensor]) -> np.ndarray:
    """have + g for a tensor that accumulates across calls; g itself when this pass made it."""
    return g if have is None and node in owned else _own_sum(have, g)


def _stand_in_grad(node: Tensor, g: np.ndarray | None, keep: bool, owned: set[Tensor]) -> None:
    """A stand-in's gradient, set as any node's and shown on its tensor while anyone holds that;
    a retained one accumulates from what the tensor shows (the user may have reset it)."""
    t = node._node()
    if node._retain:
        have = node.grad if t is None else t.grad
        node.grad = have if g is None else _accumulated(have, g, node, owned)
    else:
        node.grad = g if keep else None
    if t is not None:
        t.grad = node.grad


def _seed(root: Tensor, grad: Any) -> np.ndarray:
    """The gradient that starts the pass: ones for a scalar root, else the given one."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad (no input that made it "
                           "has requires_grad=True, or it was made under no_grad())")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be implied only for a scalar output; this one "
                               f"has shape {root.shape}: pass grad= an array of that shape")
        seed = np.empty(root.shape, root.dtype)
        seed.fill(1)  # np.ones is several times slower for tiny arrays
        return seed
    seed = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
    if seed.shape != root.shape:
        raise ValueError(f"backward: grad has shape {seed.shape} but the tensor has shape "
                         f"{root.shape}; pass a grad of the tensor's shape")
    return seed


def _own_sum(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    """a + b as a new array (a copy of b if a is None); numpy would give a scalar for 0-d."""
    s = np.array(b) if a is None else a + b
    return s if s.__class__ is np.ndarray else np.array(s)


def _scatter_into(grads: dict[Tensor, Any], owned: set[Tensor], p: Tensor, pg: Scatter) -> None:
    """Add a sparse gradient into p's pending buffer, making the buffer ours first."""
    if p not in owned:
        have = grads.get(p)
        grads[p] = np.zeros(p.shape, p.dtype) if have is None else have.astype(p.dtype, copy=True)
        owned.add(p)
    pg.add_into(grads[p])


def _conform(g: Any, p: Tensor, op: str) -> np.ndarray:
    """g as an array of p's shape and dtype: summed over broadcast axes, then cast."""
    g = np.asarray(g)
    if g.shape != p.shape:
        g = _unbroadcast(g, p.shape, op)
    if g.dtype != p.dtype:
        g = g.astype(p.dtype)
    return g if g.__class__ is np.ndarray else np.array(g)  # a 0-d sum is a numpy scalar: make it an array


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...], op: str = "backward") -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched, giving an array of `shape`."""
    lead = g.ndim - len(shape)
    axes = list(range(lead))
    for i, n in enumerate(shape):
        if lead < 0 or (n != g.shape[lead + i] and n != 1):
            raise RuntimeError(f"{op}: backward returned a gradient of shape {g.shape} for an input "
                               f"of shape {shape}; return one that broadcasts from the input's shape")
        if n != g.shape[lead + i]:
            axes.append(lead + i)
    return g.sum(axis=tuple(axes)).reshape(shape) if axes else g
