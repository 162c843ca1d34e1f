"""The interactive page (viz/html.py): its embedded data against the engine, by numpy, and its
self-containedness; the browser side is in test_viz_html_browser.py."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.engine.autograd import backward
from tinygrad_rnn.viz import draw
from tinygrad_rnn.viz.graph import PALETTE
from tinygrad_rnn.viz.html import html_page

_DATA = re.compile(r'<script type="application/json" id="bptt-data">(.*?)</script>', re.S)


def page_data(text: str) -> dict:
    """The JSON block of a page; strict: NaN/Infinity literals are not JSON and would fail here."""
    blocks = _DATA.findall(text)
    assert len(blocks) == 1

    def refuse(name: str) -> None:
        raise AssertionError(f"non-JSON constant {name} in the page")
    return json.loads(blocks[0], parse_constant=refuse)


def lstm_loss(T: int = 2, H: int = 2, n_in: int = 2, seed: int = 0):
    """An unrolled LSTM with an MSE loss at the last step; backward run; returns the engine's order."""
    rng = np.random.default_rng(seed)
    cell = tg.nn.LSTMCell(n_in, H, rng=rng)
    xs = rng.standard_normal((T, 1, n_in))
    target = tg.Tensor(rng.uniform(-0.5, 0.5, (1, H)), name="target")
    hs, _ = tg.nn.unroll(cell, xs)
    loss = tg.nn.mse_loss(hs[-1], target)
    loss.name = "loss"
    order = backward(loss)
    return loss, hs, target, order


def array_of(a: dict, shape: list[int]) -> np.ndarray:
    return np.array(a["rows"], dtype=np.float64).reshape(shape)


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def vjp(t: tg.Tensor, k: int) -> np.ndarray | None:
    """d(loss)/d(parent k) through t alone, by the textbook rule of t's op (None: op not covered)."""
    g, ps = t.grad, t.parents
    if t.op in ("add", "sub"):
        return unbroadcast(-g if t.op == "sub" and k == 1 else g, ps[k].shape)
    if t.op == "mul":
        return unbroadcast(g * ps[1 - k].data, ps[k].shape)
    if t.op == "tanh":
        return g * (1 - t.data ** 2)
    if t.op == "sigmoid":
        return g * t.data * (1 - t.data)
    if t.op == "matmul":
        a, b = ps[0].data, ps[1].data
        return g @ b.T if k == 0 else a.T @ g
    return None


def decade_bin(norm: float) -> int:
    """Bin of the fixed scale, counted by hand: 0 for >= 1, then one per decade down to 1e-6."""
    if norm == 0:
        return len(PALETTE) - 1
    return min(max(0, -math.floor(math.log10(norm))), len(PALETTE) - 1)


@pytest.fixture(scope="module")
def small_lstm(tmp_path_factory):
    loss, hs, target, order = lstm_loss()
    path = tmp_path_factory.mktemp("page") / "lstm.html"
    draw(loss).save(path)
    text = path.read_text(encoding="utf-8")
    return loss, hs, target, order, text, page_data(text)


def test_orders_are_the_engines(small_lstm):
    _, _, _, order, _, data = small_lstm
    F = len(order)
    assert data["forward"] == list(range(F))
    assert data["backward"] == list(range(F - 1, -1, -1))
    for i, t in enumerate(order):
        e = data["tensors"][data["forward"][i]]
        assert (e["op"], e["name"], tuple(e["scope"]), tuple(e["shape"])) == (t.op, t.name, t.scope, t.shape)
        assert e["f"] == i + 1 and e["b"] == F - i
    # everything drawn but outside the order (inputs, target) is given from the start
    assert {e["name"] for e in data["tensors"][F:]} >= {"x_1", "x_2", "target"}
    assert all(e["f"] == 0 and e["b"] is None for e in data["tensors"][F:])


def test_values_and_gradients_are_the_engines(small_lstm):
    _, _, _, order, _, data = small_lstm
    summarised = 0
    for i, t in enumerate(order):
        e = data["tensors"][i]
        for key, arr in (("value", t.data), ("grad", t.grad)):
            got = e[key]
            assert got["norm"] == pytest.approx(np.linalg.norm(arr), rel=1e-12)
            if "rows" in got:
                np.testing.assert_array_equal(array_of(got, e["shape"]), arr)  # exact: floats round-trip
            else:
                summarised += 1
                flat = np.ravel(arr)
                assert (got["min"], got["max"]) == (flat.min(), flat.max())
                assert got["mean"] == pytest.approx(flat.mean(), rel=1e-12, abs=1e-15)
                assert got["first"] == flat[:len(got["first"])].tolist()
    assert summarised == 0  # H=2: every array of this graph is small enough to embed in full


def test_a_lean_graphs_stand_ins_have_no_value_on_the_page():
    x = tg.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    with tg.lean():
        y = (x * 2.0).tanh().sum()
    order = backward(y)
    data = page_data(html_page(draw(y), order))
    kept = {e["op"]: e["value"] is not None for e in data["tensors"]}
    assert kept == {None: True, "mul": False, "tanh": False, "sum": True}


def test_hand_derived_numbers(small_lstm):
    loss, hs, target, _, _, data = small_lstm
    by_name = {e["name"]: e for e in data["tensors"] if e["name"]}
    h = hs[-1].data
    diff = h - target.data
    assert array_of(by_name["loss"]["value"], []) == pytest.approx(np.mean(diff ** 2))
    assert array_of(by_name["loss"]["grad"], []) == 1.0
    # d mean((h - y)^2) / dh = 2 (h - y) / n
    np.testing.assert_allclose(array_of(by_name["h_2"]["grad"], [1, 2]), 2 * diff / diff.size, rtol=1e-12)


def test_edge_gradients_match_textbook_vjps(small_lstm):
    loss, _, _, order, _, data = small_lstm
    view = next(v for v in data["views"] if v["key"] == "expanded")
    tensors = {i: t for i, t in enumerate(order)}
    checked = with_grad = 0
    for e in view["edges"]:
        (dst,) = view["nodes"][e["dst"]]["tensors"]
        (src,) = view["nodes"][e["src"]]["tensors"]
        t = tensors.get(dst)
        assert e["tensor"] == src
        if t is None or e["norm"] is None:
            continue
        with_grad += 1
        # the edge lights with its head in the forward pass and gets its gradient as its head's completes
        assert e["f"] == dst + 1 and e["b"] == len(order) - dst
        assert e["color"] == PALETTE[decade_bin(e["norm"])]
        ks = [k for k, p in enumerate(t.parents) if p is order[src]]
        parts = [vjp(t, k) for k in ks]
        if any(p is None for p in parts):
            continue
        assert e["norm"] == pytest.approx(np.linalg.norm(sum(parts)), rel=1e-9, abs=1e-15)
        checked += 1
    assert checked >= 0.6 * with_grad and with_grad >= 40  # the rest: getitem, pow, mean


def test_collapsed_view_steps_light_and_fill_by_their_ops(small_lstm):
    _, _, _, order, _, data = small_lstm
    view = next(v for v in data["views"] if v["key"] == "collapsed")
    groups = {n["group"]: (nid, n) for nid, n in view["nodes"].items() if n["group"]}
    assert set(groups) == {"t=1", "t=2"}
    F = len(order)
    for name, (_, n) in groups.items():
        inside = [i for i, t in enumerate(order) if t.scope[:1] == (name,) and not t.is_leaf]
        assert sorted(n["tensors"]) == inside
        assert n["f"] == [min(inside) + 1, max(inside) + 1]
        assert n["b"] == [F - max(inside), F - min(inside)]
    # the edges from W: one per step, whole once the first op of that step that reads W has sent its share
    W = next(i for i, t in enumerate(order) if t.name == "W")
    for name, (nid, _) in groups.items():
        (e,) = [e for e in view["edges"] if e["src"] != nid and e["dst"] == nid and e["tensor"] == W]
        readers = [i for i, t in enumerate(order)
                   if t.scope[:1] == (name,) and any(p is order[W] for p in t.parents)]
        assert e["f"] == min(readers) + 1 and e["b"] == F - min(readers)


def test_every_node_and_edge_of_each_view_is_tagged_in_its_svg(small_lstm):
    loss, _, _, _, text, data = small_lstm
    assert [v["key"] for v in data["views"]] == ["expanded", "collapsed"]
    for k, v in enumerate(data["views"]):
        block = re.search(rf'<div class="view" id="view-{k}"[^>]*>(.*?)</svg>', text, re.S).group(1)
        edges = [int(x) for x in re.findall(r'data-edge="(\d+)"', block)]
        nodes = re.findall(r'data-node="([^"]+)"', block)
        assert sorted(edges) == list(range(len(v["edges"])))
        assert sorted(nodes) == sorted(v["nodes"])
        # each tag names the edge Graphviz drew between those ends (the raw SVG titles say which)
        d = draw(loss, collapse=None if v["key"] == "expanded" else 1)
        titles = dict(re.findall(r'<g id="edge(\d+)" class="edge">\s*<title>(.*?)</title>', d.svg()))
        for n, i in re.findall(r'<g id="v\d+-edge(\d+)" class="edge" data-edge="(\d+)">', block):
            ends = [end.split(":")[0] for end in titles[n].replace("&#45;&gt;", "->").split("->")]
            assert ends == [v["edges"][int(i)]["src"], v["edges"][int(i)]["dst"]]
            assert int(i) == int(n) - 1  # Graphviz numbers edges in DOT statement order: h and c not swapped
    # h and c both go from step 1's box to step 2's: two distinct edges with the same ends
    col = data["views"][1]
    pairs = [(e["src"], e["dst"]) for e in col["edges"]]
    assert any(pairs.count(p) == 2 for p in pairs)


def test_page_is_self_contained(small_lstm):
    text = small_lstm[4]
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 2
    low = text.lower()
    for bad in ("<link", " src=", "@import", "fetch(", "xmlhttprequest", "import(", "url("):
        assert bad not in low, bad
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls


def test_script_breaking_names_and_nonfinite_values_survive():
    x = tg.Tensor(np.array([[np.nan, np.inf, -np.inf, 1.0]]), requires_grad=True, name="</script><b>x")
    y = (x * 2.0).sum()
    y.name = "</SCRIPT>&<!--"
    y.backward()
    text = html_page(draw(y))
    assert "</script><b>" not in text.lower() and "<!--\"" not in text
    data = page_data(text)
    names = {e["name"] for e in data["tensors"]}
    assert {"</script><b>x", "</SCRIPT>&<!--"} <= names
    xe = next(e for e in data["tensors"] if e["name"] == "</script><b>x")
    assert xe["value"]["rows"] == [["NaN", "Infinity", "-Infinity", 1.0]]
    assert xe["grad"]["rows"] == [[2.0, 2.0, 2.0, 2.0]]


def test_large_arrays_are_summarised():
    a = tg.Tensor(np.arange(100.0).reshape(10, 10) - 50, requires_grad=True, name="a")
    y = (a * a).sum()
    y.backward()
    data = page_data(html_page(draw(y)))
    e = next(e for e in data["tensors"] if e["name"] == "a")
    v = e["value"]
    assert "rows" not in v and (v["min"], v["max"], v["mean"]) == (-50.0, 49.0, -0.5)
    assert v["first"] == [-50.0, -49.0, -48.0, -47.0, -46.0, -45.0]
    assert e["grad"]["norm"] == pytest.approx(2 * np.linalg.norm(np.arange(100.0) - 50))


def test_a_large_graph_falls_back_to_the_collapsed_view():
    loss, _, _, order = lstm_loss(T=3)
    data = page_data(html_page(draw(loss), max_expanded_nodes=20))
    assert [v["key"] for v in data["views"]] == ["collapsed"]
    assert "left out" in data["note"]
    assert len(data["forward"]) == len(order)
    # a collapsed drawing leads, with the every-op view second when it is small enough
    data = page_data(html_page(draw(loss, collapse=1)))
    assert [v["key"] for v in data["views"]] == ["collapsed", "expanded"]


def test_before_backward_only_the_forward_pass_is_stepped():
    rng = np.random.default_rng(3)
    cell = tg.nn.ElmanCell(2, 2, rng=rng)
    hs, _ = tg.nn.unroll(cell, rng.standard_normal((3, 1, 2)))
    loss = (hs[-1] ** 2.0).sum()
    data = page_data(html_page(draw(loss)))
    assert len(data["forward"]) == len(tg.engine.autograd.toposort(loss)) and data["backward"] == []
    assert all(e["grad"] is None and e["b"] is None for e in data["tensors"])


def _check_cell_page(data: dict) -> None:
    assert [v["key"] for v in data["views"]] == ["expanded", "collapsed"]
    F = len(data["forward"])
    assert data["backward"] == data["forward"][::-1] and F > 10
    steps = {e["scope"][0] for e in data["tensors"][:F] if e["scope"]}
    assert steps == {"t=1", "t=2", "t=3"}
    assert data["tensors"][data["forward"][-1]]["name"] == "loss"


@pytest.mark.parametrize("cell", ["dampened", "elman"])
def test_the_other_cells(cell):
    from tinygrad_rnn.cli.graph import unrolled_loss
    loss, _, _, _ = unrolled_loss(cell, 3, hidden=2)
    loss.backward()
    _check_cell_page(page_data(html_page(draw(loss))))


def test_the_command_line_writes_the_page(tmp_path):
    out = tmp_path / "gru.html"
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "graph", "--cell", "gru", "--steps", "3",
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _check_cell_page(page_data(out.read_text(encoding="utf-8")))
