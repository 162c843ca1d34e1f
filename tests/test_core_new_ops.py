"""The ops added for users coming from micrograd/tinygrad/autograd: sqrt, abs, min, clip,
maximum/minimum, pow with a tensor exponent. Each is property-tested through check_op (values
against numpy, gradients against finite differences), and its rule at the kinks is pinned."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.testing import check_op, shapes


def test_sqrt():
    check_op(lambda x: x.sqrt(), np.sqrt, domain=(0.1, 4.0))


def test_abs_away_from_zero_and_its_gradient_at_zero_is_zero():
    check_op(lambda x: x.abs(), np.abs, avoid=(0.0,))
    x = tg.Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 1.0])


def test_maximum_and_minimum_broadcast():
    check_op(lambda x, y: x.maximum(y), np.maximum, n_inputs=2, distinct=True)
    check_op(lambda x, y: x.minimum(y), np.minimum, n_inputs=2, distinct=True)


def test_ties_in_maximum_and_minimum_split_the_gradient():
    for name in ("maximum", "minimum"):
        x, y = tg.Tensor([1.0, 2.0], requires_grad=True), tg.Tensor([1.0, 5.0], requires_grad=True)
        getattr(x, name)(y).sum().backward()
        big = name == "maximum"
        np.testing.assert_array_equal(x.grad, [0.5, 0.0 if big else 1.0])
        np.testing.assert_array_equal(y.grad, [0.5, 1.0 if big else 0.0])


def test_min_reduction_and_its_ties():
    check_op(lambda x: x.min(), np.min, distinct=True)
    check_op(lambda x: x.min(axis=0), lambda a: np.min(a, axis=0), distinct=True, shapes=shapes(min_dims=1))
    x = tg.Tensor([3.0, 1.0, 1.0], requires_grad=True)
    x.min().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])


def test_clip_passes_the_gradient_only_inside_the_range():
    check_op(lambda x: x.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), avoid=(-0.5, 0.5))
    check_op(lambda x: x.clip(lo=0.0), lambda a: np.clip(a, 0.0, None), avoid=(0.0,))
    x = tg.Tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])  # ends included, as torch.clamp
    with pytest.raises(ValueError, match="clip: give lo, hi or both"):
        x.clip()


def test_pow_with_a_tensor_exponent_broadcasts():
    check_op(lambda x, y: x ** y, np.power, n_inputs=2, domain=[(0.2, 3.0), (-2.0, 2.0)])
    check_op(lambda x, y: y ** x, lambda a, b: b ** a, n_inputs=2, domain=[(-2.0, 2.0), (0.2, 3.0)])


def test_pow_with_exponent_zero_has_zero_gradient_also_at_zero():
    x = tg.Tensor([0.0, 2.0], requires_grad=True)
    (x ** 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


@pytest.mark.parametrize("torch_name, ours", [("sqrt", lambda x: x.sqrt()), ("abs", lambda x: x.abs()),
                                               ("clamp", lambda x: x.clip(-0.3, 0.4))])
def test_unary_gradients_match_torch(torch_name, ours):
    torch = pytest.importorskip("torch")
    a = np.array([0.1, 0.5, -0.2, 0.0, 0.4, 2.0])
    a = np.abs(a) + 0.05 if torch_name == "sqrt" else a
    x = tg.Tensor(a, requires_grad=True)
    ours(x).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    out = getattr(torch, torch_name)(t, -0.3, 0.4) if torch_name == "clamp" else getattr(torch, torch_name)(t)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
