"""The backward pass: one walk over a topological order, each op's vector-Jacobian products added
into its inputs' gradients. No recursion, so a 100,000-op chain backprops."""

from __future__ import annotations

from typing import Any

import numpy as np

from .context import STATE, AnomalyError, describe, no_grad
from .ops import Scatter
from .tensor import Tensor


def toposort(root: Tensor) -> list[Tensor]:
    """The tensors behind root that need a gradient, each after all of its parents (iterative DFS)."""
    order: list[Tensor] = []
    done: set[Tensor] = set()
    stack = [(root, False)]
    while stack:
        t, parents_done = stack.pop()
        if parents_done:
            order.append(t)  # every parent is in order already
        elif t not in done:
            done.add(t)
            stack.append((t, True))
            stack.extend((p, False) for p in t.parents if p.requires_grad and p not in done)
    return order


def backward(root: Tensor, grad: Any = None, keep_intermediate: bool = True) -> list[Tensor]:
    """Fill `.grad` with d(root)/d(tensor) behind root. Leaves and `retain_grad()` tensors accumulate;
    with keep_intermediate the others show this pass's gradient and each op keeps what it sent to each
    input (`Tensor.parent_grads`); without it (lean) they keep nothing. Returns the order used."""
    grads: dict[Tensor, Any] = {root: _seed(root, grad)}  # gradients on their way, summed with +
    sliced: dict[Tensor, np.ndarray] = {}  # one zero buffer per sliced tensor (see ops.Scatter)
    order = toposort(root)
    with no_grad():  # a backward rule that uses Tensors records nothing
        for t in reversed(order):  # every tensor before its parents
            g = _total(grads.pop(t, None), sliced.pop(t, None))
            if t.is_leaf or t.retains_grad:  # these accumulate, in arrays of their own
                t.grad = t.grad if g is None else np.array(g) if t.grad is None else t.grad + g
            else:
                t.grad = g if keep_intermediate else None
            if t.is_leaf:
                continue
            t.ctx.sent = None
            if g is None:
                continue
            t.ctx._check_saved(t.scope)
            vjps = t.ctx.backward(t.ctx, g)  # one per input, in the broadcast shape
            vjps = vjps if isinstance(vjps, tuple) else (vjps,)
            if len(vjps) != len(t.parents):
                raise RuntimeError(f"{t.op}: backward returned {len(vjps)} gradients for {len(t.parents)} "
                                   "inputs; return one per input (None for none)")
            sent = tuple(_fit(pg, p, t) for p, pg in zip(t.parents, vjps))
            for p, pg in zip(t.parents, sent):
                if isinstance(pg, Scatter):
                    sliced[p] = pg.add_into(sliced.get(p))
                elif pg is not None:
                    grads[p] = _total(grads.get(p), pg)
            t.ctx.sent = sent if keep_intermediate else None
    return order


def _total(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else a if b is None else a + b


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
    if not isinstance(g, Scatter):
        g = unbroadcast(np.asarray(g), p.shape, t.op).astype(p.dtype, copy=False)
    if STATE.anomaly and not np.isfinite(g.values if isinstance(g, Scatter) else g).all():
        raise AnomalyError(describe(t.op, t.parents, f"backward produced NaN or Inf for an input of "
                                    f"shape {p.shape}", t.scope))
    return g


def unbroadcast(g: np.ndarray, shape: tuple[int, ...], op: str = "backward") -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched, giving an array of `shape`."""
    lead = g.ndim - len(shape)
    if lead < 0 or any(n not in (1, m) for n, m in zip(shape, g.shape[lead:])):
        raise RuntimeError(f"{op}: backward returned a gradient of shape {g.shape} for an input of shape "
                           f"{shape}; return one that broadcasts from the input's shape")
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return np.asarray(g.sum(axis=tuple(range(lead)) + stretched).reshape(shape)) if g.shape != shape else g
