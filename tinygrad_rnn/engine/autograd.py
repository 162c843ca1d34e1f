"""The backward pass: one walk over a topological order, each op's vector-Jacobian products added
into its inputs' gradients. No recursion, so a 100,000-op chain backprops."""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import Lazy, unbroadcast
from .context import STATE, AnomalyError, describe, no_grad
from .tensor import Tensor


def toposort(root: Tensor) -> list[Tensor]:
    """The tensors behind root that need a gradient, each after all of its parents (iterative DFS)."""
    order, done, stack = [], set(), [(root, False)]
    while stack:
        t, parents_done = stack.pop()
        if parents_done:
            order.append(t)  # every parent is in order already
        elif t not in done:
            done.add(t)
            stack.append((t, True))
            if t.ctx is not None:
                stack += [(p, False) for p in t.ctx.parents if p.requires_grad and p not in done]
    return order


def backward(root: Tensor, grad: Any = None, keep_intermediate: bool = True) -> list[Tensor]:
    """Fill `.grad` with d(root)/d(tensor) behind root. Leaves and `retain_grad()` tensors accumulate;
    with keep_intermediate the others show this pass's gradient and each op keeps what it sent to each
    input (`Tensor.parent_grads`); without it (lean) they keep nothing. Returns the order used."""
    firsts: dict[Tensor, Any] = {root: _seed(root, grad)}  # gradients on their way: see _collect
    sums: dict[Tensor, np.ndarray] = {}
    order = toposort(root)
    with no_grad():  # a backward rule that uses Tensors records nothing
        for t in reversed(order):  # every tensor before its parents
            g, ctx = sums.pop(t) if t in sums else firsts.pop(t, None), t.ctx
            if ctx is None or t.retains_grad:  # leaves and retained tensors accumulate, in their own arrays
                t.grad = t.grad if g is None else np.array(g) if t.grad is None else t.grad + g
            else:
                t.grad = g if keep_intermediate else None
            if ctx is None or g is None:  # a leaf, or an op nothing flowed through in this pass
                if ctx is not None:
                    ctx._sent = None
                continue
            ctx._check_saved(t.scope)
            vjps = ctx.backward(ctx, g)  # one per input, in the broadcast shape
            vjps = vjps if isinstance(vjps, tuple) else (vjps,)
            if len(vjps) != len(ctx.parents):
                raise RuntimeError(f"{t.op}: backward returned {len(vjps)} gradients for {len(ctx.parents)} "
                                   "inputs; return one per input (None for none)")
            sent = [_collect(p, _fit(pg, p, t), firsts, sums) for p, pg in zip(ctx.parents, vjps)]
            ctx._sent = sent if keep_intermediate else None
    return order


def _collect(p: Tensor, g: Any, firsts: dict, sums: dict) -> Any:
    """Add g to p's gradient: a first term as its op returned it (maybe shared, never written into); the
    second summed with it into a new array of our own, which later terms are added into in place. A lazy
    term (a slice's, a matmul's) adds itself in: a tensor sliced or a weight used at every step costs one
    buffer, and time linear in T. Returns g."""
    if g is None:
        return None
    if p in sums:
        sums[p] = g.add_into(sums[p]) if isinstance(g, Lazy) else np.add(sums[p], g, out=sums[p])
    elif p in firsts:  # the second term: the two summed into a new array, added into from now on
        sums[p] = np.asarray(firsts.pop(p) + (g.add_into() if isinstance(g, Lazy) else g))
    else:
        firsts[p] = g.add_into() if isinstance(g, Lazy) else g  # a lazy one made now: its own array
    return g


def _seed(root: Tensor, grad: Any) -> np.ndarray:
    """The gradient that starts the pass: 1 for a scalar root, else the given one."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad (no input that made it has "
                           "requires_grad=True, or it was made under no_grad())")
    if grad is None and root.size != 1:
        raise RuntimeError(f"backward: grad can be implied only for a scalar output; this one has shape "
                           f"{root.shape}: pass grad= an array of that shape")
    seed = np.ones(root.shape) if grad is None else np.asarray(getattr(grad, "data", grad))
    if seed.dtype.kind not in "fiub" or seed.shape != root.shape:
        raise ValueError(f"backward: grad has shape {seed.shape} but the tensor has shape {root.shape} "
                         f"(dtype {seed.dtype}); pass numbers in an array of the tensor's shape")
    return seed.astype(root.dtype)


def _fit(g: Any, p: Tensor, t: Tensor) -> Any:
    """g as p's gradient: None if p needs none, else summed over broadcast axes, in p's dtype."""
    if g is None or not p.requires_grad:
        return None
    if STATE.anomaly and not np.isfinite(g.add_into() if isinstance(g, Lazy) else g).all():
        raise AnomalyError(describe(t.op, t.parents, f"backward produced NaN or Inf for an input of shape "
                                    f"{p.shape}", t.scope))
    data = p.data  # (a lean stand-in's is a placeholder of the right shape and dtype)
    if isinstance(g, Lazy) and g.dtype == data.dtype:
        return g
    g = unbroadcast(np.asarray(g.add_into() if isinstance(g, Lazy) else g), data.shape, t.ctx.op_name)
    return g if g.dtype == data.dtype else g.astype(data.dtype)
