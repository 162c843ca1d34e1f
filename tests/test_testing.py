"""tinygrad_rnn.testing: check_op catches wrong ops and passes right ones; the strategies
draw what they promise."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import arrays, broadcastable_shapes, check_op, shapes


class Cube(tg.Function):
    """z = a^3;  dz/da = 3 a^2"""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a ** 3

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return 3 * a ** 2 * g


class CubeWrongBackward(Cube):
    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return 2 * a ** 2 * g  # should be 3 a^2


class MulWrongSecondInput(tg.Function):
    """z = x * y with dz/dy deliberately x^2 instead of x."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x * x


class Hinge(tg.Function):
    """z = max(a, 0) with a correct backward everywhere except at the kink."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.saved_tensors[0] > 0)


def test_check_op_passes_a_right_function_subclass_and_a_callable_on_tensors():
    check_op(Cube, lambda a: a ** 3)
    check_op(lambda x, y: (x * y).tanh(), lambda a, b: np.tanh(a * b), n_inputs=2)


def test_check_op_catches_a_wrong_backward():
    with pytest.raises(tg.GradcheckError, match="autograd .* finite differences"):
        check_op(CubeWrongBackward, lambda a: a ** 3)


def test_check_op_catches_a_wrong_backward_for_one_input_of_two():
    with pytest.raises(tg.GradcheckError, match="input 1"):
        check_op(MulWrongSecondInput, np.multiply, n_inputs=2)


def test_check_op_catches_a_wrong_forward():
    with pytest.raises(AssertionError, match="check_op: forward differs from the reference"):
        check_op(Cube, lambda a: a ** 3 + 1e-3)
    with pytest.raises(AssertionError, match="check_op: forward gives shape"):
        check_op(lambda x: x.sum(axis=0), lambda a: a, shapes=shapes(min_dims=1).filter(lambda s: s[0] > 1))


def test_check_op_needs_avoid_at_a_kink_and_passes_with_it():
    check_op(Hinge, lambda a: np.maximum(a, 0), avoid=(0.0,))
    # without avoid, hypothesis finds the kink, where one-sided slopes disagree with any one gradient
    with pytest.raises(tg.GradcheckError):
        check_op(Hinge, lambda a: np.maximum(a, 0))


def test_check_op_with_fixed_shapes_per_input_domains_and_gradients_only():
    check_op(lambda x, y: x @ y, np.matmul, n_inputs=2, shapes=[(2, 3), (3, 4)])
    check_op(lambda x, y: x / y, None, n_inputs=2, domain=[(-1.0, 1.0), (1.0, 2.0)], shapes=(3,))


def test_check_op_rejects_mismatched_domains():
    with pytest.raises(ValueError, match="check_op: got 1 domains for n_inputs=2"):
        check_op(lambda x, y: x * y, np.multiply, n_inputs=2, domain=[(0.0, 1.0)])


@given(shape=shapes(min_dims=0, max_dims=3, max_side=4))
def test_shapes_respect_their_bounds(shape):
    assert 0 <= len(shape) <= 3 and all(1 <= n <= 4 for n in shape)


@given(shape_set=broadcastable_shapes(3, max_dims=3))
def test_broadcastable_shapes_broadcast_together(shape_set):
    assert len(shape_set) == 3
    np.broadcast_shapes(*shape_set)  # raises if they do not


@given(data=st.data(), shape=shapes(max_dims=2))
def test_arrays_stay_in_domain_and_away_from_kinks(data, shape):
    a = data.draw(arrays(shape, domain=(-1.0, 1.0), avoid=(0.0, 0.5), margin=1e-2))
    assert a.shape == shape and a.dtype == np.float64
    assert np.all((a >= -1.0) & (a <= 1.0))
    assert np.all(np.abs(a) >= 1e-2) and np.all(np.abs(a - 0.5) >= 1e-2)


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=2))
def test_distinct_arrays_have_no_near_ties(data, shape):
    a = data.draw(arrays(shape, domain=(0.1, 1.0), distinct=True))
    v = np.sort(a.ravel())
    assert np.all(np.diff(v) >= 1e-3 * (1 - 1e-9)) and v[0] >= 0.1 and v[-1] <= 1.0


def test_arrays_reject_an_empty_domain():
    with pytest.raises(ValueError, match="arrays: domain must be"):
        arrays((2,), domain=(1.0, 1.0))
