"""grad_by_step: a shared weight's gradient as the sum of one term per step, each term checked
against an unroll that gives every step its own copy of the weight (the copies' leaf gradients)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.nn import detach_state
from tinygrad_rnn.nn.cells import CELLS
from tinygrad_rnn.viz import StepGradients, grad_by_step, plot_grad_by_step


def _loss(hs, weights):
    return tg.stack([(h * h).sum() for h in hs]) @ tg.Tensor(weights)


def _per_copy(cell, name, xs, truncate, weights):
    """dL/dW^(t) as the gradient of step t's own copy of W (plain leaf gradients, no edge gradients)."""
    shared = getattr(cell, name)
    copies, hs = {}, []
    state = cell.initial_state(xs.shape[1])
    try:
        for k, x in enumerate(xs):
            t = k + 1
            if truncate and k and k % truncate == 0:
                state = detach_state(state)
            copies[t] = tg.Tensor(shared.data.copy(), requires_grad=True)
            setattr(cell, name, copies[t])
            with tg.scope(f"t={t}"):
                state = cell(tg.Tensor(x), state)
            hs.append(state if isinstance(state, tg.Tensor) else state[0])
    finally:
        setattr(cell, name, shared)
    _loss(hs, weights).backward()
    return {t: np.zeros(shared.shape) if c.grad is None else c.grad for t, c in copies.items()}


@settings(deadline=None, max_examples=20)
@given(kind=st.sampled_from(sorted(CELLS)), T=st.integers(1, 6), truncate=st.sampled_from([None, 1, 2, 3]),
       last_only=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_terms_sum_to_the_gradient_and_match_per_step_copies(kind, T, truncate, last_only, seed):
    rng = np.random.default_rng(seed)
    cell = CELLS[kind](2, 3, rng=rng)
    xs = rng.standard_normal((T, 2, 2))
    weights = np.eye(T)[-1] if last_only else rng.uniform(0.5, 1.5, T)
    hs, _ = tg.nn.unroll(cell, xs, truncate=truncate)
    loss = _loss(hs, weights)
    loss.backward()
    split = {name: grad_by_step(p, loss, name=name) for name, p in cell.named_parameters()}
    for name, p in cell.named_parameters():
        sg = split[name]
        assert sg.steps == list(range(1, T + 1)), name
        np.testing.assert_allclose(sg.summed, p.grad, rtol=1e-10, atol=1e-12)
    for name, sg in split.items():  # (each per-copy run adds into the other parameters' .grad)
        expected = _per_copy(cell, name, xs, truncate, weights)
        for t, g in zip(sg.steps, sg.grads):
            np.testing.assert_allclose(g, expected[t], rtol=1e-9, atol=1e-12, err_msg=f"{name} t={t}")
    if truncate and last_only and T > truncate:  # steps before the last window send nothing back
        window = (T - 1) // truncate * truncate
        assert all(not g.any() for t, g in zip(sg.steps, sg.grads) if t <= window)


def test_elman_recurrent_term_is_the_outer_product_of_its_step():
    """dL/dU^(t) = h_(t-1)^T delta_t with delta_t = dL/dh_t * (1 - h_t^2): the textbook BPTT term."""
    cell = tg.nn.ElmanCell(2, 3, rng=0)
    res = tg.nn.unroll(cell, np.random.default_rng(1).standard_normal((4, 2, 2)))
    loss = (res.hs[-1] ** 2.0).sum()
    loss.backward()
    sg = grad_by_step(cell.U, loss)
    for t, g in zip(sg.steps, sg.grads):
        h, prev = res.h[t], res.h[t - 1]
        np.testing.assert_allclose(g, prev.data.T @ (h.grad * (1 - h.data ** 2)), rtol=1e-12, atol=1e-15)


def test_against_torch_per_step_copies():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    cell = tg.nn.ElmanCell(2, 3, rng=rng)
    xs = rng.standard_normal((5, 1, 2))
    hs, _ = tg.nn.unroll(cell, xs)
    loss = (hs[-1] ** 2.0).sum()
    loss.backward()
    sg = grad_by_step(cell.U, loss)
    W, b = (torch.tensor(a.data) for a in (cell.W, cell.b))
    Us = [torch.tensor(cell.U.data, requires_grad=True) for _ in range(5)]
    h = torch.zeros(1, 3, dtype=torch.float64)
    for x, U in zip(xs, Us):
        h = torch.tanh(torch.tensor(x) @ W + h @ U + b)
    (h ** 2).sum().backward()
    for g, U in zip(sg.grads, Us):
        np.testing.assert_allclose(g, U.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_accumulated_grad_is_refused_with_the_fix():
    cell = tg.nn.ElmanCell(2, 3, rng=0)
    hs, _ = tg.nn.unroll(cell, np.ones((3, 1, 2)))
    loss = (hs[-1] ** 2.0).sum()
    loss.backward()
    loss.backward()  # U.grad now holds two passes; the edges hold the last one
    with pytest.raises(ValueError, match=r"zero_grad"):
        grad_by_step(cell.U, loss)
    assert np.allclose(2 * grad_by_step(cell.U, loss, check=False).summed, cell.U.grad)


def test_lean_pass_and_missing_backward_are_refused():
    cell = tg.nn.ElmanCell(2, 3, rng=0)
    hs, _ = tg.nn.unroll(cell, np.ones((3, 1, 2)))
    loss = (hs[-1] ** 2.0).sum()
    with pytest.raises(ValueError, match=r"backward\(\) first"):
        grad_by_step(cell.U, loss)
    loss.backward(keep_intermediate=False)
    with pytest.raises(ValueError, match="keep_intermediate=True"):
        grad_by_step(cell.U, loss)
    other = tg.Tensor(np.ones((3, 3)), requires_grad=True)
    other.grad = np.ones((3, 3))
    with pytest.raises(ValueError, match="no op behind roots reads"):
        grad_by_step(other, loss)


def test_plots_norms_and_heatmaps(tmp_path):
    cell = tg.nn.ElmanCell(2, 3, rng=0)
    hs, _ = tg.nn.unroll(cell, np.random.default_rng(0).standard_normal((4, 1, 2)))
    loss = (hs[-1] ** 2.0).sum()
    loss.backward()
    sg = grad_by_step(cell.U, loss, name="U")
    fig = plot_grad_by_step(sg, tmp_path / "u.png")
    assert (tmp_path / "u.png").read_bytes().startswith(b"\x89PNG")
    titles = [a.get_title() for a in fig.axes]
    assert titles[1:6] == ["t=1", "+ t=2", "+ t=3", "+ t=4", "= U.grad"]  # the row of heatmaps, then W.grad
    assert fig.axes[0].get_yscale() == "log"
    both = plot_grad_by_step({"U": sg, "W": grad_by_step(cell.W, loss)}, tmp_path / "two.svg")
    assert len(both.axes) == 1 and len(both.axes[0].get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match="heatmaps need one parameter"):
        plot_grad_by_step({"U": sg, "W": sg}, heatmaps=True)
    assert isinstance(sg, StepGradients) and "t=4" in str(sg)
