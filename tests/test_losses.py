"""Losses and softmax: values against plain numpy (and PyTorch when installed), gradients
against finite differences, stability at huge logits."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tinygrad_rnn as tg
from tinygrad_rnn.nn import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse_loss,
    softmax,
)

finite = st.floats(-5, 5, allow_nan=False, width=64)


def _np_log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


@given(x=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=finite))
def test_softmax_and_log_softmax_values_and_gradients(x):
    np.testing.assert_allclose(softmax(x).data, np.exp(x) / np.exp(x).sum(-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(softmax(x).data.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(x).data, np.log(np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
                               rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(lambda t: log_softmax(t), [x.copy()])
    assert tg.gradcheck(lambda t: softmax(t, axis=0), [x.copy()])


def test_log_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [-1e300, 1e300, 0.0]])
    out = log_softmax(tg.Tensor(x, requires_grad=True))
    assert np.isfinite(out.data).all()
    np.testing.assert_allclose(out.data[0], [0.0, -1000.0, -2000.0])
    loss = cross_entropy(tg.Tensor(x, requires_grad=True), np.array([0, 1]))
    assert loss.item() == 0.0


@given(n=st.integers(1, 5), c=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_cross_entropy_matches_numpy_and_gradcheck(n, c, seed):
    rng = np.random.default_rng(seed)
    logits, targets = rng.standard_normal((n, c)) * 3, rng.integers(0, c, n)
    want = -_np_log_softmax(logits)[np.arange(n), targets]
    np.testing.assert_allclose(cross_entropy(logits, targets).item(), want.mean(), rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(logits, targets, reduction="sum").item(), want.sum(), rtol=1e-12)
    assert tg.gradcheck(lambda t: cross_entropy(t, targets), [logits])
    # the gradient of the mean is (softmax - onehot) / n
    t = tg.Tensor(logits, requires_grad=True)
    cross_entropy(t, targets).backward()
    onehot = np.eye(c)[targets]
    np.testing.assert_allclose(t.grad, (np.exp(_np_log_softmax(logits)) - onehot) / n, rtol=1e-10, atol=1e-14)


def test_cross_entropy_over_time_and_batch_axes():
    rng = np.random.default_rng(0)
    logits, targets = rng.standard_normal((4, 3, 5)), rng.integers(0, 5, (4, 3))
    flat = cross_entropy(logits.reshape(12, 5), targets.reshape(12)).item()
    assert cross_entropy(logits, targets).item() == pytest.approx(flat, rel=1e-14)


def test_cross_entropy_rejects_bad_targets_clearly():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\)"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"need targets of shape \(2,\)"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))


@given(seed=st.integers(0, 10_000))
def test_mse_and_binary_cross_entropy(seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(mse_loss(pred, target).item(), np.mean((pred - target) ** 2), rtol=1e-12)
    np.testing.assert_allclose(mse_loss(pred, target, reduction="sum").item(), np.sum((pred - target) ** 2),
                               rtol=1e-12)
    assert tg.gradcheck(lambda t: mse_loss(t, target), [pred])
    p, y = rng.uniform(0.05, 0.95, (4,)), rng.integers(0, 2, 4).astype(float)
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(binary_cross_entropy(p, y).item(), want, rtol=1e-12)
    assert tg.gradcheck(lambda t: binary_cross_entropy(t, y), [p])
    x = rng.standard_normal(4) * 4
    np.testing.assert_allclose(binary_cross_entropy_with_logits(x, y).item(),
                               binary_cross_entropy(1 / (1 + np.exp(-x)), y).item(), rtol=1e-10)
    assert tg.gradcheck(lambda t: binary_cross_entropy_with_logits(t, y), [x])


def test_bce_with_logits_is_stable_far_out():
    out = binary_cross_entropy_with_logits(np.array([800.0, -800.0]), np.array([0.0, 1.0]), reduction="sum")
    assert out.item() == pytest.approx(1600.0)


def test_reduction_and_shape_errors_name_the_function():
    with pytest.raises(ValueError, match="mse_loss: reduction"):
        mse_loss(np.zeros(2), np.zeros(2), reduction="none!")
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(2,\) but target has shape \(3,\)"):
        mse_loss(np.zeros(2), np.zeros(3))


def test_losses_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits, targets = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    t = tg.Tensor(logits, requires_grad=True)
    cross_entropy(t, targets).backward()
    tt = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(tt, torch.tensor(targets)).backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-15)
    p, y = rng.uniform(0.1, 0.9, 5), rng.uniform(0, 1, 5)
    want = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item()
    assert binary_cross_entropy(p, y).item() == pytest.approx(want, rel=1e-12)
    x = rng.standard_normal(5) * 3
    want = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(y)).item()
    assert binary_cross_entropy_with_logits(x, y).item() == pytest.approx(want, rel=1e-12)


def test_bce_clamps_its_logs_at_minus_100_as_pytorch_does():
    # a float64 sigmoid saturates to exactly 1.0 above ~37: the loss used to be NaN/inf there
    p = tg.Tensor([40.0, -800.0, 0.0]).sigmoid()
    assert p.data[0] == 1.0 and p.data[1] == 0.0
    q = tg.Tensor(p.data.copy(), requires_grad=True)
    loss = binary_cross_entropy(q, np.array([0.0, 1.0, 1.0]), reduction="sum")
    loss.backward()
    # -log(1 - 1) and -log(0) are each clamped at 100; the third term is -log(0.5)
    np.testing.assert_allclose(loss.item(), 200.0 + np.log(2.0), rtol=1e-12)
    assert np.isfinite(q.grad).all()
    # the clamped log is flat below e^-100: no gradient through the floor, 1/p elsewhere
    np.testing.assert_allclose(q.grad, [0.0, 0.0, -2.0])
    # exact 0 and 1 targets and predictions that agree cost nothing
    assert binary_cross_entropy(np.array([0.0, 1.0]), np.array([0.0, 1.0])).item() == 0.0


def test_bce_matches_torch_at_the_clamp():
    torch = pytest.importorskip("torch")
    p, y = np.array([0.0, 1.0, 1e-50, 0.3, 1.0]), np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    want = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item()
    np.testing.assert_allclose(binary_cross_entropy(p, y).item(), want, rtol=1e-12)


def test_bce_refuses_a_p_outside_0_1():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: every p must lie in \[0, 1\].*1.5"):
        binary_cross_entropy(np.array([0.5, 1.5]), np.array([0.0, 1.0]))
