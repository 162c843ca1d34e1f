"""What a Tensor holds: a plain numpy array of a real dtype, made from the data a user gives."""

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
    for kind in {array.dtype, np.dtype(array.dtype if dtype is None else dtype)}:
        if kind.kind not in "fiub":
            raise TypeError(f"Tensor: unsupported dtype {kind}; accepted: float, int or bool arrays")
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        dtype = np.float64  # Python numbers and lists
    return array if dtype is None or array.dtype == dtype else array.astype(dtype)


def flat(args: tuple) -> tuple:
    """f(2, 3) and f((2, 3)) alike: the arguments, or the one sequence given."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def fingerprint(a: Any) -> tuple:
    """A few elements of a (first, middle, last): a whole-array in-place edit changes them."""
    n = a.size if isinstance(a, np.ndarray) else 0
    return (a.item(0), a.item(n // 2), a.item(n - 1)) if n else ()


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
