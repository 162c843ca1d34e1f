"""Losses and (log-)softmax, built from the primitive ops so their graphs can be drawn.

reduction="mean" (default, as in PyTorch) averages over all loss terms; "sum" adds them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.tensor import Tensor


def _tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x), dtype=None if like is None else like.dtype)


def _reduce(terms: Tensor, reduction: str, fn: str) -> Tensor:
    if reduction == "mean":
        return terms.mean()
    if reduction == "sum":
        return terms.sum()
    raise ValueError(f"{fn}: reduction must be 'mean' or 'sum', got {reduction!r}")


def _check_same_shape(a: Tensor, b: Tensor, fn: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{fn}: input has shape {a.shape} but target has shape {b.shape}; they must match")


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log softmax(x) = x - m - log sum exp(x - m), m = max x (a constant: it cancels in the gradient)."""
    x = _tensor(x)
    shifted = x - Tensor(np.max(x.data, axis=axis, keepdims=True))
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def softmax(x: Any, axis: int = -1) -> Tensor:
    """softmax(x)_k = exp(x_k - m) / sum_j exp(x_j - m), m = max x."""
    x = _tensor(x)
    e = (x - Tensor(np.max(x.data, axis=axis, keepdims=True))).exp()
    return e / e.sum(axis=axis, keepdims=True)


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """mean over elements of (pred - target)^2."""
    pred, target = _tensor(pred), _tensor(target, _tensor(pred))
    _check_same_shape(pred, target, "mse_loss")
    return _reduce((pred - target) ** 2.0, reduction, "mse_loss")


def cross_entropy(logits: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """mean over samples of -log softmax(logits)[target]; logits (..., C), integer targets (...).

    The class axis is the last one (row-vector convention); leading axes are samples.
    """
    logits = _tensor(logits)
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if t.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {t.dtype}")
    if logits.ndim < 1 or t.shape != logits.shape[:-1]:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} need targets of shape "
                         f"{logits.shape[:-1]} (classes on the last axis), got {t.shape}")
    C = logits.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= C):
        raise ValueError(f"cross_entropy: targets must lie in [0, {C}), got values from "
                         f"{t.min()} to {t.max()}")
    picked = log_softmax(logits)[tuple(np.indices(t.shape)) + (t,)]
    return _reduce(-picked, reduction, "cross_entropy")


def binary_cross_entropy(p: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """mean of -(y log p + (1 - y) log(1 - p)); p strictly inside (0, 1) (else use the logits form)."""
    p = _tensor(p)
    y = _tensor(target, p)
    _check_same_shape(p, y, "binary_cross_entropy")
    return _reduce(-(y * p.log() + (1.0 - y) * (1.0 - p).log()), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """BCE of p = sigmoid(x), stable for any x: max(x, 0) - x y + log(1 + exp(-|x|))."""
    x = _tensor(x)
    y = _tensor(target, x)
    _check_same_shape(x, y, "binary_cross_entropy_with_logits")
    abs_x = x.relu() + (-x).relu()
    return _reduce(x.relu() - x * y + ((-abs_x).exp() + 1.0).log(), reduction,
                   "binary_cross_entropy_with_logits")
