"""Every primitive op: forward against numpy and gradient against finite differences over
hypothesis-drawn shapes (broadcasting included), plus the edge cases each op promises."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import arrays, broadcastable_shapes, check_op, shapes

# ---- elementwise binary, with broadcasting ---------------------------------------------


@pytest.mark.parametrize("op, ref", [
    (lambda x, y: x + y, np.add),
    (lambda x, y: x - y, np.subtract),
    (lambda x, y: x * y, np.multiply),
])
def test_binary_ops_broadcast_forward_and_gradient(op, ref):
    check_op(op, ref, n_inputs=2)


def test_add_of_several_terms_is_one_node_whose_terms_each_get_the_gradient_unbroadcast():
    check_op(lambda x, y, z: tg.add(x, y, z), lambda a, b, c: a + b + c, n_inputs=3)
    check_op(lambda *xs: tg.add(*xs), lambda *a: sum(a[1:], a[0]), n_inputs=4)
    x, b = tg.Tensor(np.ones((2, 3)), requires_grad=True), tg.Tensor(np.arange(3.0), requires_grad=True)
    z = tg.add(x, 2.0, b)
    assert z.op == "add" and len(z.parents) == 3 and z.parents[1].data.dtype == np.float64
    (z * z).sum().backward()
    np.testing.assert_allclose(b.grad, (2 * (1.0 + 2.0 + np.arange(3.0))) * 2)  # summed over the 2 rows
    assert tg.add(tg.Tensor(np.ones(2, np.float32)), 1.0).dtype == np.float32  # constants: the tensor's dtype
    with pytest.raises(tg.ShapeError, match=r"add: .*\(2, 3\), \(4,\)"):
        tg.add(x, np.ones(4))


def test_div_forward_and_gradient_on_both_signs_of_the_denominator():
    check_op(lambda x, y: x / y, np.divide, n_inputs=2, domain=[(-2.0, 2.0), (0.5, 2.0)])
    check_op(lambda x, y: x / y, np.divide, n_inputs=2, domain=[(-2.0, 2.0), (-2.0, -0.5)])


def test_reverse_operators_match_numpy_and_hand_derivatives():
    a = np.array([0.5, -2.0, 4.0])
    for expr, value, slope in [
        (lambda x: 2 - x, 2 - a, -np.ones(3)),
        (lambda x: 1 / x, 1 / a, -1 / a ** 2),
        (lambda x: 3 * x, 3 * a, 3 * np.ones(3)),
        (lambda x: 1.5 + x, 1.5 + a, np.ones(3)),
        (lambda x: np.array([1.0, 2.0, 3.0]) - x, np.array([1.0, 2.0, 3.0]) - a, -np.ones(3)),
    ]:
        x = tg.Tensor(a, requires_grad=True)
        y = expr(x)
        assert isinstance(y, tg.Tensor)
        np.testing.assert_allclose(y.data, value, rtol=1e-15)
        y.sum().backward()
        np.testing.assert_allclose(x.grad, slope, rtol=1e-15)


def test_constant_operand_does_not_truncate_an_integer_tensor():
    i = tg.Tensor(np.array([1, 2]))
    np.testing.assert_array_equal((i + 2.5).data, [3.5, 4.5])
    np.testing.assert_array_equal((0.5 * i).data, [0.5, 1.0])


# ---- elementwise unary ----------------------------------------------------------------


def _sigmoid_ref(a):
    return np.exp(-np.logaddexp(0.0, -a))  # 1 / (1 + e^-a) written without overflow


@pytest.mark.parametrize("op, ref, domain, avoid", [
    (lambda x: -x, np.negative, (-2.0, 2.0), ()),
    (lambda x: x.exp(), np.exp, (-3.0, 3.0), ()),
    (lambda x: x.log(), np.log, (0.1, 10.0), ()),
    (lambda x: x.tanh(), np.tanh, (-3.0, 3.0), ()),
    (lambda x: x.sigmoid(), _sigmoid_ref, (-8.0, 8.0), ()),
    (lambda x: x.relu(), lambda a: np.maximum(a, 0.0), (-2.0, 2.0), (0.0,)),
])
def test_unary_ops_forward_and_gradient(op, ref, domain, avoid):
    check_op(op, ref, domain=domain, avoid=avoid)


@pytest.mark.parametrize("p, domain", [(2.0, (-2, 2)), (3.0, (-2, 2)), (1.0, (-2, 2)),
                                       (0.5, (0.1, 4)), (-1.5, (0.2, 4)), (0.0, (-2, 2))])
def test_pow_forward_and_gradient(p, domain):
    check_op(lambda x: x ** p, lambda a: a ** p, domain=domain)


@pytest.mark.parametrize("p", [2.0, 3.0, 0.5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_pow_under_a_reduction_gets_the_broadcast_gradient_in_one_pass(p, dtype, reduce):
    a = np.linspace(0.2, 3.0, 12).reshape(3, 4).astype(dtype)
    x = tg.Tensor(a, requires_grad=True)
    y = x ** p
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, a.astype(np.float64) ** p, rtol=1e-6)
    getattr(y, reduce)().backward()  # its gradient reaches pow as one value broadcast
    scale = 1.0 if reduce == "sum" else 1.0 / a.size
    assert x.grad.dtype == dtype and x.grad.shape == a.shape
    np.testing.assert_allclose(x.grad, scale * p * a.astype(np.float64) ** (p - 1), rtol=1e-6)


def test_pow_zero_has_zero_gradient_at_zero():
    x = tg.Tensor([0.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_pow_with_a_tensor_exponent_gives_both_gradients():
    x, y = tg.Tensor([2.0, 3.0], requires_grad=True), tg.Tensor([3.0, 0.5], requires_grad=True)
    (x ** y).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0 * 2.0 ** 2, 0.5 * 3.0 ** -0.5])  # y x^(y-1)
    np.testing.assert_allclose(y.grad, [8.0 * np.log(2.0), 3.0 ** 0.5 * np.log(3.0)])  # x^y ln x
    assert tg.gradcheck(lambda a, b: (a ** b).sum(), [np.array([0.5, 1.5]), np.array([-1.0, 2.5])])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_has_no_overflow_warning_and_exact_tails_up_to_1e4(dtype):
    a = np.array([-1e4, -800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0, 1e4], dtype=dtype)
    x = tg.Tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow) fails the test
        y = x.sigmoid()
        y.sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    ref = _sigmoid_ref(a.astype(np.float64))
    np.testing.assert_allclose(y.data, ref, rtol=1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(x.grad, ref * (1 - ref), rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and np.all(np.isfinite(x.grad))


def test_relu_gradient_at_zero_is_zero_like_pytorch():
    x = tg.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


# ---- matmul ---------------------------------------------------------------------------


@st.composite
def _matmul_shapes(draw):
    """x @ y shapes: 1-D or (batched, broadcasting) matrices on either side."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    bx, by = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    x = (k,) if draw(st.booleans()) else bx + (n, k)
    y = (k,) if draw(st.booleans()) else by + (k, m)
    return x, y


def test_matmul_forward_and_gradient_1d_2d_batched_broadcast():
    check_op(lambda x, y: x @ y, np.matmul, n_inputs=2, shapes=_matmul_shapes())


def test_matmul_1d_by_1d_is_a_dot_product_with_hand_gradients():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0])
    x, y = tg.Tensor(a, requires_grad=True), tg.Tensor(b, requires_grad=True)
    z = x @ y
    assert z.shape == () and z.item() == pytest.approx(6.0)
    z.backward()
    np.testing.assert_array_equal(x.grad, b)
    np.testing.assert_array_equal(y.grad, a)


def test_matmul_with_numpy_operand_on_either_side():
    w = np.arange(6.0).reshape(2, 3)
    x = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    (w @ x).sum().backward()  # numpy defers to Tensor.__rmatmul__
    np.testing.assert_allclose(x.grad, w.sum(axis=0)[:, None] * np.ones((3, 2)))
    x.grad = None
    (x @ w).sum().backward()
    np.testing.assert_allclose(x.grad, np.tile(w.sum(axis=1), (3, 1)))


# ---- reductions -----------------------------------------------------------------------


@st.composite
def _reduction_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape),
                         max_size=len(shape)))
    axis = draw(st.sampled_from([None, tuple(axes)] + ([axes[0]] if axes else [])))
    return shape, axis, draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@given(case=_reduction_case(), data=st.data())
def test_reductions_over_axis_tuple_with_keepdims(name, case, data):
    shape, axis, keepdims = case
    a = data.draw(arrays(shape, distinct=(name == "max")))  # no ties: one-sided max slopes differ
    x = tg.Tensor(a)
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, getattr(np, name)(a, axis=axis, keepdims=keepdims), rtol=1e-12)
    assert tg.gradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), [a])


def test_max_ties_share_the_gradient_equally():
    x = tg.Tensor([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3, 0]])
    y = tg.Tensor([2.0, 7.0, 7.0], requires_grad=True)
    y.max().backward()
    np.testing.assert_allclose(y.grad, [0, 0.5, 0.5])


def test_mean_gradient_is_one_over_count():
    x = tg.Tensor(np.zeros((2, 5)), requires_grad=True)
    x.mean(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 5), 0.2))


# ---- shape ops ------------------------------------------------------------------------


@given(shape=shapes(max_dims=3), data=st.data())
def test_reshape_and_transpose_forward_and_gradient(shape, data):
    a = data.draw(arrays(shape))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    signed = tuple(p - len(shape) if data.draw(st.booleans()) else p for p in perm)  # negative axes
    flat = (-1,) if data.draw(st.booleans()) else (a.size,)
    np.testing.assert_array_equal(tg.Tensor(a).transpose(*signed).data, np.transpose(a, perm))
    weights = np.arange(a.size).reshape(np.transpose(a, perm).shape)
    assert tg.gradcheck(lambda t: t.transpose(*signed) * weights, [a])
    assert tg.gradcheck(lambda t: t.reshape(*flat) * np.arange(a.size), [a])
    assert tg.gradcheck(lambda t: t.T * np.arange(a.size).reshape(a.T.shape), [a])


def test_transpose_with_negative_axes_gradient_has_the_input_shape():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = np.arange(6.0).reshape(3, 2)
    (x.transpose(-1, 0) * w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.T)


# ---- getitem --------------------------------------------------------------------------

_BASIC = [np.s_[1], np.s_[-1], np.s_[1:], np.s_[::-2], np.s_[:, 0], np.s_[..., 1:3], np.s_[None, 0],
          np.s_[0, ::2, None], np.s_[-2:, 1, 1:]]


@pytest.mark.parametrize("index", _BASIC, ids=str)
def test_getitem_basic_forward_and_gradient(index):
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    np.testing.assert_array_equal(tg.Tensor(a)[index].data, a[index])
    assert tg.gradcheck(lambda t: t[index], [a])


def test_getitem_integer_array_with_repeated_indices_accumulates():
    x = tg.Tensor(np.arange(4.0), requires_grad=True)
    y = x[np.array([0, 2, 2, 2, 3, 0])]
    np.testing.assert_array_equal(y.data, [0, 2, 2, 2, 3, 0])
    y.backward(np.array([1.0, 10.0, 100.0, 1000.0, 5.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1110.0, 5.0])


def test_getitem_mixed_integer_arrays_and_masks_match_finite_differences():
    a = np.random.default_rng(1).standard_normal((4, 3))
    rows, cols = np.array([3, 0, 3]), np.array([1, 1, 1])
    for index in [(rows, cols), (rows,), (slice(None), [2, 2, 0]), a > 0, tg.Tensor(np.array([1, 1]))]:
        assert tg.gradcheck(lambda t, index=index: t[index], [a])


def test_getitem_slices_of_one_tensor_add_up():
    x = tg.Tensor(np.arange(5.0), requires_grad=True)
    ((x[1:4] * 2).sum() + (x[:2] * 3).sum() + x[3]).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 5.0, 2.0, 3.0, 0.0])


def test_iterating_over_a_tensor_yields_rows_and_stops():
    rows = list(tg.Tensor(np.arange(6.0).reshape(3, 2)))
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].data, [4.0, 5.0])


# ---- concat and stack -----------------------------------------------------------------


@given(shape=shapes(min_dims=1, max_dims=3), n=st.integers(1, 3), data=st.data())
def test_concat_and_stack_forward_and_gradient(shape, n, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    k = axis % len(shape)
    parts = [data.draw(arrays(shape[:k] + (s,) + shape[k + 1:])) for s in sizes]
    np.testing.assert_array_equal(tg.concat([tg.Tensor(p) for p in parts], axis=axis).data,
                                  np.concatenate(parts, axis=axis))
    assert tg.gradcheck(lambda *ts: tg.concat(ts, axis=axis), parts)
    same = [data.draw(arrays(shape)) for _ in range(n)]
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(tg.stack([tg.Tensor(p) for p in same], axis=new_axis).data,
                                  np.stack(same, axis=new_axis))
    assert tg.gradcheck(lambda *ts: tg.stack(ts, axis=new_axis), same)


def test_concat_accepts_constants_and_routes_gradient_only_to_tensors():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = tg.concat([x, np.array([5.0]), x], axis=0)
    np.testing.assert_array_equal(y.data, [1, 2, 5, 1, 2])
    y.backward(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])
