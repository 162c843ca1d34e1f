"""Tensors made from a shape (zeros, ones, standard normal samples) or from others (add, concat, stack)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .arrays import shape_of
from .ops import Add, Concat, Stack
from .tensor import Tensor, as_tensor


def zeros(shape: Any, **kwargs: Any) -> Tensor:
    """A tensor of zeros; keyword args as for Tensor (requires_grad, name, dtype)."""
    return Tensor(np.zeros(shape_of(shape), dtype=kwargs.pop("dtype", None) or np.float64), **kwargs)


def ones(shape: Any, **kwargs: Any) -> Tensor:
    """A tensor of ones; keyword args as for Tensor."""
    return Tensor(np.ones(shape_of(shape), dtype=kwargs.pop("dtype", None) or np.float64), **kwargs)


def randn(shape: Any, rng: np.random.Generator | None = None, **kwargs: Any) -> Tensor:
    """Standard normal samples from rng (a numpy Generator; a fresh one if None)."""
    rng = np.random.default_rng() if rng is None else rng
    dtype = kwargs.pop("dtype", None) or np.float64
    return Tensor(rng.standard_normal(shape_of(shape)).astype(dtype, copy=False), **kwargs)


def add(x: Any, y: Any, *more: Any) -> Tensor:
    """x + y + ... with broadcasting, as one node with an input per term (a cell's x W + h U + b).
    Numbers and arrays become constants of the first Tensor term's float dtype, as in `x + 1.0`."""
    terms = (x, y, *more)
    like = next((t for t in terms if isinstance(t, Tensor)), None)
    like = as_tensor(x) if like is None else like
    return Add.apply(*[like._const(t) for t in terms])


def concat(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (np.concatenate)."""
    return Concat.apply(*_tensors(tensors, "concat"), axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis (np.stack)."""
    return Stack.apply(*_tensors(tensors, "stack"), axis=axis)


def _tensors(xs: Sequence[Any], op: str) -> list[Tensor]:
    if isinstance(xs, (Tensor, np.ndarray)) or not len(xs):
        raise TypeError(f"{op}: expects a non-empty list or tuple of tensors")
    return [as_tensor(x) for x in xs]
