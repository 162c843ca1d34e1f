"""`Function`: the base of every op, built-in or yours.

An op subclasses `Function` with two static methods on numpy arrays:
`forward(ctx, *arrays, **kwargs) -> array` and `backward(ctx, grad) -> one grad per input`.
`Op.apply(*tensors, **kwargs)` runs forward and, when a gradient is wanted, records the op
instance (the ctx) on the output together with its parents and the active scope.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import numpy as np

from .context import ANOMALY, LEAN, STATE, AnomalyError, scope_str
from .tensor import MADE_LEAN, Tensor, as_tensor

_new = object.__new__  # an instance without __init__, without looking __new__ up on the class
_data, _requires_grad = attrgetter("data"), attrgetter("requires_grad")  # map() them: no list-comp frame


class ShapeError(ValueError):
    """A shape that an op cannot take; the message names the op, the shapes and the scope."""


class Function:
    """Base class of ops. The instance is the `ctx` passed to forward and backward."""

    __slots__ = ("parents", "saved_tensors", "__dict__")
    op_name = "function"
    # A promise an op may make: every array its backward returns is new (and returned for
    # one input only), or the incoming gradient itself, or a view; never one kept elsewhere.
    # The engine then adopts the new ones as gradient buffers instead of copying them, and
    # may add into them in place. Not inherited: each class opts in.
    fresh_grads = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "op_name" not in cls.__dict__:
            cls.op_name = cls.__name__.lower()
        cls.fresh_grads = cls.__dict__.get("fresh_grads", False)

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """For each input, whether backward must return its gradient (else None will do)."""
        ps = self.parents
        if len(ps) == 2:  # binary ops ask most; no list to build
            return ps[0].requires_grad, ps[1].requires_grad
        return tuple(map(_requires_grad, ps))

    @staticmethod
    def forward(ctx: Function, *arrays: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad: np.ndarray) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Run the op on Tensors (other inputs become constants) and record it for backward."""
        parents = inputs
        for x in inputs:
            if not isinstance(x, Tensor):  # numbers and arrays become constant tensors
                parents = tuple(as_tensor(x) for x in inputs)
                break
        ctx = _new(cls)
        try:
            if kwargs:
                if len(parents) == 1:  # getitem, sum, reshape, ...: no tuple built from a map
                    out = cls.forward(ctx, parents[0].data, **kwargs)
                else:
                    out = cls.forward(ctx, *map(_data, parents), **kwargs)
            elif len(parents) == 2:  # the common arities without building a list and unpacking it
                out = cls.forward(ctx, parents[0].data, parents[1].data)
            elif len(parents) == 1:
                out = cls.forward(ctx, parents[0].data)
            else:
                out = cls.forward(ctx, *map(_data, parents))
        except ShapeError:
            raise
        except IndexError as e:  # stays an IndexError, so iterating over a tensor stops
            raise IndexError(_describe(cls.op_name, parents, str(e))) from None
        except ValueError as e:
            raise ShapeError(_describe(cls.op_name, parents, str(e))) from None
        if out.__class__ is not np.ndarray:
            out = np.asarray(out)
        if ANOMALY.threads and STATE.anomaly and out.dtype.kind == "f" and not np.isfinite(out).all():
            raise AnomalyError(_describe(cls.op_name, parents, "forward produced NaN or Inf"))
        if STATE.grad_enabled:
            for p in parents:
                if p.requires_grad:
                    if not LEAN.used:  # no thread ever entered lean(): nothing to look at
                        ctx.parents = parents
                        return Tensor._make(out, ctx)
                    for q in parents:  # tensors made inside lean() are recorded by their stand-ins
                        if q._node is not None:
                            parents = _stand_ins(parents, ctx)
                            break
                    ctx.parents = parents
                    t = Tensor._make(out, ctx)
                    if LEAN.threads and STATE.lean:
                        t._node = MADE_LEAN
                    return t
        return Tensor._make(out, None)


def _stand_ins(parents: tuple[Tensor, ...], ctx: Function) -> tuple[Tensor, ...]:
    """The parents as a graph records them: see `Tensor._stand_in` for those made inside lean()."""
    if len(parents) == 2:  # most ops: no list to build
        a, b = parents
        return (a if a._node is None else a._stand_in(ctx), b if b._node is None else b._stand_in(ctx))
    return tuple([p if p._node is None else p._stand_in(ctx) for p in parents])


def _describe(op: str, parents: tuple[Tensor, ...], what: str) -> str:
    shapes = ", ".join(str(p.shape) for p in parents)
    return f"{op}: {what} [input shapes {shapes}; scope {scope_str(STATE.scope)}]"
