"""`Tensor`: an array, its gradient, and its place in the graph (op, parents, scope, name).

Operators delegate to the ops in `ops.py`; `backward()` delegates to `autograd.py`.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any
from weakref import ref

import numpy as np

from .context import STATE

# Creation order: every tensor is made after its parents, so sorting by it is a topological order.
_SEQ = itertools.count()
_new = object.__new__  # an instance without __init__, without looking __new__ up on the class
MADE_LEAN = "made inside lean()"  # a Tensor's _node until its first use as an input
KEPT = "made inside lean(), recorded as itself"
_ACCEPTED = "a numpy array, a Python number or (nested) list, or a Tensor"


class Tensor:
    """A numpy array with reverse-mode autodiff. Leaves have op None and no parents."""

    # _node: None; MADE_LEAN for an op output made inside lean(); once such a tensor is an op's
    # input, KEPT or the stand-in that graphs record in its place; for a stand-in, a weak
    # reference back to the tensor
    __slots__ = ("data", "grad", "requires_grad", "_name", "scope", "_ctx", "_retain", "_seq", "_node",
                 "__weakref__")
    __array_priority__ = 1000  # numpy defers `array + tensor` to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None,
                 dtype: Any = None) -> None:
        self.data = _to_array(data, dtype)
        self.grad: np.ndarray | None = None
        self._name = name
        self.scope = STATE.scope
        self._ctx = None
        self._retain = False
        self._seq = next(_SEQ)
        self._node = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, ctx: Any) -> Tensor:
        """An op's output: no conversion, and requires grad exactly when ctx is recorded."""
        t = _new(cls)
        t.data = data
        t.grad = t._name = None
        t.scope = STATE.scope
        t._ctx = ctx
        t._retain = False
        t._seq = next(_SEQ)
        t._node = None
        t.requires_grad = ctx is not None
        return t

    def _stand_in(self, ctx: Any) -> Tensor:
        """How graphs record a tensor made inside lean(), decided at its first use: itself if that
        op saved its array (it stays alive anyway), else a stand-in: the same op, parents, name,
        scope and place in the order, no value (a zero-strided placeholder), gradient shown on self."""
        n = self._node
        if n is MADE_LEAN:
            for a in getattr(ctx, "saved_tensors", ()):  # unset for an op that saves nothing
                if a is self.data:
                    self._node = KEPT
                    return self
            self._node = n = _new(Tensor)
            n.data = _placeholder(self.data.shape, self.data.dtype)
            n.grad = None
            n._name, n.scope, n._ctx, n._seq = self._name, self.scope, self._ctx, self._seq
            n._retain, n._node, n.requires_grad = self._retain, ref(self), True
        elif n is KEPT or n.__class__ is ref:  # recorded as itself, or a stand-in already
            return self
        return n

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Make this (floating-point) leaf record ops and receive a gradient; returns self."""
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype "
                            f"{self.data.dtype} (pass dtype=np.float64 or float data)")
        self.requires_grad = bool(flag) and STATE.grad_enabled
        return self

    # ---- what a tensor is -------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    @property
    def op(self) -> str | None:
        """Name of the op that made this tensor, or None for a leaf."""
        return None if self._ctx is None else self._ctx.op_name

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The input Tensors of the op that made this one (empty for a leaf)."""
        return () if self._ctx is None else self._ctx.parents

    @property
    def is_leaf(self) -> bool:
        """True for a tensor no recorded op made (a parameter, an input, a constant)."""
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        extra = f", name={self.name!r}" if self.name else ""
        extra += f", op={self.op}" if self._ctx is not None else ""
        extra += ", requires_grad=True" if self.requires_grad and self._ctx is None else ""
        if not self.has_value:
            return f"tensor(<no value kept: made inside lean()>, shape={self.shape}{extra})"
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ",
                               prefix="tensor(")
        return f"tensor({body}{extra})"

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (not a copy)."""
        return self.data

    def detach(self) -> Tensor:
        """Same data (no copy), no history: gradients stop here."""
        return Tensor._make(self.data, None)

    def retain_grad(self) -> Tensor:
        """Keep (and accumulate across calls) this non-leaf's gradient, also in lean mode."""
        self._retain = True
        if self._node.__class__ is Tensor:  # graphs record its stand-in: that keeps it for us
            self._node._retain = True
        return self

    @property
    def name(self) -> str | None:
        """The label drawings, repr and gradient probes use (None: unnamed)."""
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        self._name = name
        if self._node.__class__ is Tensor:  # graphs record its stand-in: it takes the name too
            self._node._name = name

    @property
    def has_value(self) -> bool:
        """False for a stand-in, which graphs record for a tensor made inside `lean()`: no value kept."""
        return self._node.__class__ is not ref

    def backward(self, grad: Any = None, keep_intermediate: bool = True) -> None:
        """Reverse-mode pass from this tensor; see `autograd.backward`."""
        autograd.backward(self, grad, keep_intermediate)

    # ---- arithmetic ---------------------------------------------------------------------
    def _const(self, other: Any) -> Tensor:
        """other as a constant; numbers and arrays take this tensor's float dtype (float32 stays)."""
        if isinstance(other, Tensor):
            return other
        dtype = self.data.dtype
        if other.__class__ is float and dtype.kind == "f":  # the common `x * 0.5`, without the checks
            return Tensor._make(np.array(other, dtype), None)
        return Tensor._make(_to_array(other, dtype if dtype.kind == "f" else None), None)

    def __add__(self, other): return ops.Add.apply(self, self._const(other))
    def __radd__(self, other): return ops.Add.apply(self._const(other), self)
    def __sub__(self, other): return ops.Sub.apply(self, self._const(other))
    def __rsub__(self, other): return ops.Sub.apply(self._const(other), self)
    def __mul__(self, other): return ops.Mul.apply(self, self._const(other))
    def __rmul__(self, other): return ops.Mul.apply(self._const(other), self)
    def __truediv__(self, other): return ops.Div.apply(self, self._const(other))
    def __rtruediv__(self, other): return ops.Div.apply(self._const(other), self)
    def __matmul__(self, other): return ops.Matmul.apply(self, self._const(other))
    def __rmatmul__(self, other): return ops.Matmul.apply(self._const(other), self)
    def __neg__(self): return ops.Neg.apply(self)

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError(f"pow: the exponent must be a Python number, got {type(exponent).__name__}")
        return ops.Pow.apply(self, exponent=float(exponent))

    def exp(self) -> Tensor:
        """e^x elementwise."""
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        """ln x elementwise."""
        return ops.Log.apply(self)

    def tanh(self) -> Tensor:
        """tanh x elementwise; d/dx = 1 - tanh^2 x."""
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x) elementwise, without overflow for large |x|."""
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0) elementwise; the gradient at 0 is 0, as in PyTorch."""
        return ops.Relu.apply(self)

    # ---- reductions and shape -----------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum over axis (an int, a tuple, or None for all), as np.sum."""
        return ops.Sum.apply(self, axis=_axes(axis, self.ndim, "sum"), keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over axis, as np.mean."""
        return ops.Mean.apply(self, axis=_axes(axis, self.ndim, "mean"), keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Max over axis, as np.max; tied maxima share the gradient equally."""
        return ops.Max.apply(self, axis=_axes(axis, self.ndim, "max"), keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        """The same values in a new shape: x.reshape(2, 3) or x.reshape((2, 3)); -1 allowed."""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Axes permuted (reversed when none are given), as np.transpose."""
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return ops.Transpose.apply(self, axes=axes or None)

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        """Basic (ints, slices, None, ...) or integer-array indexing; repeated indices accumulate."""
        return ops.GetItem.apply(self, index=_plain_index(index))

    # Tensors are compared by identity (they live in sets and dicts of graph nodes).
    __hash__ = object.__hash__


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        if dtype is not None and data.dtype != dtype:
            return data.astype(dtype)
        if data.dtype.kind in "fiub":
            return data
        raise TypeError(f"Tensor: unsupported dtype {data.dtype}; accepted: float, int or bool arrays")
    if dtype is None and isinstance(data, np.floating):
        dtype = data.dtype  # a numpy float scalar keeps its dtype, like a float array
    if isinstance(data, (int, float, bool, np.number, list, tuple)):
        try:
            return np.asarray(data, dtype=np.float64 if dtype is None else dtype)
        except (ValueError, TypeError) as e:
            raise TypeError(f"Tensor: cannot make an array from {type(data).__name__}: {e}") from None
    raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__}; accepted: {_ACCEPTED}")


@lru_cache(maxsize=1024)
def _placeholder(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of this shape and dtype that takes no memory (one 0 seen everywhere)."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def as_tensor(x: Any, dtype: Any = None) -> Tensor:
    """x itself if it is a Tensor, else a constant (not requiring grad) Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor._make(_to_array(x, dtype), None)


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of {ndim} dimensions")
    return tuple(int(a) % max(ndim, 1) for a in axes)


def _plain_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        for i in index:  # rebuild the tuple only when it holds a Tensor (the per-step slices do not)
            if isinstance(i, Tensor):
                return tuple(j.data if isinstance(j, Tensor) else j for j in index)
    return index


from . import autograd, ops  # noqa: E402  (they import Tensor; used above at call time)
