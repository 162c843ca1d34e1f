"""bench/ops.py times the same work in every implementation of a case."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import ops  # noqa: E402


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def test_loss_case_gives_the_same_loss_and_gradients():
    (fns,) = ops._loss_case(None).values()
    assert set(fns) == {"numpy", "tinygrad_rnn"}
    want_loss, want_grads = fns["numpy"]()
    for _ in range(2):  # twice: the engine's gradients are reset, not accumulated, between calls
        loss, grads = fns["tinygrad_rnn"]()
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    assert len(grads) == ops.LOSS_STATES[0]
    for g, w in zip(grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-15)


def test_loss_case_torch_agrees():
    torch = _torch()
    (fns,) = ops._loss_case(torch).values()
    want_loss, want_grads = fns["numpy"]()
    loss, grads = fns["torch"]()
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_allclose(np.stack([g.numpy() for g in grads]), np.stack(want_grads), rtol=1e-15)


def test_kernel_cases_compute_the_same_activation_for_every_shape_and_dtype():
    assert ops._kernel_cases(None) == {}  # nothing to compare against without torch
    torch = _torch()
    cases = ops._kernel_cases(torch)
    assert len(cases) == 2 * 2 * len(ops.KERNEL_SHAPES)  # tanh, sigmoid x float64, float32 x sizes
    for name, fns in cases.items():
        got, want = fns["numpy"](), fns["torch"]().numpy()
        assert got.shape == want.shape and got.dtype == want.dtype and got.dtype.name in name, name
        tol = 1e-15 if got.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)
