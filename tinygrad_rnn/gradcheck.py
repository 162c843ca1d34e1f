"""Central finite differences against autograd, in float64."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine.context import no_grad
from .engine.tensor import Tensor


class GradcheckError(AssertionError):
    """Autograd and finite differences disagree; the message names input, element and values."""


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check d fn / d input for every input that requires grad (arrays are made to).

    A non-scalar output is reduced to sum(out * w) with fixed random weights w, which
    checks every output element. Numerical: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).
    Leaves everything as it found it, also when fn raises: the inputs' arrays are never written
    (a copy is perturbed), and every .grad in fn's graph (inputs, parameters) is put back.
    """
    tensors = [x if isinstance(x, Tensor) else Tensor(x, dtype=np.float64, requires_grad=True)
               for x in inputs]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass arrays or tensors with requires_grad=True")
    for i in checked:
        if tensors[i].dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {tensors[i].dtype}; finite differences need "
                          "float64 to be meaningful", stacklevel=2)
    arrays = [t.data for t in tensors]
    grads = {id(t): (t, t.grad) for t in tensors}  # every .grad this call may change, as it was
    try:
        for i in checked:
            tensors[i].data = arrays[i].copy()  # perturbed in place below; the caller's array is not
        return _check(fn, tensors, checked, eps, atol, rtol, raise_exception, grads)
    finally:
        for t, a in zip(tensors, arrays):
            t.data = a
        for t, g in grads.values():
            t.grad = g


def _check(fn: Callable[..., Tensor], tensors: list[Tensor], checked: list[int], eps: float, atol: float,
           rtol: float, raise_exception: bool, grads: dict[int, tuple[Tensor, Any]]) -> bool:
    with no_grad():
        out0 = fn(*tensors)
    if not isinstance(out0, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out0).__name__}")
    weights = np.random.default_rng(0).uniform(0.5, 1.5, out0.shape)

    def scalar(*ts: Tensor) -> Tensor:
        out = fn(*ts)
        return out if out.data.size == 1 else (out * weights).sum()

    loss = scalar(*tensors)
    for t in _graph(loss):  # parameters fn uses start from no gradient, and get theirs back after
        grads.setdefault(id(t), (t, t.grad))
        t.grad = None
    loss.backward()
    for i in checked:
        t = tensors[i]
        analytic = np.zeros(t.shape) if t.grad is None else np.broadcast_to(t.grad, t.shape)
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)  # a view of gradcheck's own copy
        with no_grad():
            for k in range(flat.size):
                old = flat[k]
                flat[k] = old + eps
                up = scalar(*tensors).item()
                flat[k] = old - eps
                down = scalar(*tensors).item()
                flat[k] = old
                numeric.reshape(-1)[k] = (up - down) / (2 * eps)
        bad = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if bad.size and (not np.isfinite(bad).all() or bad.max() > 0):  # NaN/Inf anywhere fails
            k = np.unravel_index(np.nanargmax(np.where(np.isfinite(bad), bad, np.inf)), t.shape)
            name = f" ({t.name!r})" if t.name else ""
            msg = (f"gradcheck: input {i}{name} of shape {t.shape}: worst element {tuple(map(int, k))}: "
                   f"autograd {analytic[k]:.10g}, finite differences {numeric[k]:.10g} "
                   f"(atol={atol}, rtol={rtol}, eps={eps})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def _graph(root: Tensor) -> list[Tensor]:
    """Every tensor root depends on (through .parents), root included; no recursion."""
    seen, stack, order = {id(root)}, [root], []
    while stack:
        t = stack.pop()
        order.append(t)
        for p in t.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return order
