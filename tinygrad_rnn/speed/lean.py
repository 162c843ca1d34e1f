"""Lean graphs: keep only the values some backward needs, as PyTorch does.

Inside `lean()` every op's output is a `LeanTensor`. When it is first used as an op's input, the graph
records it as itself if that op saved its array (the array stays alive anyway), else as a `StandIn`:
the same op, parents, name and scope, no value, its gradient shown on the tensor. The value is then
freed with the user's last reference to the tensor. Measured in `make bench` (peak memory, long LSTM).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from weakref import ref

import numpy as np

from ..engine.context import STATE
from ..engine.tensor import Tensor

_name, _grad = Tensor.name, Tensor.grad  # the base class's slots, under the properties below


@contextmanager
def lean() -> Iterator[None]:
    """Graphs made inside keep only the values some backward saved; gradients are the same as without."""
    before, STATE.output_type = STATE.output_type, LeanTensor
    try:
        yield
    finally:
        STATE.output_type = before


class LeanTensor(Tensor):
    """An op's output made inside lean(): recorded as itself or by a stand-in, decided at first use."""

    __slots__ = ("recorded",)

    def __init__(self, data: np.ndarray, ctx: Any) -> None:
        self.recorded: Tensor | None = None
        super().__init__(data, ctx=ctx)

    def _as_input(self, ctx: Any) -> Tensor:
        if self.recorded is None:
            saved = ctx.saved_tensors
            self.recorded = self if any(a is self.data for a in saved) else StandIn(self)
        return self.recorded

    @property
    def name(self) -> str | None:
        return _name.__get__(self)

    @name.setter
    def name(self, name: str | None) -> None:  # a later name reaches the stand-in too
        _name.__set__(self, name)
        if self.recorded is not None and self.recorded is not self:
            self.recorded.name = name

    def retain_grad(self) -> Tensor:
        self.retains_grad = True
        if self.recorded is not None:
            self.recorded.retains_grad = True
        return self


class StandIn(Tensor):
    """A lean tensor as a graph records it: no value (a placeholder that takes no memory)."""

    __slots__ = ("tensor",)
    has_value = False

    def __init__(self, t: LeanTensor) -> None:
        self.tensor = ref(t)
        super().__init__(_placeholder(t.shape, t.dtype), ctx=t.ctx)
        self.name, self.scope, self.retains_grad = t.name, t.scope, t.retains_grad

    @property
    def grad(self) -> np.ndarray | None:
        """The tensor's gradient while anyone holds the tensor (the user may have reset it), else its own."""
        t = self.tensor()
        return _grad.__get__(self) if t is None else t.grad

    @grad.setter
    def grad(self, g: np.ndarray | None) -> None:
        _grad.__set__(self, g)
        t = self.tensor()
        if t is not None:
            t.grad = g


@lru_cache(maxsize=1024)
def _placeholder(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of this shape and dtype that takes no memory (one 0 seen everywhere)."""
    return np.broadcast_to(np.zeros((), dtype), shape)
