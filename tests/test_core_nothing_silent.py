"""Wrong numbers with no error, refused: in-place edits of saved arrays, odd array types and data,
non-numeric seeds, NaN in max; and the edge gradients that backward keeps for drawings."""

import numpy as np
import pytest

import tinygrad_rnn as tg


def test_writing_into_an_input_after_the_forward_is_caught_at_backward():
    w, x = tg.Tensor([1.0, 2.0], requires_grad=True), tg.Tensor([3.0, 4.0], requires_grad=True, name="x")
    with tg.scope("t=1"):
        y = (w * x).sum()
    x.data[:] = 100
    with pytest.raises(RuntimeError, match=r"mul: an array it saved for backward \(input 0 \(unnamed\) or "
                                           r"input 1 \(x\)\) was changed in place.*scope t=1"):
        y.backward()


def test_writing_into_an_ops_output_is_caught_at_backward():
    x = tg.Tensor([3.0, 4.0], requires_grad=True)
    e = x.exp()
    y = e.sum()
    e.data *= 0
    with pytest.raises(RuntimeError, match=r"exp: an array it saved for backward \(its output\) was changed"):
        y.backward()


def test_replacing_data_by_a_new_array_stays_allowed_and_uses_the_old_values():
    w, x = tg.Tensor([1.0, 2.0], requires_grad=True), tg.Tensor([3.0, 4.0], requires_grad=True)
    y = (w * x).sum()
    x.data = np.array([100.0, 100.0])
    y.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_arrays_with_nan_saved_are_not_mistaken_for_edited():
    x = tg.Tensor([np.nan, 1.0, np.nan], requires_grad=True)
    (x * x).sum().backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == 2.0


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_np_matrix_becomes_a_plain_array_so_star_stays_elementwise():
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    t = tg.Tensor(m, requires_grad=True)
    assert type(t.data) is np.ndarray
    y = t * t
    np.testing.assert_array_equal(y.data, np.asarray(m) ** 2)
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, 2 * np.asarray(m))


@pytest.mark.parametrize("data, match", [
    (np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "masked arrays are not supported"),
    (["1", "2"], "unsupported dtype <U1"),
    (np.array([1 + 2j]), "unsupported dtype complex128"),
    (np.array([1.0, None], dtype=object), "unsupported dtype object"),
    ([1.0, None], "unsupported dtype object"),
    ({"a": 1}, "cannot make a tensor from dict"),
])
def test_data_that_would_give_wrong_numbers_is_refused(data, match):
    with pytest.raises(TypeError, match=match):
        tg.Tensor(data)


def test_str_dtype_is_refused():
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.Tensor([1.0, 2.0], dtype=str)


@pytest.mark.parametrize("grad", [[None, 1.0], ["a", "b"], np.array([1.0, 2.0, 3.0])])
def test_backward_refuses_a_seed_that_is_not_numbers_of_the_right_shape(grad):
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: grad has shape"):
        (x * 2.0).backward(grad=grad)
    assert x.grad is None


def test_max_sends_the_gradient_to_a_nan_as_torch_does():
    x = tg.Tensor([1.0, np.nan, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, float("nan"), 3.0], dtype=torch.float64, requires_grad=True)
    t.max().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_each_op_keeps_what_it_sent_to_each_parent_and_they_sum_to_the_leaf_gradient():
    W = tg.Tensor(np.array([[0.5, -1.0], [2.0, 0.1]]), requires_grad=True)
    x = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    h1 = (x @ W).tanh()
    h2 = (h1 @ W).tanh()
    loss = (h2 * h2 + 1.0).sum()
    loss.backward()
    uses = [h1.parents[0], h2.parents[0]]  # the two matmuls that read W
    parts = [t.parent_grads[1] for t in uses]
    np.testing.assert_allclose(parts[0] + parts[1], W.grad, rtol=1e-14)
    assert loss.parents[0].parent_grads[1] is None  # the constant 1.0 gets nothing
    sl = tg.Tensor(np.arange(4.0), requires_grad=True)
    s = sl[1:3]
    (s * 2.0).sum().backward()
    np.testing.assert_array_equal(s.parent_grads[0], [0.0, 2.0, 2.0, 0.0])  # a slice's, in the parent's shape
    assert W.parent_grads == ()


def test_a_lean_pass_keeps_no_edge_gradients():
    W = tg.Tensor(np.eye(2), requires_grad=True)
    y = (tg.Tensor(np.ones((1, 2))) @ W).tanh().sum()
    y.backward(keep_intermediate=False)
    assert y.parent_grads is None and W.grad is not None


def test_a_matmul_edge_gradient_is_made_on_call_and_refused_after_an_in_place_step():
    W = tg.Tensor(np.array([[0.5, -1.0], [2.0, 0.1]]), requires_grad=True)
    x = tg.Tensor(np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), requires_grad=True)
    y = x @ W
    (y * y).sum().backward()
    gx, gW = y.parent_grads
    np.testing.assert_allclose(gW, x.data.T @ (2 * y.data), rtol=1e-15)  # d/dW sum((xW)^2) = x^T 2xW
    np.testing.assert_allclose(gx, (2 * y.data) @ W.data.T, rtol=1e-15)
    W.data -= 0.1 * W.grad  # an optimizer step, in place, after the backward
    with pytest.raises(RuntimeError, match=r"matmul: an array it saved for backward .* was changed in place"):
        _ = y.parent_grads
