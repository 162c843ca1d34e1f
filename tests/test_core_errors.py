"""Every error the core raises says which op, which shapes (and scope), and what to do."""

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg

# ---- shapes ---------------------------------------------------------------------------


def test_matmul_misalignment_names_op_shapes_and_scope():
    a, b = tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((4, 5)))
    with tg.scope("t=3"), tg.scope("elman"), pytest.raises(tg.ShapeError) as err:
        a @ b
    msg = str(err.value)
    assert "matmul: shapes (2, 3) and (4, 5) are not aligned" in msg
    assert "scope t=3/elman" in msg and "must equal" in msg


def test_matmul_misalignment_with_a_vector_and_with_a_0d_operand():
    with pytest.raises(tg.ShapeError, match=r"matmul: shapes \(2, 3\) and \(2,\) are not aligned"):
        tg.Tensor(np.ones((2, 3))) @ tg.Tensor(np.ones(2))
    with pytest.raises(tg.ShapeError, match=r"matmul: shapes \(2, 3\) and \(\).*use \* instead.*scope"):
        tg.Tensor(np.ones((2, 3))) @ tg.Tensor(np.ones(()))


def test_shape_error_is_a_value_error():
    assert issubclass(tg.ShapeError, ValueError)


@pytest.mark.parametrize("name, op", [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                                      ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b)])
def test_bad_broadcast_names_the_op_and_both_shapes(name, op):
    with tg.scope("loss"), pytest.raises(tg.ShapeError) as err:
        op(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((4,))))
    msg = str(err.value)
    assert msg.startswith(f"{name}: ") and "(2, 3)" in msg and "(4,)" in msg and "scope loss" in msg


def test_reshape_and_concat_mismatches_name_the_op():
    with pytest.raises(tg.ShapeError, match=r"^reshape: .*\(2, 3\)"):
        tg.Tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(tg.ShapeError, match=r"^concat: .*input shapes \(2, 3\), \(2, 4\)"):
        tg.concat([np.ones((2, 3)), np.ones((2, 4))], axis=0)
    with pytest.raises(TypeError, match="stack: expects a non-empty list"):
        tg.stack([])


def test_index_out_of_range_is_an_index_error_naming_getitem():
    with pytest.raises(IndexError, match=r"^getitem: .*input shapes \(2, 3\)"):
        tg.Tensor(np.ones((2, 3)))[5]


def test_axis_out_of_range_names_op_and_dimensions():
    with pytest.raises(ValueError, match="sum: axis 2 is out of range for a tensor of 2 dimensions"):
        tg.Tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(ValueError, match="max: axis -3 is out of range"):
        tg.Tensor(np.ones((2, 3))).max(axis=-3)


# ---- types ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["text", {"a": 1}, object()])
def test_bad_data_types_list_the_accepted_ones(bad):
    with pytest.raises(TypeError, match="Tensor: cannot make a tensor from .*accepted: a numpy array, "
                                        "a Python number or \\(nested\\) list, or a Tensor"):
        tg.Tensor(bad)


def test_unsupported_array_dtype_lists_the_accepted_ones():
    with pytest.raises(TypeError, match=r"unsupported dtype <U1; accepted: float, int or bool arrays"):
        tg.Tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="Tensor: cannot make an array from list"):
        tg.Tensor([[1.0, 2.0], [3.0]])


def test_integer_data_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, got dtype int64"):
        tg.Tensor(np.array([1, 2]), requires_grad=True)
    with pytest.raises(TypeError, match="dtype=np.float64"):
        tg.Tensor(np.array([True]), requires_grad=True)


# ---- backward -------------------------------------------------------------------------


def test_backward_of_non_scalar_needs_a_grad():
    y = tg.Tensor(np.ones(2), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"backward: grad can be implied only for a scalar output; "
                                           r"this one has shape \(2,\): pass grad="):
        y.backward()
    with pytest.raises(ValueError, match=r"backward: grad has shape \(3,\) but the tensor has shape \(2,\)"):
        y.backward(np.ones(3))


def test_backward_of_a_tensor_without_grad_says_why():
    with pytest.raises(RuntimeError, match="backward: this tensor does not require grad"):
        (tg.Tensor([1.0]) * 2.0).sum().backward()


def test_user_op_returning_the_wrong_number_or_shape_of_gradients():
    class TwoIn(tg.Function):
        @staticmethod
        def forward(ctx, x, y): return x + y
        @staticmethod
        def backward(ctx, g): return g

    class Shrink(tg.Function):
        @staticmethod
        def forward(ctx, x): return x * 2
        @staticmethod
        def backward(ctx, g): return g[:1]

    x = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="twoin: backward returned 1 gradients for 2 inputs"):
        TwoIn.apply(x, x).sum().backward()
    with pytest.raises(RuntimeError, match=r"shrink: backward returned a gradient of shape \(1,\) "
                                           r"for an input of shape \(3,\)"):
        Shrink.apply(x).sum().backward()


# ---- anomaly detection ----------------------------------------------------------------


def test_detect_anomaly_in_forward_names_op_scope_and_input_shapes():
    x = tg.Tensor([1.0, -1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with tg.detect_anomaly(), tg.scope("t=2"), tg.scope("cell"), pytest.raises(tg.AnomalyError) as err:
            x.log()
        y = x.log()  # outside detect_anomaly: no check
    msg = str(err.value)
    assert msg.startswith("log: forward produced NaN or Inf") and "input shapes (2,)" in msg
    assert "scope t=2/cell" in msg and np.isnan(y.data[1])


def test_detect_anomaly_in_backward_names_op_scope_and_input_shapes():
    x = tg.Tensor([0.0, 4.0], requires_grad=True)
    with tg.scope("t=7"):
        y = (x ** 0.5).sum()  # finite forward, infinite slope at 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as err:
            y.backward()
    msg = str(err.value)
    assert msg.startswith("pow: backward produced NaN or Inf for an input of shape (2,)")
    assert "input shapes (2,)" in msg and "scope t=7" in msg
    assert issubclass(tg.AnomalyError, FloatingPointError)


# ---- gradcheck ------------------------------------------------------------------------


class _WrongSquare(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.where(np.arange(x.size).reshape(x.shape) == 4, 3 * x, 2 * x)  # wrong at [1, 1]


def test_gradcheck_error_names_input_worst_element_and_both_values():
    a = np.full((2, 3), 2.0)
    b = tg.Tensor(np.ones((2, 3)), requires_grad=True, name="b")
    with pytest.raises(tg.GradcheckError) as err:
        tg.gradcheck(lambda x, y: _WrongSquare.apply(y) + x, [a, b])
    msg = str(err.value)
    assert "input 1 ('b') of shape (2, 3)" in msg and "worst element (1, 1)" in msg
    w = np.random.default_rng(0).uniform(0.5, 1.5, (2, 3))[1, 1]  # gradcheck's fixed output weights
    assert f"autograd {3 * w:.10g}" in msg and f"finite differences {2 * w:.6g}" in msg


def test_gradcheck_returns_false_instead_of_raising_when_asked():
    assert tg.gradcheck(lambda x: _WrongSquare.apply(x), [np.ones((2, 3))], raise_exception=False) is False
    assert tg.gradcheck(lambda x: x * x, [np.ones((2, 3))], raise_exception=False) is True


def test_gradcheck_warns_on_float32_and_needs_an_input_to_check():
    x = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="gradcheck: input 0 is float32"):
        assert tg.gradcheck(lambda t: t * 2.0, [x], eps=1e-2, atol=1e-2, rtol=1e-2)
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        tg.gradcheck(lambda t: t * 2.0, [tg.Tensor(np.ones(2))])


def test_gradcheck_fails_where_the_function_is_not_finite():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(tg.GradcheckError, match=r"worst element \(0,\).*finite differences nan"):
            tg.gradcheck(lambda t: t.log(), [np.array([-1.0, 2.0])])


# ---- context and pow ------------------------------------------------------------------


def test_pow_exponent_and_scope_name_errors():
    with pytest.raises(ValueError, match=r"pow: .*\[input shapes \(3,\), \(2,\)"):
        tg.Tensor([1.0, 2.0, 3.0]) ** np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="scope: name must be a non-empty str, got ''"):
        with tg.scope(""):
            pass
