"""`Function`, the base of every op: `forward(ctx, *arrays, **kwargs) -> array` and `backward(ctx, grad)
-> one grad per input`, static methods on numpy arrays. `Op.apply(*tensors)` runs forward and, when grad
is on and an input needs a gradient, records the op instance (the ctx) on the output, with its parents."""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import Lazy, fingerprint
from .context import STATE, AnomalyError, ShapeError, describe
from .tensor import Tensor


class Function:
    """Base class of ops. The instance is the `ctx` passed to forward and backward."""

    op_name = "function"
    __slots__ = ("parents", "__dict__")  # the dict: what an op saves, what backward sent, an op's settings
    saved_tensors, _sent = (), None  # what forward saved; what the last backward sent to each input

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.op_name = cls.__dict__.get("op_name", cls.__name__.lower())

    @staticmethod
    def forward(ctx: Function, *arrays: Any, **kwargs: Any) -> np.ndarray: raise NotImplementedError
    @staticmethod
    def backward(ctx: Function, grad: np.ndarray) -> Any: raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Run the op on Tensors (other inputs become constants) and record it for backward."""
        ctx, parents, arrays = cls(), [], []
        for x in inputs:
            parents.append(x if isinstance(x, Tensor) else Tensor(x))
            arrays.append(parents[-1].data)
        try:
            out = np.asarray(cls.forward(ctx, *arrays, **kwargs))
        except (IndexError, TypeError, ValueError) as e:  # an IndexError keeps its type: it still ends a loop
            wrap = ShapeError if isinstance(e, ValueError) else type(e)  # a ShapeError from inside: as it is
            raise e if isinstance(e, ShapeError) else wrap(describe(cls.op_name, parents, str(e))) from None
        if STATE.anomaly and out.dtype.kind == "f" and not np.isfinite(out).all():
            raise AnomalyError(describe(cls.op_name, parents, "forward produced NaN or Inf"))
        if STATE.grad_enabled:
            for p in parents:
                if p.requires_grad:  # record: the output knows its op, the op its inputs
                    ctx.parents = tuple([q._as_input(ctx) for q in parents])  # lean ones: maybe a stand-in
                    return (STATE.output_type or Tensor)(out, ctx=ctx)
        return Tensor(out)

    needs_input_grad = property(lambda self: tuple([p.requires_grad for p in self.parents]),
                                doc="For each input, whether backward must return its gradient (else None).")

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays for backward, with a fingerprint to notice if they are changed in place meanwhile."""
        self.saved_tensors, self._stamp = arrays, fingerprint(arrays)

    def _check_saved(self, scope: tuple[str, ...]) -> None:
        """Raise if an array saved for backward was changed in place after it was saved."""
        saved = self.saved_tensors
        if saved and fingerprint(saved) != self._stamp and repr(fingerprint(saved)) != repr(self._stamp):
            names = " or ".join([f"input {i} ({p.name or 'unnamed'})" for i, p in enumerate(self.parents)
                                 if any(p.data is a for a in saved)] or ["its output"])
            what = f"an array it saved for backward ({names}) was changed in place; assign a new array to "
            raise RuntimeError(describe(self.op_name, self.parents, what + ".data instead of writing into it "
                                        "(or run the forward again)", scope))

    def parent_grads(self) -> tuple[np.ndarray | None, ...] | None:
        """The gradients the last backward sent to each parent (None if that pass kept none)."""
        sent = self._sent
        if sent is not None and any(isinstance(g, Lazy) for g in sent):
            self._check_saved(())  # lazy terms are made now, from the saved arrays: these must be unchanged
        return None if sent is None else tuple([g.add_into() if isinstance(g, Lazy) else g for g in sent])
