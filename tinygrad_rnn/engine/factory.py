"""Tensors made from a shape: zeros, ones, standard normal samples."""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor


def _shape(shape: Any) -> tuple[int, ...]:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)


def zeros(shape: Any, **kwargs: Any) -> Tensor:
    """A tensor of zeros; keyword args as for Tensor (requires_grad, name, dtype)."""
    return Tensor(np.zeros(_shape(shape), dtype=kwargs.pop("dtype", None) or np.float64), **kwargs)


def ones(shape: Any, **kwargs: Any) -> Tensor:
    """A tensor of ones; keyword args as for Tensor."""
    return Tensor(np.ones(_shape(shape), dtype=kwargs.pop("dtype", None) or np.float64), **kwargs)


def randn(shape: Any, rng: np.random.Generator | None = None, **kwargs: Any) -> Tensor:
    """Standard normal samples from rng (a numpy Generator; a fresh one if None)."""
    rng = np.random.default_rng() if rng is None else rng
    dtype = kwargs.pop("dtype", None) or np.float64
    return Tensor(rng.standard_normal(_shape(shape)).astype(dtype, copy=False), **kwargs)
