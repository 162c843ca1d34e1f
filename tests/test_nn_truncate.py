"""Truncated BPTT: with truncate=k the gradient is the sum, over windows of k steps, of the
gradient of that window's losses with the window's starting state held constant."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.nn import ElmanCell, LSTMCell, LSTMState, unroll


def _loss(hs, ys):
    return sum(((h - y) ** 2.0).sum() for h, y in zip(hs, ys))


def _grads(cell, xs):
    return [p.grad.copy() for p in cell.parameters()] + [xs.grad.copy()]


def _reset(cell, xs):
    cell.zero_grad()
    xs.grad = None


def _constant(state):
    if isinstance(state, LSTMState):
        return LSTMState(tg.Tensor(state.h.data.copy()), tg.Tensor(state.c.data.copy()))
    return tg.Tensor(state.data.copy())


@given(lstm=st.booleans(), T=st.integers(1, 9), k=st.integers(1, 10), seed=st.integers(0, 1000))
def test_truncated_gradient_is_the_sum_of_window_gradients(lstm, T, k, seed):
    rng = np.random.default_rng(seed)
    cell = LSTMCell(2, 3, rng=rng) if lstm else ElmanCell(2, 3, rng=rng)
    xs = tg.Tensor(rng.standard_normal((T, 2, 2)), requires_grad=True)
    ys = rng.standard_normal((T, 2, 3))

    hs, _ = unroll(cell, xs, truncate=k)
    _loss(hs, ys).backward()
    truncated = _grads(cell, xs)
    _reset(cell, xs)

    # Window by window: each starts from the previous window's final state, as a constant.
    state = cell.initial_state(2)
    for start in range(0, T, k):
        stop = min(start + k, T)
        window_hs, state = unroll(cell, list(xs[t] for t in range(start, stop)), state)
        _loss(window_hs, ys[start:stop]).backward()
        state = _constant(state)
    windows = _grads(cell, xs)
    for got, want in zip(truncated, windows):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_truncation_changes_gradients_but_not_values():
    rng = np.random.default_rng(0)
    cell = ElmanCell(2, 4, rng=rng)
    xs = tg.Tensor(rng.standard_normal((8, 1, 2)), requires_grad=True)
    ys = rng.standard_normal((8, 1, 4))
    results = {}
    for k in (None, 3, 8):
        _reset(cell, xs)
        hs, final = unroll(cell, xs, truncate=k)
        _loss(hs, ys).backward()
        results[k] = (final.data.copy(), cell.U.grad.copy())
    np.testing.assert_array_equal(results[None][0], results[3][0])
    np.testing.assert_array_equal(results[None][1], results[8][1])    # one window = full BPTT
    assert not np.allclose(results[None][1], results[3][1])           # shorter windows see less


def test_truncation_cuts_gradient_flow_to_earlier_windows():
    cell = ElmanCell(1, 2, rng=1)
    xs = tg.Tensor(np.ones((6, 1, 1)), requires_grad=True)
    hs, _ = unroll(cell, xs, truncate=2)
    hs[-1].sum().backward()   # the last output depends (through the graph) on steps 5 and 6 only
    assert np.all(xs.grad[:4] == 0) and np.all(xs.grad[4:] != 0)
