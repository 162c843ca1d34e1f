"""The README's example works and the package imports with its public names."""

import numpy as np

import tinygrad_rnn as tg


def test_readme_example_gradient_matches_hand_derivation():
    W = tg.Tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True, name="W")
    x = tg.Tensor([[1.0, 2.0]])
    with tg.scope("t=1"):
        h = (x @ W).tanh()
    loss = (h ** 2).sum()
    loss.backward()
    z = x.data @ W.data
    expected = x.data.T @ (2 * np.tanh(z) * (1 - np.tanh(z) ** 2))
    np.testing.assert_allclose(W.grad, expected, rtol=1e-12)
    assert h.scope == ("t=1",) and h.op == "tanh"
