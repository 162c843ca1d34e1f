"""The engine: one iterative reverse-mode pass over a topological order of the graph.

No recursion (a 100,000-op chain backprops), each node visited once, gradients of reused
tensors added (never assigned), broadcasting undone here for every op at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .context import STATE, AnomalyError, no_grad, scope_str
from .ops import Scatter
from .tensor import Tensor


def toposort(root: Tensor) -> list[Tensor]:
    """Tensors that need a gradient, each after all of its parents (depth-first, iterative)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node.__class__ is _Done:
            order.append(node.t)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append(_Done(node))
        if node._ctx is not None:
            stack.extend(p for p in node._ctx.parents if p.requires_grad and id(p) not in seen)
    return order


class _Done:
    __slots__ = ("t",)

    def __init__(self, t: Tensor) -> None:
        self.t = t


def backward(root: Tensor, grad: Any = None, keep_intermediate: bool = True) -> list[Tensor]:
    """Fill `.grad` with d(root)/d(tensor) for the graph behind root; returns the order used.

    Leaves and `retain_grad()` tensors accumulate across calls. With keep_intermediate every
    other tensor shows this pass's gradient (replaced); without it they are left None.
    """
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad (no input that made it "
                           "has requires_grad=True, or it was made under no_grad())")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be implied only for a scalar output; this one "
                               f"has shape {root.shape}: pass grad= an array of that shape")
        seed = np.ones_like(root.data)
    else:
        seed = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
        if seed.shape != root.shape:
            raise ValueError(f"backward: grad has shape {seed.shape} but the tensor has shape {root.shape}")
    order = toposort(root)
    grads: dict[int, np.ndarray] = {id(root): seed}
    owned: set[int] = set()  # buffers made here, safe to add into in place
    check = STATE.anomaly
    with no_grad():
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            ctx = node._ctx
            if ctx is None or node._retain:
                if node.grad is None:  # a leaf's grad is its own array, never a view of another's
                    node.grad = g if id(node) in owned else np.array(g)
                else:
                    node.grad = node.grad + g
            elif keep_intermediate:
                node.grad = g
            if ctx is None:
                continue
            in_grads = ctx.backward(ctx, g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if len(in_grads) != len(ctx.parents):
                raise RuntimeError(f"{ctx.op_name}: backward returned {len(in_grads)} gradients "
                                   f"for {len(ctx.parents)} inputs")
            for p, pg in zip(ctx.parents, in_grads):
                if pg is None or not p.requires_grad:
                    continue
                _accumulate(grads, owned, p, pg)
                if check and not np.isfinite(grads[id(p)]).all():
                    raise AnomalyError(
                        f"{ctx.op_name}: backward produced NaN or Inf for an input of shape "
                        f"{p.shape} [input shapes {', '.join(str(q.shape) for q in ctx.parents)}; "
                        f"scope {scope_str(node.scope)}]")
    return order


def _accumulate(grads: dict[int, np.ndarray], owned: set[int], p: Tensor, pg: Any) -> None:
    key = id(p)
    have = grads.get(key)
    if pg.__class__ is Scatter:
        if have is None or key not in owned:
            buf = np.zeros(p.shape, dtype=p.dtype) if have is None else have.astype(p.dtype, copy=True)
            grads[key] = buf
            owned.add(key)
        pg.add_into(grads[key])
        return
    pg = _unbroadcast(np.asarray(pg), p.shape)
    if pg.dtype != p.dtype:
        pg = pg.astype(p.dtype)
    if have is None:
        grads[key] = pg
    elif key in owned:
        have += pg
    else:
        grads[key] = have + pg
        owned.add(key)


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched, giving an array of `shape`."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    return g.sum(axis=axes).reshape(shape) if axes else g.reshape(shape)
