"""Backpropagation through time for the Elman cell, derived by hand and written in plain numpy.

The textbook derivation, for h_t = tanh(a_t), a_t = x_t W + h_{t-1} U + b and the loss
L = sum_t 1/2 ||h_t - y_t||^2:

    dL/dh_t = (h_t - y_t) + dL/da_{t+1} U^T      (the loss at t, plus what flows back from t+1)
    dL/da_t = dL/dh_t * (1 - h_t^2)               (tanh' = 1 - tanh^2)
    dL/dW   = sum_t x_t^T dL/da_t                 dL/dU = sum_t h_{t-1}^T dL/da_t
    dL/db   = sum_t sum_batch dL/da_t             dL/dx_t = dL/da_t W^T,  dL/dh_0 = dL/da_1 U^T

Autograd on the unrolled graph must give the same numbers, parameter by parameter and also at
every hidden state (its .grad is the total dL/dh_t above).
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import ElmanCell, unroll


def elman_bptt_by_hand(W, U, b, xs, h0, ys):
    """Forward and backward of the Elman cell over T steps; returns the loss and all gradients."""
    T = len(xs)
    hs = [h0]                                    # hs[t] is h_t; hs[0] is the initial state
    for t in range(1, T + 1):
        a_t = xs[t - 1] @ W + hs[t - 1] @ U + b
        hs.append(np.tanh(a_t))
    loss = sum(0.5 * np.sum((hs[t] - ys[t - 1]) ** 2) for t in range(1, T + 1))

    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dxs = np.zeros_like(xs)
    dh = [None] * (T + 1)
    da_next = np.zeros_like(h0)                  # dL/da_{T+1} = 0: nothing after the last step
    for t in range(T, 0, -1):
        dh[t] = (hs[t] - ys[t - 1]) + da_next @ U.T
        da = dh[t] * (1 - hs[t] ** 2)
        dW += xs[t - 1].T @ da
        dU += hs[t - 1].T @ da
        db += da.sum(axis=0)
        dxs[t - 1] = da @ W.T
        da_next = da
    dh0 = da_next @ U.T
    return loss, {"W": dW, "U": dU, "b": db, "xs": dxs, "h0": dh0, "dh": dh[1:]}


@pytest.mark.parametrize("seed, T, B, n_in, H", [(0, 1, 1, 1, 1), (1, 7, 3, 4, 5), (2, 12, 2, 3, 6)])
def test_autograd_equals_hand_derived_bptt(seed, T, B, n_in, H):
    rng = np.random.default_rng(seed)
    cell = ElmanCell(n_in, H, rng=rng)
    xs = tg.Tensor(rng.standard_normal((T, B, n_in)), requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((B, H)), requires_grad=True)
    ys = rng.standard_normal((T, B, H))

    hs, _ = unroll(cell, xs, h0)
    loss = sum(((h - y) ** 2.0).sum() * 0.5 for h, y in zip(hs, ys))
    loss.backward()

    want_loss, want = elman_bptt_by_hand(cell.W.data, cell.U.data, cell.b.data, xs.data, h0.data, ys)
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-12)
    for name, got in [("W", cell.W.grad), ("U", cell.U.grad), ("b", cell.b.grad), ("xs", xs.grad),
                      ("h0", h0.grad)]:
        np.testing.assert_allclose(got, want[name], rtol=1e-12, atol=1e-12, err_msg=name)
    for t in range(T):  # the gradient arriving at each hidden state, step by step
        np.testing.assert_allclose(hs[t].grad, want["dh"][t], rtol=1e-12, atol=1e-12, err_msg=f"h_{t + 1}")


def test_hand_derivation_agrees_with_finite_differences():
    """The hand-derived formulas are themselves right (not merely equal to autograd)."""
    rng = np.random.default_rng(3)
    W, U, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)
    xs, h0, ys = rng.standard_normal((4, 2, 2)), rng.standard_normal((2, 3)), rng.standard_normal((4, 2, 3))
    _, grads = elman_bptt_by_hand(W, U, b, xs, h0, ys)
    eps = 1e-6
    for k in np.ndindex(U.shape):
        up, down = U.copy(), U.copy()
        up[k] += eps
        down[k] -= eps
        numeric = elman_bptt_by_hand(W, up, b, xs, h0, ys)[0] - elman_bptt_by_hand(W, down, b, xs, h0, ys)[0]
        assert abs(numeric / (2 * eps) - grads["U"][k]) < 1e-7
