"""The activations a cell may use, by name: one table for the drawable cells and the fast layers.

Each entry holds the primitive op (a node of the drawn graph, for the cells of nn/cells.py) and
the same function on numpy arrays with its derivative written in terms of the output s = s(a)
(for the whole-sequence layers of speed/, whose backward is written by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..engine.tensor import Tensor


def _tanh(a: np.ndarray) -> np.ndarray:
    return np.tanh(a, out=a)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    np.negative(a, out=a)
    with np.errstate(over="ignore"):  # e^-a = inf (a < -709 in float64) gives exactly 0
        np.exp(a, out=a)
    a += 1.0
    return np.reciprocal(a, out=a)


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0, out=a)


class Activation(NamedTuple):
    """s as a primitive op, s on a numpy array (overwriting it), and s'(a) from the output s(a)."""

    op: Callable[[Tensor], Tensor]
    inplace: Callable[[np.ndarray], np.ndarray]
    slope: Callable[[np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation(Tensor.tanh, _tanh, lambda s: 1.0 - s * s),            # tanh' = 1 - tanh^2
    "sigmoid": Activation(Tensor.sigmoid, _sigmoid, lambda s: s * (1.0 - s)),  # s' = s (1 - s)
    "relu": Activation(Tensor.relu, _relu, lambda s: (s > 0).astype(s.dtype)),  # relu'(0) = 0
}


def activation(name: str, who: str) -> Activation:
    """The table's entry for `name`; a ValueError naming `who` and the choices otherwise."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{who}: activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]
