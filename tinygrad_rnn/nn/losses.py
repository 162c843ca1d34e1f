"""Losses and (log-)softmax, built from the primitive ops so their graphs can be drawn.

reduction="mean" (default, as in PyTorch) averages over all loss terms; "sum" adds them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.function import Function
from ..engine.tensor import Tensor, as_tensor

LOG_FLOOR = -100.0  # PyTorch's floor for binary_cross_entropy's logs: a finite loss at p = 0 or 1


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
    x = as_tensor(x)
    shifted = x - Tensor(np.max(x.data, axis=axis, keepdims=True))
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def softmax(x: Any, axis: int = -1) -> Tensor:
    """softmax(x)_k = exp(x_k - m) / sum_j exp(x_j - m), m = max x."""
    x = as_tensor(x)
    e = (x - Tensor(np.max(x.data, axis=axis, keepdims=True))).exp()
    return e / e.sum(axis=axis, keepdims=True)


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """mean over elements of (pred - target)^2."""
    pred = as_tensor(pred)
    target = as_tensor(target, pred.dtype)
    _check_same_shape(pred, target, "mse_loss")
    return _reduce((pred - target) ** 2.0, reduction, "mse_loss")


def cross_entropy(logits: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """mean over samples of -log softmax(logits)[target]; logits (..., C), integer targets (...).

    The class axis is the last one (row-vector convention); leading axes are samples.
    """
    logits = as_tensor(logits)
    try:
        t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    except ValueError as e:  # a ragged list
        raise TypeError(f"cross_entropy: targets must be an array of integer class indices: {e}") from None
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


class _ClampedLog(Function):
    """z = max(log p, -100);  dz/dp = 1/p where log p > -100, else 0 (PyTorch's floor: p = 0 gives
    a finite loss and a finite gradient)."""
    op_name = "clamped log"

    @staticmethod
    def forward(ctx, p):
        with np.errstate(divide="ignore"):
            z = np.maximum(np.log(p), LOG_FLOOR)
        ctx.save_for_backward(p, z)
        return z

    @staticmethod
    def backward(ctx, g):
        p, z = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(z > LOG_FLOOR, g / p, 0.0)


def binary_cross_entropy(p: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """mean of -(y log p + (1 - y) log(1 - p)), p in [0, 1]; each log is clamped at >= -100 as in
    PyTorch, so p exactly 0 or 1 (a saturated sigmoid) gives a finite loss. Logits: the _with_logits form."""
    p = as_tensor(p)
    y = as_tensor(target, p.dtype)
    _check_same_shape(p, y, "binary_cross_entropy")
    outside = (p.data < 0) | (p.data > 1)
    if outside.any():
        raise ValueError(f"binary_cross_entropy: every p must lie in [0, 1] (a probability), got "
                         f"{float(p.data[outside].flat[0])}; for scores use binary_cross_entropy_with_logits")
    terms = y * _ClampedLog.apply(p) + (1.0 - y) * _ClampedLog.apply(1.0 - p)
    return _reduce(-terms, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """BCE of p = sigmoid(x), stable for any x: max(x, 0) - x y + log(1 + exp(-|x|))."""
    x = as_tensor(x)
    y = as_tensor(target, x.dtype)
    _check_same_shape(x, y, "binary_cross_entropy_with_logits")
    abs_x = x.relu() + (-x).relu()
    return _reduce(x.relu() - x * y + ((-abs_x).exp() + 1.0).log(), reduction,
                   "binary_cross_entropy_with_logits")
