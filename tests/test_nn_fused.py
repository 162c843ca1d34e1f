"""Fused cells (FusedLSTMCell, ...): one op per step, the same numbers as the primitive-op cells.

Each fused step's hand-derived backward is checked against finite differences (gradcheck,
float64), and a whole unrolled sequence against the primitive cell: loss, every h_t, and
the gradient of every parameter, of the inputs and of the initial state, to 1e-12.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import cells
from tinygrad_rnn.nn.unroll import unroll
from tinygrad_rnn.speed import fused

T, B, I, H = 5, 3, 4, 6  # noqa: E741  (the sizes' usual names)

CELLS = [
    ("DampenedCell", {}), ("DampenedCell", {"activation": "sigmoid", "learn_lam": False}),
    ("ElmanCell", {}), ("ElmanCell", {"activation": "sigmoid"}), ("ElmanCell", {"activation": "relu"}),
    ("LSTMCell", {}), ("GRUCell", {}),
]



def _cls(name, fused_flag):
    """The primitive cell class called name, or its fused twin."""
    return getattr(fused, "Fused" + name) if fused_flag else getattr(cells, name)


def _sequence_run(cls_name, kwargs, fused_flag, xs, h0):
    """Unroll over xs (a Tensor requiring grad) from h0; loss = sum_t sum(h_t^2) + sum(c_T) for LSTM."""
    cell = _cls(cls_name, fused_flag)(I, H, rng=7, **kwargs)
    for p in cell.parameters():  # larger weights: saturated gates, a harder test
        p.data *= 3.0
    x = tg.Tensor(xs, requires_grad=True)
    state0 = [tg.Tensor(a, requires_grad=True) for a in h0]
    hs, state = unroll(cell, x, cells.LSTMState(*state0) if cls_name == "LSTMCell" else state0[0])
    loss = (tg.stack(hs) ** 2).sum()
    if cls_name == "LSTMCell":
        loss = loss + (state.c * 0.5).sum()  # a gradient that enters through c_T alone
    loss.backward()
    grads = {name: p.grad for name, p in cell.named_parameters()}
    grads["x"] = x.grad
    grads.update({f"state0[{i}]": s.grad for i, s in enumerate(state0)})
    return loss.item(), [h.data for h in hs], grads


@pytest.mark.parametrize("cls_name,kwargs", CELLS)
def test_fused_cell_equals_primitive_cell(cls_name, kwargs):
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((T, B, I))
    h0 = [rng.standard_normal((B, H)) for _ in range(2 if cls_name == "LSTMCell" else 1)]
    loss_p, hs_p, grads_p = _sequence_run(cls_name, kwargs, False, xs, h0)
    loss_f, hs_f, grads_f = _sequence_run(cls_name, kwargs, True, xs, h0)
    assert loss_f == pytest.approx(loss_p, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(np.stack(hs_f), np.stack(hs_p), rtol=1e-12, atol=1e-12)
    assert set(grads_f) == set(grads_p)
    for name, g in grads_p.items():
        if g is None:  # a fixed lam is no parameter, so neither path gives it a gradient
            assert grads_f[name] is None, name
            continue
        np.testing.assert_allclose(grads_f[name], g, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_elman_and_dampened_steps_pass_gradcheck(activation):
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((B, I)), rng.standard_normal((B, H))
    W, U, b = rng.standard_normal((I, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    lam = np.asarray(0.7)
    assert tg.gradcheck(lambda *a: fused.ElmanStep.apply(*a, activation=activation), [x, h, W, U, b])
    assert tg.gradcheck(lambda *a: fused.DampenedStep.apply(*a, activation=activation), [x, h, W, lam, b])


def test_lstm_step_passes_gradcheck_through_h_and_c():
    rng = np.random.default_rng(1)
    args = [rng.standard_normal(s) for s in [(B, I), (B, H), (B, H), (I, 4 * H), (H, 4 * H), (4 * H,)]]
    assert tg.gradcheck(fused.LSTMStep.apply, args)  # the output is [h, c]: both halves are checked


def test_gru_step_passes_gradcheck():
    rng = np.random.default_rng(2)
    args = [rng.standard_normal(s) for s in [(B, I), (B, H), (I, 3 * H), (H, 3 * H), (3 * H,), (H,)]]
    assert tg.gradcheck(fused.GRUStep.apply, args)


def test_lstm_step_matches_the_equations_by_hand():
    """h and c of one step from plain numpy, with sigmoid written as 1 / (1 + e^-a)."""
    rng = np.random.default_rng(4)
    x, h, c = rng.standard_normal((B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    W, U, b = rng.standard_normal((I, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    out = fused.LSTMStep.apply(x, h, c, W, U, b).data
    zi, zf, zg, zo = np.split(x @ W + h @ U + b, 4, axis=1)
    def sig(a): return 1.0 / (1.0 + np.exp(-a))
    c_new = sig(zf) * c + sig(zi) * np.tanh(zg)
    np.testing.assert_allclose(out[1], c_new, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(out[0], sig(zo) * np.tanh(c_new), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("cls_name", ["ElmanCell", "LSTMCell", "GRUCell", "DampenedCell"])
def test_fused_cell_keeps_float32_and_makes_one_op_per_step(cls_name):
    cell = _cls(cls_name, True)(I, H, rng=0, dtype=np.float32)
    xs = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
    hs, _ = unroll(cell, xs)
    loss = (tg.stack(hs) ** 2).sum()
    loss.backward()
    assert all(h.dtype == np.float32 for h in hs)
    assert all(p.grad.dtype == np.float32 for p in cell.parameters())
    h = hs[-1]
    if cls_name == "LSTMCell":  # h is out[0] of the step's stacked [h, c] output
        assert h.op == "getitem"
        h = h.parents[0]
    assert h.op.endswith("step (fused)") and h.scope[0] == f"t={T}"


def test_fused_sigmoid_does_not_overflow():
    x = np.array([[-1000.0, 1000.0]])
    with tg.detect_anomaly():
        h = fused.ElmanStep.apply(x, np.zeros((1, 2)), np.eye(2), np.eye(2), np.zeros(2),
                                  activation="sigmoid")
    np.testing.assert_allclose(h.data, [[0.0, 1.0]], atol=1e-300)


@pytest.mark.parametrize("cls_name", ["LSTMCell", "ElmanCell", "GRUCell", "DampenedCell"])
def test_every_hidden_state_shows_the_same_gradient_as_in_the_primitive_cell(cls_name):
    """h_t.grad is the whole dL/dh_t, through the loss and through step t+1 (gradient-flow plots)."""
    xs = np.random.default_rng(5).standard_normal((6, B, I))
    seen = []
    for flag in (False, True):
        cell = _cls(cls_name, flag)(I, H, rng=0)
        hs, _ = unroll(cell, xs)
        loss = (hs[-1] * hs[-1]).sum() + (hs[2] * 0.5).sum()  # h_1, h_2 get gradients only through time
        loss.backward()
        seen.append((hs, [h.grad for h in hs]))
    for t, (want, got) in enumerate(zip(seen[0][1], seen[1][1])):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=f"h_{t + 1}")
    if cls_name == "LSTMCell":
        # c_t is an output of the fused step beside h_t, so its gradient is the part that flows
        # through step t+1; the primitive c_t also feeds h_t = o tanh(c_t): add that path.
        (prim, _), (fused_hs, _) = seen
        for t in range(len(prim) - 1):
            o, tc = prim[t].parents[0].data, prim[t].parents[1].data
            c_prim = prim[t].parents[1].parents[0]
            c_fused = fused_hs[t + 1].parents[0].parents[2]  # step t+1 reads (x, h_t, c_t, W, U, b)
            np.testing.assert_allclose(c_fused.grad + prim[t].grad * o * (1 - tc * tc), c_prim.grad,
                                       rtol=1e-12, atol=1e-12, err_msg=f"c_{t + 1}")


def test_fused_lstm_with_truncation_equals_primitive():
    xs = np.random.default_rng(6).standard_normal((7, B, I))
    out = []
    for flag in (False, True):
        cell = _cls("LSTMCell", flag)(I, H, rng=0)
        hs, _ = unroll(cell, xs, truncate=3)
        (tg.stack(hs) ** 2).sum().backward()
        out.append([p.grad for p in cell.parameters()])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
