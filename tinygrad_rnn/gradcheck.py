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
    """
    tensors = [x if isinstance(x, Tensor) else Tensor(np.array(x, dtype=np.float64), requires_grad=True)
               for x in inputs]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass arrays or tensors with requires_grad=True")
    for i in checked:
        if tensors[i].dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {tensors[i].dtype}; finite differences need "
                          "float64 to be meaningful", stacklevel=2)
    with no_grad():
        out0 = fn(*tensors)
    weights = np.random.default_rng(0).uniform(0.5, 1.5, np.shape(out0.data))

    def scalar(*ts: Tensor) -> Tensor:
        out = fn(*ts)
        return out if out.data.size == 1 else (out * weights).sum()

    for i in checked:
        tensors[i].grad = None
    scalar(*tensors).backward()
    for i in checked:
        t = tensors[i]
        analytic = np.zeros(t.shape) if t.grad is None else np.broadcast_to(t.grad, t.shape)
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)  # a view: perturb in place, restore after
        if not np.shares_memory(flat, t.data):
            raise ValueError(f"gradcheck: input {i} must be a contiguous array")
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
