"""`Tensor`: an array, its gradient, and its place in the graph (the op that made it, its scope, its name)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import flat, to_array
from .context import STATE


class Tensor:
    """A numpy array with reverse-mode autodiff. A leaf (ctx None) is a parameter, an input or a constant."""

    __slots__ = ("data", "grad", "requires_grad", "name", "scope", "ctx", "retains_grad", "__weakref__")
    __array_priority__ = 1000  # numpy defers `array + tensor` to Tensor.__radd__
    has_value = True  # False for the value-free stand-ins of a lean graph (speed/lean.py)

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None,
                 dtype: Any = None, ctx: Any = None) -> None:
        if ctx is None:  # an op's output (ctx: the Function that made it) is an array already
            data = to_array(data.data if isinstance(data, Tensor) else data, dtype)
        self.data, self.grad, self.name, self.scope, self.ctx = data, None, name, STATE.scope, ctx
        self.requires_grad, self.retains_grad = ctx is not None, False
        if requires_grad:
            self.requires_grad_()

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Make this (floating-point) leaf record ops and receive a gradient; returns self."""
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype "
                            f"{self.data.dtype} (pass dtype=np.float64 or float data)")
        self.requires_grad = bool(flag) and STATE.grad_enabled
        return self

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    op = property(lambda self: None if self.ctx is None else self.ctx.op_name, doc="Op name (None: leaf).")
    parents = property(lambda self: () if self.ctx is None else self.ctx.parents, doc="The op's inputs.")
    is_leaf = property(lambda self: self.ctx is None, doc="True for a tensor no recorded op made.")
    parent_grads = property(lambda self: () if self.ctx is None else self.ctx.parent_grads(),
                            doc="What the last backward sent to each parent (None: it kept none).")

    def __repr__(self) -> str:
        extra = (f", name={self.name!r}" if self.name else "") + (f", op={self.op}" if self.ctx else "")
        extra += ", requires_grad=True" if self.requires_grad and self.ctx is None else ""
        if not self.has_value:
            return f"tensor(<no value kept: made inside lean()>, shape={self.shape}{extra})"
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ", prefix="tensor(")
        return f"tensor({body}{extra})"

    def __len__(self) -> int: return len(self.data)
    def item(self) -> float: return self.data.item()  # a one-element tensor's value
    def numpy(self) -> np.ndarray: return self.data  # the array itself, not a copy
    def detach(self) -> Tensor: return Tensor(self.data)  # same data, no history: gradients stop here

    def retain_grad(self) -> Tensor:
        """Keep (and accumulate across backward calls) this non-leaf's gradient, also in lean mode."""
        self.retains_grad = True
        return self

    def backward(self, grad: Any = None, keep_intermediate: bool = True) -> list[Tensor]:
        """Fill `.grad` with d(self)/d(tensor) for the graph behind self; see `autograd.backward`."""
        return autograd.backward(self, grad, keep_intermediate)

    def _as_input(self, ctx: Any) -> Tensor:
        """How a graph records this tensor as an input of the op ctx: itself (lean ones: speed/lean.py)."""
        return self

    def _const(self, x: Any) -> Tensor:
        """x as a tensor; numbers and arrays become constants of this tensor's float dtype."""
        return x if isinstance(x, Tensor) else Tensor(x, dtype=self.dtype if self.dtype.kind == "f" else None)

    # ---- the ops as methods (ops.py holds each op's forward and backward) ----------------
    def __add__(self, x): return ops.Add.apply(self, self._const(x))
    def __radd__(self, x): return ops.Add.apply(self._const(x), self)
    def __sub__(self, x): return ops.Sub.apply(self, self._const(x))
    def __rsub__(self, x): return ops.Sub.apply(self._const(x), self)
    def __mul__(self, x): return ops.Mul.apply(self, self._const(x))
    def __rmul__(self, x): return ops.Mul.apply(self._const(x), self)
    def __truediv__(self, x): return ops.Div.apply(self, self._const(x))
    def __rtruediv__(self, x): return ops.Div.apply(self._const(x), self)
    def __matmul__(self, x): return ops.Matmul.apply(self, self._const(x))
    def __rmatmul__(self, x): return ops.Matmul.apply(self._const(x), self)
    def __pow__(self, x): return ops.power(self, x if isinstance(x, (int, float)) else self._const(x))
    def __rpow__(self, x): return ops.power(self._const(x), self)
    def __neg__(self): return ops.Neg.apply(self)
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def abs(self): return ops.Abs.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def relu(self): return ops.Relu.apply(self)
    def maximum(self, x): return ops.Maximum.apply(self, self._const(x))
    def minimum(self, x): return -(-self).maximum(-self._const(x))  # min(a, b) = -max(-a, -b)
    def clip(self, lo=None, hi=None): return ops.Clip.apply(self, lo=lo, hi=hi)
    def sum(self, axis=None, keepdims=False): return ops.Sum.apply(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return ops.Mean.apply(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return ops.Max.apply(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return -(-self).max(axis, keepdims)  # min x = -max(-x)
    def reshape(self, *shape): return ops.Reshape.apply(self, shape=flat(shape))
    def transpose(self, *axes): return ops.Transpose.apply(self, axes=flat(axes) or None)
    T = property(lambda self: self.transpose(), doc="The transpose (axes reversed).")
    def __getitem__(self, index): return ops.GetItem.apply(self, index=_plain(index))


def as_tensor(x: Any, dtype: Any = None) -> Tensor:
    """x itself if it is a Tensor, else a constant (not requiring grad) Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def _plain(index: Any) -> Any:
    """An index with Tensors replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


from . import autograd, ops  # noqa: E402  (they import Tensor; used above at call time)
