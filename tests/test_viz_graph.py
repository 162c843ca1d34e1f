"""Structure of drawn graphs, read from the DOT text and the Drawing's node/edge tables."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.viz import Group, draw, walk
from tinygrad_rnn.viz.graph import grad_bin


def _elman(T: int = 4, H: int = 3, n_in: int = 2, seed: int = 0, backward: bool = True):
    cell = tg.nn.ElmanCell(n_in, H, rng=np.random.default_rng(seed))
    xs = np.random.default_rng(seed + 1).standard_normal((T, 1, n_in))
    hs, _ = tg.nn.unroll(cell, xs)
    loss = (hs[-1] ** 2.0).sum()
    if backward:
        loss.backward()
    return loss, hs, cell, xs


def _lstm(T: int = 3, H: int = 3, n_in: int = 2, seed: int = 0):
    cell = tg.nn.LSTMCell(n_in, H, rng=np.random.default_rng(seed))
    xs = np.random.default_rng(seed + 1).standard_normal((T, 1, n_in))
    hs, _ = tg.nn.unroll(cell, xs)
    loss = (hs[-1] ** 2.0).sum()
    loss.backward()
    return loss, hs, cell


def _node_id(d, name: str) -> str:
    ids = [k for k, v in d.nodes.items() if not isinstance(v, Group) and v.name == name]
    assert len(ids) == 1, f"{name} drawn {len(ids)} times"
    return ids[0]


def _edges_from(source: str, nid: str) -> list[str]:
    return re.findall(rf"^\s*{nid} -> (\w+)", source, flags=re.M)


def _cluster_body(source: str, name: str) -> str:
    """The text of `subgraph <name> { ... }`, braces matched."""
    start = source.index(f"subgraph {name} {{")
    depth, i = 0, start
    while True:
        if source[i] == "{":
            depth += 1
        elif source[i] == "}":
            depth -= 1
            if depth == 0:
                return source[start:i + 1]
        i += 1


def test_one_cluster_per_step_and_the_cell_inside():
    loss, _, _, _ = _elman(T=4)
    src = draw(loss).source
    for t in range(1, 5):
        assert len(re.findall(rf'label="t={t}"', src)) == 1
    assert 'label="t=5"' not in src
    assert len(re.findall(r"label=elman\b", src)) == 4


def test_shared_parameters_drawn_once_outside_steps_with_one_edge_per_step():
    T = 4
    loss, _, _, _ = _elman(T=T)
    d = draw(loss)
    params = _cluster_body(d.source, "cluster_parameters")
    for name in ("W", "U", "b"):
        nid = _node_id(d, name)
        assert len(re.findall(rf"^\s*{nid} \[", d.source, flags=re.M)) == 1
        assert re.search(rf"^\s*{nid} \[", params, flags=re.M), f"{name} not among the shared parameters"
        targets = _edges_from(d.source, nid)
        assert len(targets) == T
        steps = sorted(d.nodes[n].scope[0] for n in targets)
        assert steps == [f"t={t}" for t in range(1, T + 1)]


def test_collapse_one_box_per_step_keeps_state_edges():
    T = 4
    loss, _, _ = _lstm(T=T)
    full, boxes = draw(loss), draw(loss, collapse=1)
    assert len(boxes.nodes) < len(full.nodes) // 3
    groups = {v.scope: k for k, v in boxes.nodes.items() if isinstance(v, Group)}
    assert sorted(groups) == [(f"t={t}",) for t in range(1, T + 1)]
    for t in range(1, T):
        carried = {e.tensor.name for e in boxes.edges
                   if e.src == groups[(f"t={t}",)] and e.dst == groups[(f"t={t + 1}",)]}
        assert carried == {f"h_{t}", f"c_{t}"}
    # each shared parameter: one edge into each box; inputs stay outside their box
    for name in ("W", "U", "b"):
        assert len(_edges_from(boxes.source, _node_id(boxes, name))) == T
    x2 = _node_id(boxes, "x_2")
    assert _edges_from(boxes.source, x2) == [groups[("t=2",)]]
    assert 'label="t=1"' not in boxes.source  # no cluster left for a collapsed step
    assert "rankdir=LR" in boxes.source


def test_params_false_leaves_out_parameters_and_only_them():
    loss, _, _, _ = _elman(T=3)
    full, bare = draw(loss, collapse=1), draw(loss, collapse=1, params=False)
    names = {v.name for v in full.nodes.values() if not isinstance(v, Group)}
    bare_names = {v.name for v in bare.nodes.values() if not isinstance(v, Group)}
    assert names - bare_names == {"W", "U", "b"}
    assert len(full.edges) - len(bare.edges) == 3 * 3
    assert "shared parameters" not in bare.source


def test_collapse_by_scope_name_and_the_lstm_gates_as_clusters():
    loss, _, _ = _lstm(T=1)
    full = draw(loss).source
    for gate in ("input gate", "forget gate", "candidate", "output gate", "cell state"):
        assert re.search(rf'label="?{gate}"?\s', full), gate
    d = draw(loss, collapse=["forget gate"])
    assert 'label="forget gate"' not in d.source
    assert 'label="input gate"' in d.source and "label=candidate" in d.source
    assert [g.scope for g in d.nodes.values() if isinstance(g, Group)] == [("t=1", "lstm", "forget gate")]


def test_collapse_rejects_nonsense():
    loss, _, _, _ = _elman(T=2)
    with pytest.raises(ValueError, match="collapse depth"):
        draw(loss, collapse=0)
    with pytest.raises(TypeError, match="collapse"):
        draw(loss, collapse=1.5)
    with pytest.raises(TypeError, match="roots"):
        draw([])


def _numpy_elman_bptt(cell, xs):
    """Plain numpy BPTT of loss = sum(h_T^2): per step t, the share of dL/dW from step t."""
    W, U, b = cell.W.data, cell.U.data, cell.b.data
    hs = [np.zeros((1, U.shape[0]))]
    for x in xs:
        hs.append(np.tanh(x @ W + hs[-1] @ U + b))
    dh = 2 * hs[-1]
    shares = {}
    for t in range(len(xs), 0, -1):
        da = dh * (1 - hs[t] ** 2)
        shares[t] = xs[t - 1].T @ da
        dh = da @ U.T
    return shares


def test_edge_gradient_is_the_gradient_flowing_back_along_it():
    T = 5
    loss, _, cell, xs = _elman(T=T, H=4)
    d = draw(loss)
    shares = _numpy_elman_bptt(cell, xs)
    w = _node_id(d, "W")
    by_step = {d.nodes[e.dst].scope[0]: e.grad_norm for e in d.edges if e.src == w}
    for t in range(1, T + 1):
        assert by_step[f"t={t}"] == pytest.approx(np.linalg.norm(shares[t]), rel=1e-9)
    # the colour of each W edge follows its own norm on the fixed scale
    for e in d.edges:
        if e.src == w:
            tail = re.search(rf"{w} -> {e.dst} \[([^\]]*)\]", d.source).group(1)
            assert f"|grad| = {e.grad_norm:.3g}" in tail


def _assert_edges_add_up_to_grads(d, loss, rtol, atol) -> set:
    """Each drawn tensor's gradient is the sum of those on its outgoing edges; returns the names checked."""
    checked = set()
    for nid in d.order:
        t = d.nodes[nid]
        if isinstance(t, Group) or t.grad is None or t is loss:
            continue
        out = [e.grad for e in d.edges if e.tensor is t and e.grad is not None]
        np.testing.assert_allclose(sum(out), t.grad, rtol=rtol, atol=atol)
        checked.add(t.name)
    return checked


@pytest.mark.parametrize("collapse", [None, 1, 2])
def test_gradients_along_the_edges_out_of_a_tensor_add_up_to_its_gradient(collapse):
    loss, _, _ = _lstm(T=3)
    d = draw(loss, collapse=collapse)
    checked = _assert_edges_add_up_to_grads(d, loss, rtol=1e-12, atol=1e-15)
    assert {"W", "U", "b"} <= checked


def test_gradient_colouring_present_after_backward_absent_before_and_when_off():
    loss, _, _, _ = _elman(T=3, backward=False)
    before = draw(loss)
    assert all(e.grad_norm is None for e in before.edges)
    assert "|grad|" not in before.source and "flowing back" not in before.source
    loss.backward()
    after = draw(loss)
    assert "flowing back" in after.source  # the legend of the colour scale
    coloured = [e for e in after.edges if e.grad_norm is not None]
    assert len(coloured) > len(after.edges) // 2
    off = draw(loss, grads=False)
    assert "|grad|" not in off.source and "flowing back" not in off.source
    assert not re.search(r"-> \w+ \[[^\]]*penwidth", off.source)
    assert re.search(r"-> \w+ \[[^\]]*penwidth", after.source)


def test_lean_backward_shows_leaf_gradients_but_no_edge_colours():
    loss, _, cell, _ = _elman(T=3, backward=False)
    loss.backward(keep_intermediate=False)
    d = draw(loss)
    assert all(e.grad_norm is None for e in d.edges)
    assert "flowing back" not in d.source and "style=dashed" not in d.source.split("->", 1)[1]
    assert f"|grad| {np.linalg.norm(cell.W.grad):.3g}" in d.source


def test_vanishing_gradient_fades_toward_early_steps():
    cell = tg.nn.DampenedCell(2, 3, lam=0.3, rng=np.random.default_rng(0))
    hs, _ = tg.nn.unroll(cell, np.random.default_rng(1).standard_normal((6, 1, 2)))
    (hs[-1] ** 2.0).sum().backward()
    d = draw(hs[-1], collapse=1)
    boxes = {v.scope[0]: k for k, v in d.nodes.items() if isinstance(v, Group)}
    chain = [next(e for e in d.edges if e.src == boxes[f"t={t}"] and e.dst == boxes[f"t={t + 1}"])
             for t in range(1, 6)]
    norms = [e.grad_norm for e in chain]
    assert all(a < b for a, b in zip(norms, norms[1:]))  # smaller further from the loss
    assert grad_bin(norms[0]) > grad_bin(norms[-1])       # and a paler colour bin


def test_colour_scale_is_fixed_by_decade():
    assert grad_bin(5.0) == 0 and grad_bin(1.0) == 0
    assert grad_bin(0.5) == 1 and grad_bin(0.099) == 2
    assert grad_bin(2e-6) == 6 and grad_bin(1e-7) == 7 and grad_bin(0.0) == 7


def test_same_computation_gives_the_same_dot_text():
    a = draw(_elman(T=3, seed=4)[0], collapse=1).source
    b = draw(_elman(T=3, seed=4)[0], collapse=1).source
    assert a == b
    assert re.search(r"\bn0 \[", a)  # ids by order, not memory addresses
    assert not re.search(r"\b\d{9,}\b", a)


def test_node_limit_suggests_collapse():
    loss, _, _, _ = _elman(T=60, backward=False)
    with pytest.raises(ValueError, match=r"max_nodes=150.*collapse=1"):
        draw(loss, max_nodes=150)
    d = draw(loss, collapse=1, max_nodes=150)
    assert len(d.nodes) - len(d.references) < 150  # the parameters' per-step copies are not counted


def test_walk_is_iterative_on_a_long_chain():
    x = tg.Tensor(np.ones(2), requires_grad=True, name="x")
    y = x
    for _ in range(20000):
        y = y * 1.0
    order = walk(y)
    assert len(order) == 40001  # x, and per step the product and its constant 1.0
    assert order[0] is x and order[-1] is y


def test_constants_fold_into_ops_and_values_show_data_and_grad():
    x = tg.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    y = (1.0 - x * 2.0).sum()
    y.backward()
    d = draw(y, values=True)
    assert len(d.nodes) == 4  # x, x*2, 1-(.), sum: the constants 2 and 1 are folded
    assert "1 − ·" in d.source and "· × 2" in d.source
    assert "data [ 0.5 -1. ]" in d.source and "grad [-2. -2.]" in d.source


def test_a_lean_graph_draws_its_stand_ins_as_values_not_kept():
    x = tg.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    with tg.lean():
        y = (x * 2.0).tanh().sum()
    y.backward()
    d = draw(y, values=True)
    assert d.source.count("value not kept (lean)") == 2  # x * 2 and its tanh; x and y have values
    assert "data [ 0.5 -1. ]" in d.source
    assert "grad [0.42  0.071]" in d.source  # a stand-in still shows its gradient: 1 - tanh(2x)^2
    assert d.source.count("grad [1. 1.]") == 1  # the tanh's, under sum


def test_save_dot_and_html_and_bad_extension(tmp_path):
    loss, _, _, _ = _elman(T=2)
    d = draw(loss)
    p = d.save(tmp_path / "g.dot")
    assert p.read_text() == d.source
    with pytest.raises(ValueError, match=r"\.txt"):
        d.save(tmp_path / "g.txt")
    if importlib.util.find_spec("tinygrad_rnn.viz.html") is None:
        with pytest.raises(NotImplementedError, match="html"):
            d.save(tmp_path / "g.html")
    else:
        assert d.save(tmp_path / "g.html").stat().st_size > 0


@settings(deadline=None)
@given(kind=st.sampled_from(["dampened", "elman", "lstm", "gru"]), T=st.integers(1, 4),
       H=st.integers(1, 3), batch=st.integers(1, 2), collapse=st.sampled_from([None, 1, 2]),
       seed=st.integers(0, 2 ** 16))
def test_drawn_structure_holds_for_every_cell(kind, T, H, batch, collapse, seed):
    """Per step one cluster (or box), each parameter drawn once with one edge per step, and the
    gradients flowing out of every drawn tensor add up to its gradient."""
    cls = {"dampened": tg.nn.DampenedCell, "elman": tg.nn.ElmanCell, "lstm": tg.nn.LSTMCell,
           "gru": tg.nn.GRUCell}[kind]
    cell = cls(2, H, rng=np.random.default_rng(seed))
    hs, _ = tg.nn.unroll(cell, np.random.default_rng(seed + 1).standard_normal((T, batch, 2)))
    loss = (hs[-1] ** 2.0).sum()
    loss.backward()
    d = draw(loss, collapse=collapse, shared="once")
    steps = {f"t={t}" for t in range(1, T + 1)}
    if collapse == 1:
        assert {g.scope for g in d.nodes.values() if isinstance(g, Group)} == {(s,) for s in steps}
    else:
        assert {s for s in steps if len(re.findall(rf'label="{s}"', d.source)) == 1} == steps
    for name, p in cell.named_parameters():
        nid = _node_id(d, p.name)
        into = {d.nodes[e.dst].scope[0] for e in d.edges if e.src == nid}
        assert into == steps, name
        assert len([e for e in d.edges if e.src == nid]) == T
    _assert_edges_add_up_to_grads(d, loss, rtol=1e-10, atol=1e-14)


def test_draw_runs_no_backward_rule_again():
    """Edge gradients come from the backward pass itself: a custom op's backward runs once."""
    calls = []

    class Cube(tg.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            (a,) = ctx.saved_tensors
            return 3 * a ** 2 * g

    x = tg.Tensor(np.array([0.5, -2.0]), requires_grad=True, name="x")
    y = Cube.apply(x)
    loss = (y * 2.0).sum()
    loss.backward()
    d = draw(loss)
    assert len(calls) == 1
    (edge,) = [e for e in d.edges if e.tensor is x]
    np.testing.assert_allclose(edge.grad, 6 * x.data ** 2)  # what Cube sent back, kept by the pass
