"""Inline display in Jupyter: Drawing's _repr_svg_/_repr_html_, plots as matplotlib Figures that leave
the user's backend alone (checked in a fresh interpreter), the interactive page in an iframe."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys

import matplotlib.figure
import numpy as np
import pytest

import tinygrad_rnn as tg

PNG = b"\x89PNG\r\n\x1a\n"

_PLOTS = """
import sys
import numpy as np
import tinygrad_rnn as tg
out = sys.argv[1]
cell = tg.nn.ElmanCell(2, 3, rng=0)
hs, _ = tg.nn.unroll(cell, np.ones((4, 1, 2)))
(hs[-1] ** 2.0).sum().backward()
figs = [tg.viz.plot_grad_flow({"Elman": tg.viz.grad_flow(hs)}), tg.viz.plot_grad_heatmap(hs),
        tg.viz.plot_grad_flow({"Elman": tg.viz.grad_flow(hs)}, out + "/flow.png"),
        tg.viz.plot_grad_heatmap(hs, out + "/heat.svg")]
figs[0]._repr_png_()
from types import SimpleNamespace as NS  # a training run's pictures too (experiments/plots.py)
from tinygrad_rnn.experiments.plots import plot_error_by_position
run = NS(final=NS(numbers={"rms_over_12_steps": [0.5] * 12}), config={"cell": "elman"})
plot_error_by_position(NS(name="temporal_xor"), run, out + "/err.png")
print("pyplot imported:", "matplotlib.pyplot" in sys.modules)
import matplotlib
print("backend:", matplotlib.get_backend())
"""


@pytest.mark.parametrize("backend", ["svg", None])
def test_plots_never_switch_the_users_matplotlib_backend(tmp_path, backend):
    """viz's plots and a training run's pictures, in a fresh interpreter: pyplot never imported,
    the backend the user chose (MPLBACKEND) still the one in force."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    if backend:
        env["MPLBACKEND"] = backend
    done = subprocess.run([sys.executable, "-c", _PLOTS, str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pyplot imported: False" in done.stdout  # no figure manager, no backend resolved by us
    if backend:
        assert f"backend: {backend}" in done.stdout
    else:  # resolved only now, by the get_backend() call: headless here, so matplotlib's own choice
        assert "backend: agg" in done.stdout.lower()
    assert (tmp_path / "flow.png").read_bytes().startswith(PNG)
    assert b"<svg" in (tmp_path / "heat.svg").read_bytes()
    assert (tmp_path / "err.png").read_bytes().startswith(PNG)


def test_plot_functions_return_figures_that_show_as_png():
    fig = tg.viz.plot_grad_flow({"a": np.array([1.0, 0.1, 0.01])}, title="three steps")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig._repr_png_().startswith(PNG)
    assert fig.axes[0].get_title() == "three steps" and fig.axes[0].get_yscale() == "log"


def _small_drawing():
    x = tg.Tensor([[1.0, -2.0]], name="x")
    w = tg.Tensor([[0.3], [0.1]], requires_grad=True, name="w")
    loss = (x @ w).tanh().sum()
    loss.name = "loss"
    loss.backward()
    return tg.viz.draw(loss)


def test_drawing_shows_inline_as_svg_and_as_html():
    d = _small_drawing()
    svg = d._repr_svg_()
    assert "<svg" in svg and "loss" in svg
    page = d._repr_html_()
    assert page.startswith("<div") and page.rstrip().endswith("</div>")
    assert "<?xml" not in page and "<!DOCTYPE" not in page and page.count("<svg") == 1
    assert svg[svg.index("<svg"):] in page


def test_the_interactive_page_shows_inline_in_an_iframe(tmp_path):
    d = _small_drawing()
    p = tg.viz.page(d, "#quiz&step=fwd", height=500)
    shown = p._repr_html_()
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" style="width:100%;height:500px;[^"]*" sandbox="allow-scripts"'
                     r' title="[^"]*"></iframe>', shown)
    assert m, shown[:300]
    assert html.unescape(m.group(1)) == p.html  # the whole self-contained page, quotes escaped
    assert 'window.TG_PAGE_FRAGMENT = "quiz&step=fwd";' in p.html
    assert "<script src" not in p.html and "<link" not in p.html  # nothing fetched: works offline
    assert p.save(tmp_path / "p.html").read_text(encoding="utf-8") == p.html
    assert "TG_PAGE_FRAGMENT =" not in tg.viz.page(d).html
    with pytest.raises(ValueError, match="fragment"):
        tg.viz.page(d, 'quiz"><script>')
    with pytest.raises(TypeError, match="expected a Drawing"):
        tg.viz.page(d.roots[0])
