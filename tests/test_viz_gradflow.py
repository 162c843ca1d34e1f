"""Gradients through time: grad_flow against PyTorch, the plots, the Jacobian spectrum against numpy."""

from __future__ import annotations

import matplotlib
import matplotlib.figure
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.viz import grad_flow, jacobian_spectrum, named_tensors, plot_grad_flow, plot_grad_heatmap

PNG = b"\x89PNG\r\n\x1a\n"


def _unrolled(cell, T: int, batch: int = 2, seed: int = 1):
    xs = np.random.default_rng(seed).standard_normal((T, batch, cell.input_size))
    hs, state = tg.nn.unroll(cell, xs)
    loss = (hs[-1] ** 2.0).sum()
    loss.backward()
    return xs, hs, state, loss


def test_grad_flow_matches_pytorch_for_the_elman_network():
    torch = pytest.importorskip("torch")
    cell = tg.nn.ElmanCell(2, 4, rng=np.random.default_rng(0))
    xs, hs, _, _ = _unrolled(cell, T=6)
    W, U, b = (torch.tensor(p.data, requires_grad=True) for p in (cell.W, cell.U, cell.b))
    h = torch.zeros(2, 4, dtype=torch.float64)
    ths = []
    for x in torch.tensor(xs):
        h = torch.tanh(x @ W + h @ U + b)
        h.retain_grad()
        ths.append(h)
    (ths[-1] ** 2).sum().backward()
    expected = np.array([np.linalg.norm(t.grad.numpy()) for t in ths])
    np.testing.assert_allclose(grad_flow(hs), expected, rtol=1e-10)


def test_grad_flow_of_lstm_states_has_an_h_and_a_c_column():
    torch = pytest.importorskip("torch")
    cell = tg.nn.LSTMCell(2, 3, rng=np.random.default_rng(0))
    xs, hs, _, loss = _unrolled(cell, T=4)
    named = named_tensors(loss)
    flow = grad_flow([(h, named[f"c_{t}"]) for t, h in enumerate(hs, start=1)])
    assert flow.shape == (4, 2)
    tcell = cell.to_torch()
    h = torch.zeros(2, 3, dtype=torch.float64)
    c = torch.zeros(2, 3, dtype=torch.float64)
    keep = []
    for x in torch.tensor(xs):
        h, c = tcell(x, (h, c))
        h.retain_grad()
        c.retain_grad()
        keep.append((h, c))
    (keep[-1][0] ** 2).sum().backward()
    expected = np.array([[np.linalg.norm(h.grad.numpy()),
                          0.0 if c.grad is None else np.linalg.norm(c.grad.numpy())] for h, c in keep])
    np.testing.assert_allclose(flow, expected, rtol=1e-8, atol=1e-14)


def test_grad_flow_needs_a_backward_pass():
    cell = tg.nn.ElmanCell(2, 3, rng=np.random.default_rng(0))
    hs, _ = tg.nn.unroll(cell, np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match=r"backward\(\)"):
        grad_flow(hs)
    with pytest.raises(TypeError, match="list"):
        grad_flow(hs[0])


def test_plot_grad_flow_writes_a_labelled_log_plot(tmp_path):
    norms = {"Elman": 0.5 ** np.arange(20)[::-1], "LSTM": np.stack([0.9 ** np.arange(20)[::-1]] * 2, 1)}
    fig = plot_grad_flow(norms, tmp_path / "flow.png")
    assert isinstance(fig, matplotlib.figure.Figure) and fig._repr_png_().startswith(PNG)  # inline in Jupyter
    assert (tmp_path / "flow.png").read_bytes().startswith(PNG)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep text as text to read the labels
        plot_grad_flow(norms, tmp_path / "flow.svg", title="my title")
    svg = (tmp_path / "flow.svg").read_text()
    for text in ("steps back from the loss", "gradient norm", "Elman", "LSTM (c_t)", "my title"):
        assert text in svg
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["flow.png", "flow.svg"]
    with pytest.raises(TypeError, match="non-empty dict"):
        plot_grad_flow({}, tmp_path / "x.png")


def test_plot_grad_heatmap_from_tensors_and_arrays(tmp_path):
    cell = tg.nn.ElmanCell(2, 5, rng=np.random.default_rng(0))
    _, hs, _, _ = _unrolled(cell, T=8)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        random = np.random.default_rng(0).random((8, 5))
        plot_grad_heatmap({"Elman": hs, "random": random}, tmp_path / "heat.svg")
    svg = (tmp_path / "heat.svg").read_text()
    for text in ("time step t", "unit", "Elman", "random"):
        assert text in svg
    assert isinstance(plot_grad_heatmap(hs), matplotlib.figure.Figure)  # no path: the figure only
    plot_grad_heatmap(hs, tmp_path / "heat.png")
    assert (tmp_path / "heat.png").read_bytes().startswith(PNG)


def _numpy_elman_jacobian(cell, h, x):
    """dh_t/dh_{t-1} as a matrix d(out)/d(in) for row vectors: row i = d h_t[i] / d h_{t-1}."""
    a = x @ cell.W.data + h @ cell.U.data + cell.b.data
    h_new = np.tanh(a)
    return (1 - h_new[0] ** 2)[:, None] * cell.U.data.T, h_new


def test_jacobian_spectrum_matches_numpy_and_leaves_parameter_grads_alone():
    rng = np.random.default_rng(3)
    cell = tg.nn.ElmanCell(2, 4, rng=rng)
    cell.W.grad = np.full(cell.W.shape, 7.0)
    h0, x = rng.standard_normal((1, 4)), rng.standard_normal((1, 2))
    spec = jacobian_spectrum(cell, tg.Tensor(h0), x=x, k=5)
    J, h, prod = None, h0, np.eye(4)
    maxes = []
    for _ in range(5):
        Jt, h = _numpy_elman_jacobian(cell, h, x)
        J = Jt if J is None else J
        prod = Jt @ prod
        maxes.append(np.linalg.svd(Jt, compute_uv=False)[0])
    np.testing.assert_allclose(spec.step, np.linalg.svd(J, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose(spec.product, np.linalg.svd(prod, compute_uv=False), rtol=1e-8, atol=1e-15)
    np.testing.assert_allclose(spec.step_max, maxes, rtol=1e-10)
    assert spec.recurrent_sv == pytest.approx(np.linalg.svd(cell.U.data, compute_uv=False)[0])
    assert spec.gamma == 1.0 and spec.threshold == 1.0
    assert (cell.W.grad == 7.0).all() and cell.U.grad is None
    assert "1/gamma" in str(spec)


def test_jacobian_spectrum_of_the_lstm_state_and_the_dampened_bound():
    cell = tg.nn.LSTMCell(2, 3, rng=np.random.default_rng(0))
    state = tg.nn.LSTMState(tg.Tensor(np.zeros((1, 3))), tg.Tensor(np.zeros((1, 3))))
    spec = jacobian_spectrum(cell, state, k=3)
    assert spec.step.shape == (6,) and spec.recurrent_sv is None  # d(h, c)_t / d(h, c)_{t-1}
    # dampened, sigmoid: dh_t/dh_{t-1} = lam * diag(s'(a)), s' <= 1/4 = gamma
    damp = tg.nn.DampenedCell(2, 3, lam=0.8, activation="sigmoid", rng=np.random.default_rng(0))
    spec = jacobian_spectrum(damp, tg.Tensor(np.zeros((1, 3))), k=4)
    assert spec.gamma == 0.25 and spec.threshold == 4.0 and spec.recurrent_sv == pytest.approx(0.8)
    assert spec.step[0] <= 0.8 * 0.25 + 1e-12
    assert spec.product[0] <= (0.8 * 0.25) ** 4 + 1e-12
    with pytest.raises(ValueError, match=r"LSTMCell's state has 2 parts"):
        jacobian_spectrum(cell, state.h)
    with pytest.raises(ValueError, match=r"batch size 1"):
        jacobian_spectrum(damp, tg.Tensor(np.zeros((2, 3))))
