"""The primitive ops: forward and backward side by side, one small class each.

Each backward returns one gradient per input in the *broadcast* shape; the engine sums
it back to the input's shape (`autograd._unbroadcast`), so no op repeats that logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .function import Function
from .tensor import Tensor, as_tensor


class Scatter:
    """A sparse gradient: `values` belong at `index` of an otherwise zero array.

    GetItem returns one so that slicing a long sequence step by step stays linear in T;
    the engine adds it into a single buffer instead of materialising a zero array per slice.
    """

    __slots__ = ("index", "values", "basic")

    def __init__(self, index: Any, values: np.ndarray, basic: bool) -> None:
        self.index, self.values, self.basic = index, values, basic

    def add_into(self, buf: np.ndarray) -> None:
        if self.basic:
            part = buf[self.index]
            if part.__class__ is np.ndarray:  # a view: add in place (`buf[i] += v` also copies it back)
                part += self.values
            else:  # a single element comes out as a scalar copy
                buf[self.index] += self.values
        else:
            np.add.at(buf, self.index, self.values)  # repeated integer indices accumulate


# ---- elementwise binary ------------------------------------------------------------------

class Add(Function):
    """z = x + y;  dz/dx = 1, dz/dy = 1"""
    @staticmethod
    def forward(ctx, x, y): return x + y
    @staticmethod
    def backward(ctx, g): return g, g


class Sub(Function):
    """z = x - y;  dz/dx = 1, dz/dy = -1"""
    @staticmethod
    def forward(ctx, x, y): return x - y
    @staticmethod
    def backward(ctx, g): return g, -g


class Mul(Function):
    """z = x * y;  dz/dx = y, dz/dy = x"""
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad  # `w * 0.5` needs no gradient for the 0.5
        return (g * y if need_x else None), (g * x if need_y else None)


class Div(Function):
    """z = x / y;  dz/dx = 1/y, dz/dy = -x/y^2"""
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = g / y
        return gx, (-gx * x / y if ctx.needs_input_grad[1] else None)


# ---- elementwise unary -------------------------------------------------------------------

class Neg(Function):
    """z = -x;  dz/dx = -1"""
    @staticmethod
    def forward(ctx, x): return -x
    @staticmethod
    def backward(ctx, g): return -g


class Pow(Function):
    """z = x^p (p a number);  dz/dx = p x^(p-1)"""
    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.p = exponent
        if exponent == 2 and x.dtype.kind == "f":
            return np.square(x)  # x ** 2.0 takes numpy's general power loop: twice the time
        return x ** exponent

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return np.zeros_like(x)  # x^0 is constant; p x^(p-1) would be 0 * inf at x = 0
        folded = not any(g.strides) and g.size  # g is one value broadcast (a sum of x^p): fold it in
        scale = p * g.flat[0] if folded else p
        gx = x * scale if p == 2 else x ** (p - 1)  # one new array, the rest in place: g p x^(p-1)
        if p != 2:
            gx *= scale
        if not folded:
            gx *= g
        return gx


class Exp(Function):
    """z = e^x;  dz/dx = z"""
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g): return g * ctx.saved_tensors[0]


class Log(Function):
    """z = ln x;  dz/dx = 1/x"""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g): return g / ctx.saved_tensors[0]


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 - z^2"""
    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        gz = tanh_grad(ctx.saved_tensors[0])
        gz *= g
        return gz


# The derivatives from the output z, as one new array that callers multiply by g in place.
def tanh_grad(z: np.ndarray) -> np.ndarray:
    """1 - z^2 for z = tanh x."""
    d = z * z  # a numpy scalar for 0-d z, which cannot be written into
    return np.subtract(1.0, d, out=d) if d.__class__ is np.ndarray else 1.0 - d


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """z (1 - z) for z = sigmoid x."""
    d = 1.0 - z
    d *= z
    return d


def sigmoid_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out <- 1 / (1 + e^-x) in 4 passes without temporaries (out may be x: in place)."""
    np.negative(x, out=out)
    with np.errstate(over="ignore"):  # e^-x = inf (x < -709 in float64) gives exactly 0
        np.exp(out, out=out)
    out += 1.0  # a float: numpy takes the int 1 through a slower conversion (~0.6k instructions)
    return np.reciprocal(out, out=out)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z)"""
    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0 or x.dtype.kind != "f":  # the in-place passes below need a float array
            as_float = np.array(x, dtype=np.result_type(x.dtype, np.float16), ndmin=1)
            out = Sigmoid.forward(ctx, as_float).reshape(x.shape)
            ctx.save_for_backward(out)
            return out
        out = sigmoid_into(x, np.empty(x.shape, x.dtype))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        gz = sigmoid_grad(ctx.saved_tensors[0])
        gz *= g
        return gz


class Relu(Function):
    """z = max(x, 0);  dz/dx = 1 where x > 0 else 0 (0 at x = 0, as in PyTorch)"""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, g): return g * (ctx.saved_tensors[0] > 0)


# ---- linear algebra ----------------------------------------------------------------------

class Matmul(Function):
    """z = x @ y (np.matmul, batched and 1-D too);  dz/dx = g y^T, dz/dy = x^T g"""
    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"shapes {x.shape} and {y.shape}: a 0-d operand cannot be "
                             "matrix-multiplied (use * instead)")
        k = y.shape[-2 if y.ndim > 1 else 0]
        if x.shape[-1] != k:
            which = "second-to-last" if y.ndim > 1 else "only"
            raise ValueError(f"shapes {x.shape} and {y.shape} are not aligned: the last axis of the "
                             f"first ({x.shape[-1]}) must equal the {which} axis of the second ({k})")
        ctx.save_for_backward(x, y)
        return x @ y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad  # x_t @ W: no g W^T for the data x_t
        if x.ndim == 2 and y.ndim == 2:  # the common case, without the 1-D and batch bookkeeping
            return (g @ y.T if need_x else None), (x.T @ g if need_y else None)
        x2 = x[None, :] if x.ndim == 1 else x  # 1-D operands act as a row / a column
        y2 = y[:, None] if y.ndim == 1 else y
        if x.ndim == 1:
            g = g[..., None, :] if y.ndim > 1 else g[..., None]
        if y.ndim == 1:
            g = g[..., None]
        gx = g @ np.swapaxes(y2, -1, -2)
        gy = np.swapaxes(x2, -1, -2) @ g
        return (gx[..., 0, :] if x.ndim == 1 else gx), (gy[..., 0] if y.ndim == 1 else gy)


# ---- reductions --------------------------------------------------------------------------

def _expand(g: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Broadcast a reduced gradient back over the reduced axes (a view, no copy)."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


class Sum(Function):
    """z = sum_axis x;  dz/dx = 1 broadcast over the axis"""
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g): return _expand(g, ctx.shape, ctx.axis, ctx.keepdims)


class Mean(Function):
    """z = mean_axis x;  dz/dx = 1/n broadcast over the axis"""
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        out = np.mean(x, axis=axis, keepdims=keepdims)
        ctx.n = x.size // max(np.size(out), 1) if x.size else 1
        return out

    @staticmethod
    def backward(ctx, g): return _expand(g / ctx.n, ctx.shape, ctx.axis, ctx.keepdims)


class Max(Function):
    """z = max_axis x;  dz/dx = 1/k at the k tied maxima, 0 elsewhere"""
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError("cannot take the max of an empty tensor")
        m = np.max(x, axis=axis, keepdims=True)
        ctx.save_for_backward(x, m)
        ctx.axis, ctx.keepdims = axis, keepdims
        return m if keepdims else np.squeeze(m, axis=axis)

    @staticmethod
    def backward(ctx, g):
        x, m = ctx.saved_tensors
        mask = x == m
        share = mask / mask.sum(axis=ctx.axis, keepdims=True)
        if not ctx.keepdims and ctx.axis is not None:
            g = np.expand_dims(g, ctx.axis)
        return share * g


# ---- shape -------------------------------------------------------------------------------

class Reshape(Function):
    """z = x viewed with a new shape;  dz/dx = g reshaped back"""
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g): return g.reshape(ctx.shape)


class Transpose(Function):
    """z = x with axes permuted;  dz/dx = g with the inverse permutation"""
    @staticmethod
    def forward(ctx, x, axes=None):
        out = np.transpose(x, axes)  # validates axes before they are normalised below
        ctx.axes = None if axes is None else [a % x.ndim for a in axes]
        return out

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, None if ctx.axes is None else np.argsort(ctx.axes))


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:  # a plain loop: all() over a generator costs more than the check itself
        if not (p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))):
            return False
    return True


class GetItem(Function):
    """z = x[index] (basic or integer-array);  dz/dx = g scattered back at index"""
    __slots__ = ("index", "basic")  # no __dict__ per node: four of these per LSTM step

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.basic = index, _is_basic(index)
        return x[index]

    @staticmethod
    def backward(ctx, g): return Scatter(ctx.index, g, ctx.basic)


class Concat(Function):
    """z = [x_1, ..., x_n] joined along axis;  dz/dx_i = the i-th block of g"""
    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        ctx.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g): return tuple(np.split(g, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """z = [x_1, ..., x_n] stacked on a new axis;  dz/dx_i = g[..., i, ...]"""
    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.stack(xs, axis=axis)
        ctx.axis = axis % out.ndim
        return out

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] for i in range(g.shape[ctx.axis]))


# Each backward above returns new arrays, the incoming gradient itself, or views of it.
for _op in (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Tanh, Sigmoid, Relu, Matmul, Sum, Mean, Max,
            Reshape, Transpose, GetItem, Concat, Stack):
    _op.fresh_grads = True


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
