"""The primitive ops: forward and backward side by side, the derivative in each docstring.

Each backward returns one gradient per input (None where not needed) in the *broadcast* shape;
the engine sums it back to the input's shape (`arrays.unbroadcast`), so no op repeats that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import Product, Scatter, reduce_axes
from .function import Function

# ---- elementwise, two inputs -------------------------------------------------------------


class Add(Function):
    """z = x + y (+ more terms: `tg.add(a, b, c)` is one node);  dz/d(each term) = 1"""
    @staticmethod
    def forward(ctx, x, y, *more): return sum(more, x + y)
    @staticmethod
    def backward(ctx, g): return (g,) * len(ctx.parents)


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
        return g * y, g * x


class Div(Function):
    """z = x / y;  dz/dx = 1/y, dz/dy = -x/y^2"""
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y
    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g / y, -g * x / (y * y)


class Pow(Function):
    """z = x^p, p a number;  dz/dx = p x^(p-1)"""
    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        return x ** p
    @staticmethod
    def backward(ctx, g):
        x, p = ctx.saved_tensors[0], ctx.p
        return p * x ** (p - 1) * g if p != 0 else np.zeros_like(g)  # x^0 is constant, also at x = 0


def power(x: Any, y: Any) -> Any:
    """x ** y: a number exponent stays out of the graph (Pow), a tensor one is an input (PowTensor)."""
    return Pow.apply(x, p=y) if isinstance(y, (int, float)) else PowTensor.apply(x, y)


class PowTensor(Function):
    """z = x^y, y a tensor;  dz/dx = y x^(y-1), dz/dy = z ln x (asked for only when y needs a gradient)"""
    op_name = "pow"
    @staticmethod
    def forward(ctx, x, y):
        z = np.power(x, y)
        ctx.save_for_backward(x, y, z)
        return z
    @staticmethod
    def backward(ctx, g):
        x, y, z = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            gx = g * np.where(y == 0, 0.0, y * np.power(x, y - 1.0))  # x^0 is constant, also at x = 0
            gy = g * z * np.log(x) if ctx.needs_input_grad[1] else None
        return gx, gy


class Maximum(Function):
    """z = max(x, y) elementwise;  dz/dx = 1 where x > y, 1/2 where x = y, else 0 (and dz/dy alike)"""
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)
    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        share = (x > y) + 0.5 * (x == y)
        return g * share, g * (1.0 - share)


# ---- elementwise, one input --------------------------------------------------------------


class Neg(Function):
    """z = -x;  dz/dx = -1"""
    @staticmethod
    def forward(ctx, x): return -x
    @staticmethod
    def backward(ctx, g): return -g


class Exp(Function):
    """z = e^x;  dz/dx = z"""
    @staticmethod
    def forward(ctx, x):
        z = np.exp(x)
        ctx.save_for_backward(z)
        return z
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


class Sqrt(Function):
    """z = sqrt x;  dz/dx = 1 / (2 z)"""
    @staticmethod
    def forward(ctx, x):
        z = np.sqrt(x)
        ctx.save_for_backward(z)
        return z
    @staticmethod
    def backward(ctx, g): return g / (2.0 * ctx.saved_tensors[0])


class Abs(Function):
    """z = |x|;  dz/dx = sign x (0 at x = 0, as in PyTorch)"""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)
    @staticmethod
    def backward(ctx, g): return g * np.sign(ctx.saved_tensors[0])


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 - z^2"""
    @staticmethod
    def forward(ctx, x):
        z = np.tanh(x)
        ctx.save_for_backward(z)
        return z
    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * (1.0 - z * z)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z)"""
    @staticmethod
    def forward(ctx, x):
        with np.errstate(over="ignore"):  # e^-x = inf below x = -709 gives z = 0, as it should
            z = 1.0 / (1.0 + np.exp(-x))
        ctx.save_for_backward(z)
        return z
    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return z * (1.0 - z) * g


class Relu(Function):
    """z = max(x, 0);  dz/dx = 1 where x > 0 else 0 (0 at x = 0, as in PyTorch)"""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0)
    @staticmethod
    def backward(ctx, g): return g * (ctx.saved_tensors[0] > 0)


class Clip(Function):
    """z = min(max(x, lo), hi);  dz/dx = 1 where lo <= x <= hi, else 0 (PyTorch's clamp)"""
    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        if lo is None and hi is None:
            raise ValueError("give lo, hi or both")
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = -np.inf if lo is None else lo, np.inf if hi is None else hi
        return np.clip(x, ctx.lo, ctx.hi)
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ((x >= ctx.lo) & (x <= ctx.hi))


# ---- linear algebra ----------------------------------------------------------------------


class Matmul(Function):
    """z = x @ y (np.matmul: 2-D, batched, 1-D);  dz/dx = g y^T, dz/dy = x^T g"""
    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"shapes {x.shape} and {y.shape}: a 0-d operand cannot be matrix-multiplied "
                             "(use * instead)")
        if x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            which = "second-to-last" if y.ndim > 1 else "only"
            raise ValueError(f"shapes {x.shape} and {y.shape} are not aligned: the last axis of the first "
                             f"must equal the {which} axis of the second")
        ctx.save_for_backward(x, y)
        return x @ y
    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad  # x_t @ W: no g W^T for the data x_t
        if x.ndim == y.ndim == 2:  # made when summed (arrays.Product): W's T terms share one temporary
            return Product(g, y.T) if need_x else None, Product(x.T, g) if need_y else None
        x2, y2 = np.atleast_2d(x), (y[:, None] if y.ndim == 1 else y)  # a 1-D x is a row, a 1-D y a column
        g2 = (g[..., None, :] if y.ndim > 1 else g[..., None]) if x.ndim == 1 else g
        g2 = g2[..., None] if y.ndim == 1 else g2
        gx = g2 @ np.swapaxes(y2, -1, -2) if need_x else None
        gy = np.swapaxes(x2, -1, -2) @ g2 if need_y else None
        gx = gx[..., 0, :] if x.ndim == 1 and need_x else gx
        return gx, (gy[..., 0] if y.ndim == 1 and need_y else gy)


# ---- reductions --------------------------------------------------------------------------


def _expand(g: np.ndarray, ctx: Function) -> np.ndarray:
    """A reduced gradient broadcast back over the reduced axes."""
    return np.broadcast_to(g if ctx.keepdims or ctx.axis is None else np.expand_dims(g, ctx.axis), ctx.shape)


class Sum(Function):
    """z = sum_axis x;  dz/dx = 1 (g broadcast over the axis)"""
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, reduce_axes(axis, x.ndim), keepdims
        return np.sum(x, axis=ctx.axis, keepdims=keepdims)
    @staticmethod
    def backward(ctx, g): return _expand(g, ctx)


class Mean(Function):
    """z = mean_axis x;  dz/dx = 1/n (g / n broadcast over the axis)"""
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, reduce_axes(axis, x.ndim), keepdims
        z = np.mean(x, axis=ctx.axis, keepdims=keepdims)
        ctx.n = x.size // max(np.size(z), 1) if x.size else 1
        return z
    @staticmethod
    def backward(ctx, g): return _expand(g / ctx.n, ctx)


class Max(Function):
    """z = max_axis x;  dz/dx = 1/k at the k tied maxima (or at a NaN, as PyTorch), 0 elsewhere"""
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError("cannot take the max of an empty tensor")
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, reduce_axes(axis, x.ndim), keepdims
        z = np.max(x, axis=ctx.axis, keepdims=True)
        ctx.save_for_backward(x, z)
        return z if keepdims else np.squeeze(z, axis=ctx.axis)
    @staticmethod
    def backward(ctx, g):
        x, z = ctx.saved_tensors
        at_max = (x == z) | (np.isnan(x) & np.isnan(z))
        return at_max / at_max.sum(axis=ctx.axis, keepdims=True) * _expand(g, ctx)


# ---- shape -------------------------------------------------------------------------------


class Reshape(Function):
    """z = x in a new shape;  dz/dx = g in the old shape"""
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
        z = np.transpose(x, axes)  # checks the axes
        ctx.axes = None if axes is None else np.argsort([a % x.ndim for a in axes])
        return z
    @staticmethod
    def backward(ctx, g): return np.transpose(g, ctx.axes)


class GetItem(Function):
    """z = x[index] (basic or integer-array);  dz/dx = g placed at index, zero elsewhere"""
    __slots__ = ("index", "shape")  # no __dict__: a graph holds four per LSTM step
    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.shape = index, x.shape
        return x[index]
    @staticmethod
    def backward(ctx, g): return Scatter(ctx.index, g, ctx.shape)


class Concat(Function):
    """z = [x_1, ..., x_n] joined along axis;  dz/dx_i = the i-th block of g"""
    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis, ctx.bounds = axis, np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)
    @staticmethod
    def backward(ctx, g): return tuple(np.split(g, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """z = [x_1, ..., x_n] stacked on a new axis;  dz/dx_i = g[..., i, ...]"""
    @staticmethod
    def forward(ctx, *xs, axis=0):
        z = np.stack(xs, axis=axis)
        ctx.axis = axis % z.ndim
        return z
    @staticmethod
    def backward(ctx, g): return tuple(np.moveaxis(g, ctx.axis, 0))
