"""Property tests for ops, the built-in ones and yours: hypothesis strategies and `check_op`.

`check_op` draws shapes (mutually broadcastable ones for ops of several inputs) and float64
values in the op's domain, then checks, for every draw, the forward value against a numpy
reference and the gradient against central finite differences (`tg.gradcheck`):

    import numpy as np
    import tinygrad_rnn as tg
    from tinygrad_rnn.testing import check_op

    class Cube(tg.Function):
        @staticmethod
        def forward(ctx, a): ctx.save_for_backward(a); return a ** 3
        @staticmethod
        def backward(ctx, g): (a,) = ctx.saved_tensors; return 3 * a ** 2 * g

    def test_cube():
        check_op(Cube, lambda a: a ** 3)                               # a Function subclass
        check_op(lambda x, y: x * y, np.multiply, n_inputs=2)          # or any function of Tensors
        check_op(lambda x: x.log(), np.log, domain=(0.1, 10.0))        # keep to the op's domain
        check_op(lambda x: x.relu(), lambda a: np.maximum(a, 0), avoid=(0.0,))   # away from the kink

Call it from a plain test function (not from inside another `@given` test). A failure raises
the error of the smallest failing example hypothesis finds: `tg.GradcheckError` for a wrong
gradient, `AssertionError` for a wrong forward value. The strategies below are public too,
for tests that need more than `check_op` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .engine.function import Function
from .engine.tensor import Tensor
from .gradcheck import gradcheck

Shape = tuple[int, ...]
Domain = tuple[float, float]

__all__ = ["arrays", "broadcastable_shapes", "check_op", "shapes"]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[Shape]:
    """Array shapes with min_dims..max_dims axes of min_side..max_side elements each."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


_one_shape = shapes  # check_op's `shapes` argument hides the function inside it


def broadcastable_shapes(n: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
                         max_side: int = 4) -> st.SearchStrategy[tuple[Shape, ...]]:
    """n shapes that numpy broadcasts together (axes of 1 and missing leading axes included)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side,
    ).map(lambda b: tuple(b.input_shapes))


def arrays(shape: Shape, domain: Domain = (-2.0, 2.0), avoid: Sequence[float] = (),
           distinct: bool = False, margin: float = 1e-3) -> st.SearchStrategy[np.ndarray]:
    """Float64 arrays of `shape` with values in [lo, hi] = domain.

    Every value stays at least `margin` away from each point in `avoid` (a kink, such as
    relu's 0). With distinct=True the values are on a grid of step `margin`, all different,
    so no two tie (a tie makes max's finite differences disagree with any one gradient).
    `margin` should be well above gradcheck's eps (1e-6).
    """
    lo, hi = (float(v) for v in domain)
    if not lo < hi:
        raise ValueError(f"arrays: domain must be (lo, hi) with lo < hi, got {domain}")

    def away(v: float) -> bool:
        return all(abs(v - a) >= margin for a in avoid)

    if distinct:
        grid = st.integers(math.ceil(lo / margin), math.floor(hi / margin)).filter(lambda k: away(k * margin))
        return hnp.arrays(np.int64, shape, elements=grid, unique=True).map(lambda k: k * margin)
    values = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=values.filter(away) if avoid else values)


def check_op(op: type[Function] | Callable[..., Tensor], reference: Callable[..., Any] | None,
             n_inputs: int = 1, domain: Domain | Sequence[Domain] = (-2.0, 2.0),
             avoid: Sequence[float] = (), distinct: bool = False, broadcast: bool = True,
             shapes: st.SearchStrategy | Sequence[Shape] | None = None,
             max_examples: int | None = None, atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """Property-test an op: forward(x) == reference(x) and gradcheck(op, x) over drawn inputs.

    op:        a `Function` subclass (called through `.apply`) or a callable on Tensors.
    reference: the same function on numpy arrays, or None to check gradients only.
    n_inputs:  how many float64 inputs op takes.
    domain:    (lo, hi) for every input, or one (lo, hi) per input (e.g. (0.1, 10) for log).
    avoid, distinct: as in `arrays` (points to stay away from; no ties).
    broadcast: draw mutually broadcastable shapes for several inputs (else one common shape).
    shapes:    instead of the default draw: one shape for every input or a tuple of shapes
               (one per input), or a strategy that draws either (e.g. `shapes(min_dims=1)`
               for an op with axis=0, or aligned pairs for a matmul).
    max_examples: draws per call; None uses the active hypothesis profile's number.
    atol, rtol: gradcheck's tolerances. Forward values must match to rtol=1e-7, atol=1e-10.
    Raises the smallest failing example's error; returns None when every draw passes.
    """
    fn = op.apply if isinstance(op, type) and issubclass(op, Function) else op
    domains = [tuple(domain)] * n_inputs if np.ndim(domain) == 1 else [tuple(d) for d in domain]
    if len(domains) != n_inputs:
        raise ValueError(f"check_op: got {len(domains)} domains for n_inputs={n_inputs}")
    if shapes is None:
        shapes = (broadcastable_shapes(n_inputs) if broadcast and n_inputs > 1
                  else _one_shape().map(lambda s: (s,) * n_inputs))
    elif not isinstance(shapes, st.SearchStrategy):
        shapes = st.just(tuple(shapes))

    config = settings(database=None, deadline=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                             HealthCheck.data_too_large])
    if max_examples is not None:
        config = settings(config, max_examples=max_examples)

    @config
    @given(data=st.data())
    def _property(data: st.DataObject) -> None:
        drawn = data.draw(shapes, label="shapes")
        if all(isinstance(n, (int, np.integer)) for n in drawn):  # one shape for every input
            drawn = (tuple(drawn),) * n_inputs
        if len(drawn) != n_inputs:
            raise ValueError(f"check_op: the shapes strategy gave {len(drawn)} shapes "
                             f"for n_inputs={n_inputs}")
        xs = [data.draw(arrays(s, d, avoid, distinct), label=f"input {i}")
              for i, (s, d) in enumerate(zip(drawn, domains))]
        if reference is not None:
            out = fn(*[Tensor(x) for x in xs])
            expected = np.asarray(reference(*[x.copy() for x in xs]))
            assert out.shape == expected.shape, (
                f"check_op: forward gives shape {out.shape}, the reference {expected.shape}")
            np.testing.assert_allclose(out.data, expected, rtol=1e-7, atol=1e-10,
                                       err_msg="check_op: forward differs from the reference")
        gradcheck(fn, xs, atol=atol, rtol=rtol)

    _property()
