"""plot_jacobian_spectrum: singular values of d s_t / d s_(t-k) against k, the 1/gamma line labelled,
verdicts for every cell (the LSTM's forget gate, the GRU's update gate)."""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.viz import find, jacobian_spectrum, plot_jacobian_spectrum


def _spectra(k=6):
    xs = np.random.default_rng(0).standard_normal((8, 1, 2))
    out, cells = {}, {"Elman": tg.nn.ElmanCell(2, 4, rng=0), "LSTM": tg.nn.LSTMCell(2, 4, rng=0),
                      "GRU": tg.nn.GRUCell(2, 4, rng=0)}
    for name, cell in cells.items():
        _, state = tg.nn.unroll(cell, xs)
        out[name] = jacobian_spectrum(cell, state, k=k)
    return out, cells


def test_k_step_singular_values_follow_the_chain_rule():
    spectra, _ = _spectra()
    for sp in spectra.values():
        assert len(sp.by_k) == sp.k
        np.testing.assert_allclose(sp.by_k[0], sp.step, rtol=1e-10)
        np.testing.assert_allclose(sp.by_k[-1], sp.product, rtol=1e-8, atol=1e-14)  # J_k...J_1 vs direct


def test_gate_means_are_the_gates_the_cell_computes():
    cell = tg.nn.LSTMCell(2, 4, rng=1)
    _, state = tg.nn.unroll(cell, np.ones((3, 1, 2)))
    sp = jacobian_spectrum(cell, state, k=2)
    new = cell(tg.Tensor(np.zeros((1, 2))), tg.nn.LSTMState(*(tg.Tensor(p.data) for p in state)))
    assert sp.gate[0] == "f"
    np.testing.assert_allclose(sp.gate[1][0], find(new.c, "f").data.mean(), rtol=1e-12)
    assert "forget gate near 1 keeps it alive" in sp.verdict and "diag(f_t)" in sp.verdict


def test_plot_labels_the_threshold_and_gives_a_verdict_per_cell(tmp_path):
    spectra, _ = _spectra()
    fig = plot_jacobian_spectrum(spectra, tmp_path / "spec.png")
    assert (tmp_path / "spec.png").read_bytes().startswith(b"\x89PNG")
    left, right = fig.axes[:2]
    assert left.get_yscale() == "log" and "k" in left.get_xlabel()
    assert any(t.get_text().startswith("1/gamma = 1 (Elman") for t in right.get_legend().get_texts())
    texts = [t.get_text() for t in fig.texts]
    assert any(t.startswith("Elman: sigma_max(U)") and "1/gamma" in t for t in texts)
    assert any(t.startswith("LSTM: dc_t/dc_(t-1) = diag(f_t)") for t in texts)
    assert any(t.startswith("GRU: dh_t/dh_(t-1) = diag(z_t)") for t in texts)
