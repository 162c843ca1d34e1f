"""Parity with PyTorch in float64: 30 unrolled steps of Elman, LSTM and GRU give the same
outputs, final states and gradients (weights, biases, inputs, initial state) as torch.nn.RNN,
LSTM and GRU to 1e-10; weights move to and from torch unchanged."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import DampenedCell, ElmanCell, GRUCell, LSTMCell, LSTMState, unroll

torch = pytest.importorskip("torch")

T, B, I, H = 30, 3, 4, 5  # noqa: E741  (the sizes' usual names)
TOL = dict(rtol=1e-10, atol=1e-12)


def _torch_layer(kind, seed, nonlinearity="tanh"):
    torch.manual_seed(seed)
    if kind == "elman":
        return torch.nn.RNN(I, H, nonlinearity=nonlinearity, dtype=torch.float64)
    return {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](I, H, dtype=torch.float64)


@pytest.mark.parametrize("kind, nonlinearity", [("elman", "tanh"), ("elman", "relu"), ("lstm", "tanh"),
                                                ("gru", "tanh")])
def test_outputs_states_and_all_gradients_equal_torch(kind, nonlinearity):
    rng = np.random.default_rng(0)
    layer = _torch_layer(kind, 0, nonlinearity)
    with torch.no_grad():                       # make the biases differ, so a mixed-up bias shows
        for name, p in layer.named_parameters():
            p.mul_(2.0 if "weight" in name else 3.0)
    cell = {"elman": ElmanCell, "lstm": LSTMCell, "gru": GRUCell}[kind].from_torch(layer)
    xs_np, w_out = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H))
    h0_np, c0_np, w_h, w_c = (rng.standard_normal((B, H)) for _ in range(4))

    # torch
    xs_t = torch.tensor(xs_np, requires_grad=True)
    h0_t, c0_t = torch.tensor(h0_np[None], requires_grad=True), torch.tensor(c0_np[None], requires_grad=True)
    if kind == "lstm":
        out_t, (hT_t, cT_t) = layer(xs_t, (h0_t, c0_t))
    else:
        out_t, hT_t = layer(xs_t, h0_t)
    loss_t = (out_t * torch.tensor(w_out)).sum() + (hT_t[0] * torch.tensor(w_h)).sum()
    if kind == "lstm":
        loss_t = loss_t + (cT_t[0] * torch.tensor(w_c)).sum()
    loss_t.backward()

    # ours
    xs = tg.Tensor(xs_np, requires_grad=True)
    h0, c0 = tg.Tensor(h0_np, requires_grad=True), tg.Tensor(c0_np, requires_grad=True)
    hs, final = unroll(cell, xs, LSTMState(h0, c0) if kind == "lstm" else h0)
    hT = final.h if kind == "lstm" else final
    loss = (tg.stack(hs) * w_out).sum() + (hT * w_h).sum()
    if kind == "lstm":
        loss = loss + (final.c * w_c).sum()
    loss.backward()

    np.testing.assert_allclose(loss.item(), loss_t.item(), **TOL)
    np.testing.assert_allclose(np.stack([h.data for h in hs]), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(hT.data, hT_t.detach().numpy()[0], **TOL)
    if kind == "lstm":
        np.testing.assert_allclose(final.c.data, cT_t.detach().numpy()[0], **TOL)
        np.testing.assert_allclose(c0.grad, c0_t.grad.numpy()[0], **TOL)
    np.testing.assert_allclose(xs.grad, xs_t.grad.numpy(), **TOL)
    np.testing.assert_allclose(h0.grad, h0_t.grad.numpy()[0], **TOL)
    g = {name: p.grad.numpy() for name, p in layer.named_parameters()}
    np.testing.assert_allclose(cell.W.grad, g["weight_ih_l0"].T, **TOL)
    np.testing.assert_allclose(cell.U.grad, g["weight_hh_l0"].T, **TOL)
    np.testing.assert_allclose(cell.b.grad, g["bias_ih_l0"], **TOL)   # d/d bias_ih = d/d b
    if kind == "gru":
        np.testing.assert_allclose(cell.b.grad[:2 * H], g["bias_hh_l0"][:2 * H], **TOL)
        np.testing.assert_allclose(cell.b_hn.grad, g["bias_hh_l0"][2 * H:], **TOL)
    else:
        np.testing.assert_allclose(cell.b.grad, g["bias_hh_l0"], **TOL)


@pytest.mark.parametrize("ours, torch_cell", [(ElmanCell, "RNNCell"), (LSTMCell, "LSTMCell"),
                                              (GRUCell, "GRUCell")])
def test_from_torch_cell_and_to_torch_round_trip(ours, torch_cell):
    torch.manual_seed(1)
    m = getattr(torch.nn, torch_cell)(I, H, dtype=torch.float64)
    cell = ours.from_torch(m)
    x, h = np.random.default_rng(0).standard_normal((B, I)), np.random.default_rng(1).standard_normal((B, H))
    if ours is LSTMCell:
        got = cell(x, LSTMState(tg.Tensor(h), tg.Tensor(h * 0.5)))
        want = m(torch.tensor(x), (torch.tensor(h), torch.tensor(h * 0.5)))
    else:
        got, want = [cell(x, tg.Tensor(h))], [m(torch.tensor(x), torch.tensor(h))]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.data, b.detach().numpy(), **TOL)
    back = ours.from_torch(cell.to_torch())
    layer = cell.to_torch(layer=True)
    assert type(layer).__name__ == {"RNNCell": "RNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}[torch_cell]
    again = ours.from_torch(layer)
    for k, v in cell.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
        np.testing.assert_array_equal(again.state_dict()[k], v)


def test_dtype_follows_torch_and_to_torch_keeps_ours():
    cell = LSTMCell.from_torch(torch.nn.LSTM(2, 3))          # torch's default float32
    assert cell.W.dtype == np.float32
    assert LSTMCell.from_torch(torch.nn.LSTM(2, 3), dtype=np.float64).W.dtype == np.float64
    assert ElmanCell(2, 3, rng=0).to_torch().weight_ih.dtype == torch.float64


def test_unconvertible_modules_give_clear_errors():
    with pytest.raises(ValueError, match="num_layers=2"):
        LSTMCell.from_torch(torch.nn.LSTM(2, 3, num_layers=2))
    with pytest.raises(ValueError, match="bidirectional=True"):
        GRUCell.from_torch(torch.nn.GRU(2, 3, bidirectional=True))
    with pytest.raises(TypeError, match="expects a torch.nn.LSTMCell or a single-layer torch.nn.LSTM"):
        LSTMCell.from_torch(torch.nn.GRU(2, 3))
    with pytest.raises(ValueError, match="tanh or relu"):
        ElmanCell(2, 3, activation="sigmoid").to_torch()
    with pytest.raises(TypeError, match="no PyTorch counterpart"):
        DampenedCell(2, 3).to_torch()


def test_torch_without_bias_converts_with_zero_bias():
    m = torch.nn.RNNCell(2, 3, bias=False, dtype=torch.float64)
    cell = ElmanCell.from_torch(m)
    assert np.all(cell.b.data == 0)
    x = np.ones((1, 2))
    want = m(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(cell(x, cell.initial_state(1)).data, want, **TOL)
