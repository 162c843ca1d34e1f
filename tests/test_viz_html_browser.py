"""The interactive page in a real browser: headless Chromium loads it at a step given in the URL
fragment, runs its script, and dumps the DOM; the nodes and edges must carry the styling of that
step. Skips where no Chromium is installed (.ci/run installs Debian's `chromium`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from test_viz_html import decade_bin, lstm_loss, page_data

import tinygrad_rnn as tg
from tinygrad_rnn.viz import draw
from tinygrad_rnn.viz.graph import PALETTE, WIDTHS

CHROMIUM = next((p for p in (os.environ.get("TG_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser"), shutil.which("google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt install chromium)")

# the page paints every view at each step, so three loads see both views at three moments
# (node=: pinned in the side panel, by tensor name)
FRAGMENTS = {"five": "step=5", "mid": "step=b{mid}&node=c_1", "end": "step=end&view=collapsed&node=W"}


def _launch(url: str, profile: str) -> subprocess.Popen:
    return subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--enable-logging=stderr", "--v=0",  # the page's console (script errors) goes to stderr
         f"--user-data-dir={profile}", "--virtual-time-budget=1000", "--dump-dom", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The small LSTM's page, dumped by the browser at each step of FRAGMENTS (in parallel)."""
    loss, hs, target, order = lstm_loss()
    path = tmp_path_factory.mktemp("browser") / "lstm.html"
    draw(loss).save(path)
    data = page_data(path.read_text(encoding="utf-8"))
    mid = len(order) // 2
    with tempfile.TemporaryDirectory() as profiles:
        procs = {k: _launch(path.as_uri() + "#" + f.format(mid=mid), str(Path(profiles) / k))
                 for k, f in FRAGMENTS.items()}
        dumps = {}
        for k, p in procs.items():
            try:
                out, err = p.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                p.kill()
                pytest.fail(f"chromium did not finish loading the page at #{FRAGMENTS[k]}")
            assert p.returncode == 0 and "</html>" in out, f"chromium failed at #{FRAGMENTS[k]}"
            console = [line for line in err.splitlines() if ":CONSOLE" in line]
            assert not console, f"the page logged at #{FRAGMENTS[k]}: {console}"
            dumps[k] = out
    return loss, order, data, mid, dumps


_G = re.compile(r"<g\s([^>]*)>")
_ATTR = re.compile(r'([\w:-]+)="([^"]*)"')


def tagged(dom: str, view: int) -> tuple[dict[str, dict], dict[int, dict]]:
    """(DOT node id -> attributes, edge index -> attributes) of one view's SVG after the script ran;
    attributes get 'classes' (a set) and 'vars' (CSS custom properties from the style)."""
    nodes, edges = {}, {}
    for m in _G.finditer(dom):
        a = dict(_ATTR.findall(m.group(1)))
        if not a.get("id", "").startswith(f"v{view}-"):
            continue
        a["classes"] = set(a.get("class", "").split())
        a["vars"] = dict(re.findall(r"(--\w+):\s*([^;]+)", a.get("style", "")))
        if "data-node" in a:
            nodes[a["data-node"]] = a
        elif "data-edge" in a:
            edges[int(a["data-edge"])] = a
    return nodes, edges


def test_end_of_backward_every_edge_shows_its_gradient(pages):
    loss, order, data, _, dumps = pages
    view = data["views"][0]
    nodes, edges = tagged(dumps["end"], 0)
    assert len(edges) == len(view["edges"]) and len(nodes) == len(view["nodes"])
    index = {id(t): i for i, t in enumerate(order)}
    for i, e in enumerate(view["edges"]):
        a = edges[i]
        (head,) = view["nodes"][e["dst"]]["tensors"]
        if e["norm"] is not None:
            b = decade_bin(e["norm"])
            assert a["data-state"] == "grad" and "grad" in a["classes"]
            assert a["vars"] == {"--gc": PALETTE[b], "--gw": f"{WIDTHS[b]:g}px"}
        else:  # from an input that needs no gradient (x_t): the engine sends nothing back
            assert a["data-state"] == ("nograd" if head < len(order) else "fwd")
    # by hand: loss = mean((h - y)^2) over n = 2 entries, so d loss / d (h - y)^2 = 1/2 per entry,
    # whose norm 1/sqrt(2) lies in [0.1, 1): the second colour of the scale, on the edge into the mean
    (into_loss,) = [i for i, e in enumerate(view["edges"]) if e["dst"] == _node_of(view, index[id(loss)])]
    assert edges[into_loss]["vars"] == {"--gc": PALETTE[1], "--gw": f"{WIDTHS[1]:g}px"}
    # every tensor with a gradient is outlined in the colour of |its gradient|
    for nid, n in view["nodes"].items():
        (i,) = n["tensors"]
        if i < len(order) and order[i].grad is not None:
            assert "hasgrad" in nodes[nid]["classes"]
            assert nodes[nid]["vars"]["--gc"] == PALETTE[decade_bin(float(np.linalg.norm(order[i].grad)))]
    assert "done: every tensor holds" in dumps["end"]


def _node_of(view: dict, tensor: int) -> str:
    (nid,) = [nid for nid, n in view["nodes"].items() if tensor in n["tensors"]]
    return nid


def test_forward_lights_nodes_in_the_engines_order(pages):
    _, order, data, _, dumps = pages
    view = data["views"][0]
    F, pos = len(order), 5
    nodes, edges = tagged(dumps["five"], 0)
    for nid, n in view["nodes"].items():
        (i,) = n["tensors"]
        # leaves and tensors outside the order are given; the rest is computed at forward step i + 1
        computed = i >= F or i < pos or order[i].is_leaf
        assert ("pending" in nodes[nid]["classes"]) == (not computed), nid
        assert ("cur" in nodes[nid]["classes"]) == (i == pos - 1), nid
        assert "hasgrad" not in nodes[nid]["classes"]
    for i, e in enumerate(view["edges"]):
        (head,) = view["nodes"][e["dst"]]["tensors"]
        assert edges[i]["data-state"] == ("fwd" if head >= F or head < pos else "pending"), i
    assert f"forward {pos} / {F}" in dumps["five"]


def test_mid_backward_only_the_edges_behind_finished_tensors_carry_gradients(pages):
    _, order, data, mid, dumps = pages
    view = data["views"][0]
    F = len(order)
    done = set(range(F - mid, F))  # backward step j finishes order[F - j]
    nodes, edges = tagged(dumps["mid"], 0)
    for i, e in enumerate(view["edges"]):
        (head,) = view["nodes"][e["dst"]]["tensors"]
        assert (edges[i]["data-state"] in ("grad", "nograd")) == (head in done), i
    for nid, n in view["nodes"].items():
        (i,) = n["tensors"]
        assert ("hasgrad" in nodes[nid]["classes"]) == (i in done and order[i].grad is not None)
        assert ("cur" in nodes[nid]["classes"]) == (i == F - mid)
        assert "pending" not in nodes[nid]["classes"]
    assert f"backward {mid} / {F}" in dumps["mid"]


def test_collapsed_view_at_the_end(pages):
    _, order, data, _, dumps = pages
    k = next(k for k, v in enumerate(data["views"]) if v["key"] == "collapsed")
    view = data["views"][k]
    nodes, edges = tagged(dumps["end"], k)
    assert re.search(rf'<div class="view" id="view-{k}"(?![^>]*hidden)', dumps["end"])  # the one shown
    groups = [nid for nid, n in view["nodes"].items() if n["group"]]
    assert len(groups) == 2 and all("hasgrad" in nodes[g]["classes"] for g in groups)
    # step 1's box hands h_1 and c_1 to step 2's: two edges, each in the colour of its own gradient
    g1, g2 = sorted(groups, key=lambda g: view["nodes"][g]["group"])
    between = [i for i, e in enumerate(view["edges"]) if (e["src"], e["dst"]) == (g1, g2)]
    assert len(between) == 2
    names = {data["tensors"][view["edges"][i]["tensor"]]["name"] for i in between}
    assert names == {"h_1", "c_1"}
    for i in between:
        t = next(t for t in order if t.name == data["tensors"][view["edges"][i]["tensor"]]["name"])
        assert edges[i]["vars"]["--gc"] == PALETTE[decade_bin(float(np.linalg.norm(t.grad)))]


def panel(dom: str) -> str:
    return dom[dom.index('<div id="info">'):dom.index('<div id="legend">')]


def panel_arrays(dom: str) -> list[np.ndarray]:
    """The number tables of the side panel (value, then gradient), as the page printed them."""
    tables = re.findall(r'<table class="arr">(.*?)</table>', panel(dom), re.S)
    return [np.array([[float(x) for x in re.findall(r"<td>([^<]*)</td>", row)]
                      for row in re.findall(r"<tr>(.*?)</tr>", t, re.S)]) for t in tables]


def test_side_panel_shows_value_and_gradient_of_the_pinned_tensor(pages):
    _, order, _, mid, dumps = pages
    W = next(t for t in order if t.name == "W")
    text = panel(dumps["end"])
    assert "<h2>W" in text and "parameter" in text and "(2, 8)" in text and "(top level)" in text
    value, grad = panel_arrays(dumps["end"])  # 16 entries each: small enough to be shown in full
    np.testing.assert_allclose(value, W.data, rtol=6e-3)
    np.testing.assert_allclose(grad, W.grad, rtol=6e-3)
    # mid-backward, c_1 has its value but its gradient is still on the way (or already complete)
    i = next(i for i, t in enumerate(order) if t.name == "c_1")
    c1, F = order[i], len(order)
    text = panel(dumps["mid"])
    assert "<h2>c_1" in text and "t=1 › lstm › cell state" in text
    arrays = panel_arrays(dumps["mid"])
    np.testing.assert_allclose(arrays[0], c1.data, rtol=6e-3)
    if F - i > mid:
        assert len(arrays) == 1 and f"complete at backward step {F - i}" in text
    else:
        np.testing.assert_allclose(arrays[1], c1.grad, rtol=6e-3)


def test_side_panel_of_a_lean_graphs_stand_in_says_its_value_was_not_kept(tmp_path):
    x = tg.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    with tg.lean():
        a = x * 2.0
        a.name = "a"  # named before its first use: its stand-in carries the name
        y = a.tanh().sum()
    y.backward()
    path = tmp_path / "lean.html"
    draw(y).save(path)
    with tempfile.TemporaryDirectory() as profile:
        p = _launch(path.as_uri() + "#step=end&node=a", profile)
        out, err = p.communicate(timeout=90)
    assert p.returncode == 0 and not [line for line in err.splitlines() if ":CONSOLE" in line]
    text = panel(out)
    assert "<h2>a" in text and "not kept: made inside lean()" in text
    (grad,) = panel_arrays(out)  # the gradient only: no value table
    np.testing.assert_allclose(grad.ravel(), 1 - np.tanh(2 * x.data) ** 2, rtol=6e-3)


def test_side_panel_splits_a_parameters_gradient_by_step(pages):
    """Issue 19: the pinned parameter W shows its gradient as one term per step (bars, log scale)."""
    from tinygrad_rnn.viz import grad_by_step
    loss, order, _, _, dumps = pages
    W = next(t for t in order if t.name == "W")
    block = dumps["end"].split('class="bystep"')[1]
    bars = re.findall(r"<title>t=(\d+): ‖·‖ = ([^<]+)</title>", block)
    assert [int(t) for t, _ in bars] == [1, 2]
    np.testing.assert_allclose([float(v) for _, v in bars], grad_by_step(W, loss).norms, rtol=6e-3)
    assert "add up (as matrices) to W.grad" in block
