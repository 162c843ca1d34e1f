"""Weight initialisers. Each returns a numpy array and takes an explicit `rng` so runs repeat.

`rng` may be a numpy Generator, an int seed, or None (fresh entropy). Shapes follow the
row-vector convention: a weight is (fan_in, fan_out).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.arrays import shape_of


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def uniform(shape: Any, bound: float, rng: Any = None, dtype: Any = np.float64) -> np.ndarray:
    """Samples of U(-bound, +bound)."""
    return _rng(rng).uniform(-bound, bound, shape_of(shape)).astype(dtype, copy=False)


def torch_default(shape: Any, hidden_size: int, rng: Any = None, dtype: Any = np.float64) -> np.ndarray:
    """PyTorch's default for recurrent cells and Linear: U(-1/sqrt(H), +1/sqrt(H))."""
    return uniform(shape, 1.0 / np.sqrt(hidden_size), rng, dtype)


def xavier_uniform(shape: Any, gain: float = 1.0, rng: Any = None, dtype: Any = np.float64) -> np.ndarray:
    """Glorot & Bengio (2010): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)); shape (fan_in, fan_out)."""
    shape = shape_of(shape)
    if len(shape) != 2:
        raise ValueError(f"xavier_uniform: expects a 2-D (fan_in, fan_out) shape, got {shape}")
    return uniform(shape, gain * np.sqrt(6.0 / (shape[0] + shape[1])), rng, dtype)


def orthogonal(shape: Any, gain: float = 1.0, rng: Any = None, dtype: Any = np.float64) -> np.ndarray:
    """Saxe et al. (2014): gain * Q from the QR of a Gaussian matrix (sign-corrected so Q is uniform).

    A (rows, cols) result has orthonormal columns if rows >= cols, orthonormal rows otherwise.
    """
    shape = shape_of(shape)
    if len(shape) != 2:
        raise ValueError(f"orthogonal: expects a 2-D shape, got {shape}")
    rows, cols = shape
    a = _rng(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))  # without this Q is not Haar-distributed
    if rows < cols:
        q = q.T
    return (gain * q).astype(dtype, copy=False)
