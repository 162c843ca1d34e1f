"""`Linear`: y = x W + b in the row-vector convention, W of shape (in, out)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from . import init
from .module import Module, parameter


class Linear(Module):
    """y = x W + b;  W (in_features, out_features), b (out_features,), both U(+-1/sqrt(in)) as in PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        rng = init._rng(rng)
        self.in_features, self.out_features, self.dtype = in_features, out_features, np.dtype(dtype)
        self.W = parameter(init.torch_default((in_features, out_features), in_features, rng, dtype))
        self.b = parameter(init.torch_default(out_features, in_features, rng, dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        y = x @ self.W if isinstance(x, Tensor) else Tensor(x, dtype=self.dtype) @ self.W
        return y if self.b is None else y + self.b
