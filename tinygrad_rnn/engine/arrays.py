"""Array helpers of the engine: what a Tensor accepts, shapes and axes, fingerprints, un-broadcasting,
and the gradient terms kept as recipes (a slice's, a 2-D matmul's)."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """data as a plain numpy array: a float array keeps its dtype, Python numbers and lists become float64."""
    if isinstance(data, np.ma.MaskedArray):
        raise TypeError("Tensor: masked arrays are not supported (the gradient would ignore the mask); "
                        "pass arr.filled(value) or a plain array")
    if not isinstance(data, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__}; accepted: a numpy "
                        "array, a Python number or (nested) list, or a Tensor")
    try:
        array = np.asarray(data)  # np.matrix becomes a plain ndarray (with * as elementwise product)
    except ValueError as e:
        raise TypeError(f"Tensor: cannot make an array from {type(data).__name__}: {e}") from None
    for kind in (array.dtype, array.dtype if dtype is None else np.dtype(dtype)):
        if kind.kind not in "fiub":
            raise TypeError(f"Tensor: unsupported dtype {kind}; accepted: float, int or bool arrays")
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        dtype = np.float64  # Python numbers and lists
    return array if dtype is None or array.dtype == dtype else array.astype(dtype)


def flat(args: tuple) -> tuple:
    """f(2, 3) and f((2, 3)) alike: the arguments, or the one sequence given."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def fingerprint(arrays: tuple) -> float:
    """The sum of each array's first and last elements: an in-place edit of a whole array changes it."""
    total = 0.0
    for a in arrays:
        if getattr(a, "size", 0):
            total += a.item(0) + a.item(-1)
    return total


def shape_of(shape: Any) -> tuple[int, ...]:
    """An int or a sequence of ints as a shape tuple."""
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)


def reduce_axes(axis: Any, ndim: int) -> tuple[int, ...] | None:
    """A reduction's axis (an int, a sequence, or None for all) as a tuple of non-negative ints."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if any(not -max(ndim, 1) <= a < max(ndim, 1) for a in axes):
        raise ValueError(f"axis {axis} is out of range for a tensor of {ndim} dimensions")
    return tuple(int(a) % max(ndim, 1) for a in axes)


class Lazy:
    """A gradient term kept as the recipe that makes it, made only when added into a sum (`add_into`)."""
    __slots__ = ("shape", "dtype")

    def add_into(self, buffer: np.ndarray | None = None) -> np.ndarray:
        """buffer (a new array if None) with this term added; returns it."""
        raise NotImplementedError


class Scatter(Lazy):
    """A slice's gradient: `values` at `index` of a zero array of `shape`. The engine adds every slice's
    gradient of one tensor into one buffer, so slicing a sequence step by step costs time linear in T."""
    __slots__ = ("index", "values")

    def __init__(self, index: Any, values: np.ndarray, shape: tuple[int, ...]) -> None:
        self.index, self.values, self.shape, self.dtype = index, values, shape, values.dtype

    def add_into(self, buffer: np.ndarray | None = None) -> np.ndarray:
        buffer = np.zeros(self.shape, self.dtype) if buffer is None else buffer
        parts = self.index if isinstance(self.index, tuple) else (self.index,)
        if all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in parts):
            buffer[self.index] += self.values  # basic indexing: no position repeats
        else:
            np.add.at(buffer, self.index, self.values)  # repeated integer indices accumulate
        return buffer


class Product(Lazy):
    """A matmul's gradient a @ b (2-D). A weight shared by T steps gets T of them; made one at a time as
    they are summed, they cost one temporary array instead of T kept ones, and each stays on call."""
    __slots__ = ("a", "b")

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a, self.b = a, b
        self.shape, self.dtype = (a.shape[0], b.shape[1]), np.result_type(a, b)

    def add_into(self, buffer: np.ndarray | None = None) -> np.ndarray:
        return self.a @ self.b if buffer is None else np.add(buffer, self.a @ self.b, out=buffer)


def unbroadcast(g: np.ndarray, shape: tuple[int, ...], op: str = "backward") -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched, giving an array of `shape`."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes, fits = list(range(lead)), lead >= 0  # the axes broadcasting added in front, then those it stretched
    for i, (n, m) in enumerate(zip(shape, g.shape[max(lead, 0):]), lead):
        if n != m:
            axes.append(i)
            fits = fits and n == 1
    if not fits:
        raise RuntimeError(f"{op}: backward returned a gradient of shape {g.shape} for an input of shape "
                           f"{shape}; return one that broadcasts from the input's shape")
    return np.asarray(g.sum(axis=tuple(axes)).reshape(shape))
