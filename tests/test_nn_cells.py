"""The recurrent cells: forward against the equations in plain numpy, gradients against finite
differences (float64, unrolled over 4-6 steps, w.r.t. every parameter, the initial state and
the inputs), lean recording against the default, and the scopes and names that make the
unrolled graph readable."""

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.engine.autograd import toposort
from tinygrad_rnn.nn import DampenedCell, ElmanCell, GRUCell, LSTMCell, LSTMState, unroll
from tinygrad_rnn.nn.cells import CELLS


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _reference_step(cell, x, state):
    """One step of each cell, written from the cells' equations (docs/api.md) with numpy only."""
    p = {k: v for k, v in cell.state_dict().items()}
    act = {"tanh": np.tanh, "sigmoid": _sig, "relu": lambda a: np.maximum(a, 0)}
    H = cell.hidden_size
    if isinstance(cell, DampenedCell):
        return act[cell.activation](x @ p["W"] + p["lam"] * state + p["b"])
    if isinstance(cell, ElmanCell):
        return act[cell.activation](x @ p["W"] + state @ p["U"] + p["b"])
    if isinstance(cell, LSTMCell):
        h, c = state
        z = x @ p["W"] + h @ p["U"] + p["b"]
        i, f, g, o = _sig(z[:, :H]), _sig(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), _sig(z[:, 3 * H:])
        c = f * c + i * g
        return o * np.tanh(c), c
    W, U, b = p["W"], p["U"], p["b"]
    r = _sig(x @ W[:, :H] + h_mat(state, U, 0, H) + b[:H])
    z = _sig(x @ W[:, H:2 * H] + h_mat(state, U, 1, H) + b[H:2 * H])
    n = np.tanh(x @ W[:, 2 * H:] + b[2 * H:] + r * (h_mat(state, U, 2, H) + p["b_hn"]))
    return (1 - z) * n + z * state


def h_mat(h, U, k, H):
    return h @ U[:, k * H:(k + 1) * H]


def _make(kind, n_in, H, seed, **kw):
    rng = np.random.default_rng(seed)
    base, _, variant = kind.partition("-")
    if kind == "dampened":
        kw = {"lam": 0.7, **kw}
    if kind == "dampened-fixed-sigmoid":
        kw = {"lam": 0.3, "learn_lam": False, **kw}
    if variant.endswith("sigmoid"):
        kw = {"activation": "sigmoid", **kw}
    return CELLS[base](n_in, H, rng=rng, **kw)


KINDS = ["dampened", "dampened-fixed-sigmoid", "elman", "elman-sigmoid", "lstm", "gru"]


@pytest.mark.parametrize("kind", KINDS)
def test_unrolled_forward_matches_numpy_equations(kind):
    T, B, n_in, H = 5, 3, 4, 3
    cell = _make(kind, n_in, H, seed=1)
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((T, B, n_in))
    if isinstance(cell, LSTMCell):
        ref = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
        state = LSTMState(tg.Tensor(ref[0]), tg.Tensor(ref[1]))
    else:
        ref = rng.standard_normal((B, H))
        state = tg.Tensor(ref)
    hs, final = unroll(cell, xs, state)
    for t in range(T):
        ref = _reference_step(cell, xs[t], ref)
        h_ref = ref[0] if isinstance(cell, LSTMCell) else ref
        np.testing.assert_allclose(hs[t].data, h_ref, rtol=1e-13, atol=1e-14)
    if isinstance(cell, LSTMCell):
        np.testing.assert_allclose(final.c.data, ref[1], rtol=1e-13, atol=1e-14)


@given(kind=st.sampled_from(KINDS), T=st.integers(4, 6), B=st.integers(1, 2), n_in=st.integers(1, 3),
       H=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_unrolled_cell_gradients_match_finite_differences(kind, T, B, n_in, H, seed):
    cell = _make(kind, n_in, H, seed)
    rng = np.random.default_rng(seed + 1)
    xs = tg.Tensor(rng.standard_normal((T, B, n_in)), requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((B, H)) * 0.5, requires_grad=True)
    c0 = tg.Tensor(rng.standard_normal((B, H)) * 0.5, requires_grad=True)
    is_lstm = isinstance(cell, LSTMCell)
    state = LSTMState(h0, c0) if is_lstm else h0

    def run(*_):  # the inputs are the very tensors the cell and the state hold
        hs, final = unroll(cell, xs, state)
        out = tg.stack(hs)
        return tg.concat([out, tg.stack([final.c])], axis=0) if is_lstm else out

    params = cell.parameters()
    assert len(params) == {"dampened-fixed-sigmoid": 2, "gru": 4}.get(kind, 3)
    assert tg.gradcheck(run, [*params, xs, h0] + ([c0] if is_lstm else []), atol=1e-7, rtol=1e-6)


@given(kind=st.sampled_from(KINDS), T=st.integers(2, 5), B=st.integers(1, 2),
       H=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_a_lean_unroll_gives_the_default_gradients_and_frees_the_step_internals(kind, T, B, H, seed):
    cell = _make(kind, 3, H, seed)
    xs = tg.Tensor(np.random.default_rng(seed + 1).standard_normal((T, B, 3)), requires_grad=True)
    grads, kept = [], []
    for lean in (False, True):
        cell.zero_grad()
        xs.grad = None
        with tg.lean() if lean else contextlib.nullcontext():
            hs, _ = unroll(cell, xs)
            loss = (tg.stack(hs) ** 2).sum()
        loss.backward()
        # each h_t held here shows its gradient, also when the graph records a stand-in for it
        grads.append([p.grad for p in cell.parameters()] + [xs.grad] + [h.grad for h in hs])
        kept.append(sum(t.has_value for t in toposort(loss)))
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
    assert kept[1] < kept[0]


def _graph(root):
    return toposort(root)


@pytest.mark.parametrize("lean", [False, True])
@pytest.mark.parametrize("kind", ["dampened", "elman", "lstm", "gru"])
def test_unroll_names_steps_and_scopes_each_step(kind, lean):
    T = 3
    cell = _make(kind, 2, 3, seed=0)
    xs = tg.Tensor(np.ones((T, 1, 2)), requires_grad=True)
    with tg.lean() if lean else contextlib.nullcontext():  # stand-ins get the names too
        hs, final = unroll(cell, xs)
    nodes = _graph(tg.stack(hs).sum())
    names = {n.name for n in nodes}
    assert {f"x_{t}" for t in range(1, T + 1)} <= names
    assert {f"h_{t}" for t in range(1, T + 1)} <= names
    if kind == "lstm":  # c_t is used inside its own step, before unroll names it
        assert {f"c_{t}" for t in range(1, T + 1)} <= names
    gates = {"lstm": "zifgo", "gru": "rzn"}.get(kind, "")  # named after the step used them
    assert all(sum(n.name == g for n in nodes) == T for g in gates)
    assert (final.h if kind == "lstm" else final).name == f"h_{T}"
    for t in range(1, T + 1):
        assert hs[t - 1].name == f"h_{t}" and hs[t - 1].scope[0] == f"t={t}"
        assert hs[t - 1].scope[1] == kind
    assert {p.name for p in cell.parameters()} <= names
    x3 = next(n for n in nodes if n.name == "x_3")
    assert x3.scope == ("t=3",) and x3.op == "getitem"
    ops_used = {n.op for n in nodes if n.op is not None}
    assert ops_used <= {"add", "sub", "mul", "matmul", "tanh", "sigmoid", "getitem", "stack", "sum"}


@pytest.mark.parametrize("kind, middle", [("dampened", "mul"), ("elman", "matmul"), ("lstm", "matmul")])
def test_the_pre_activation_is_one_add_node_of_its_three_terms(kind, middle):
    """x_t W + (lam h | h U) + b is drawn as the equation reads: one sum with an edge from each term."""
    cell = _make(kind, 2, 3, seed=0)
    h0 = cell.initial_state(1)
    out = cell(np.ones((1, 2)), h0)
    # h = s(a) for the simple cells; the LSTM names its pre-activation z
    a = next(n for n in _graph(out.h.sum()) if n.name == "z") if kind == "lstm" else out.parents[0]
    assert a.op == "add" and [p.op for p in a.parents] == ["matmul", middle, None]
    assert a.parents[0].parents[1] is cell.W and a.parents[2] is cell.b


def test_initial_state_is_named_when_given_unnamed():
    cell = LSTMCell(2, 3, rng=0)
    h0 = tg.Tensor(np.zeros((1, 3)), requires_grad=True)
    c0 = tg.Tensor(np.zeros((1, 3)), requires_grad=True)
    _, final = unroll(cell, np.ones((2, 1, 2)), LSTMState(h0, c0))
    assert (h0.name, c0.name, final.c.name) == ("h_0", "c_0", "c_2")
    mine = tg.Tensor(np.zeros((1, 3)), name="start")
    unroll(ElmanCell(2, 3, rng=0), np.ones((2, 1, 2)), mine)
    assert mine.name == "start"


def test_lstm_gates_each_sit_in_their_own_scope():
    cell = LSTMCell(2, 3, rng=0)
    hs, final = unroll(cell, np.ones((2, 1, 2)))
    nodes = _graph((hs[-1] + final.c).sum())
    scopes = {n.scope for n in nodes}
    for t in (1, 2):
        for gate in ("input gate", "forget gate", "candidate", "output gate", "cell state", "hidden"):
            assert (f"t={t}", "lstm", gate) in scopes
    by_name = {(n.scope[:1], n.name): n for n in nodes if n.name}
    f2 = by_name[(("t=2",), "f")]
    assert f2.scope == ("t=2", "lstm", "forget gate") and f2.op == "sigmoid"
    assert by_name[(("t=2",), "g")].op == "tanh"
    c2 = by_name[(("t=2",), "c_2")]
    assert c2.scope == ("t=2", "lstm", "cell state") and c2.op == "add"


def test_gru_gates_each_sit_in_their_own_scope():
    hs, _ = unroll(GRUCell(2, 3, rng=0), np.ones((2, 1, 2)))
    scopes = {n.scope for n in _graph(hs[-1].sum())}
    for gate in ("reset gate", "update gate", "candidate", "hidden"):
        assert ("t=2", "gru", gate) in scopes


def test_lstm_forget_bias_is_added_to_the_forget_block_only():
    a, b = LSTMCell(3, 4, forget_bias=0.0, rng=5), LSTMCell(3, 4, forget_bias=1.0, rng=5)
    np.testing.assert_array_equal(b.b.data - a.b.data, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    bound = 1 / np.sqrt(4)
    assert np.abs(a.W.data).max() <= bound and np.abs(a.U.data).max() <= bound


def test_float32_cells_stay_float32():
    for kind in ("dampened", "elman", "lstm", "gru"):
        cell = _make(kind, 2, 3, seed=0, dtype=np.float32)
        hs, _ = unroll(cell, np.ones((3, 2, 2)))  # float64 input is cast to the cell's dtype
        assert all(h.dtype == np.float32 for h in hs)
        tg.stack(hs).sum().backward()
        assert all(p.grad.dtype == np.float32 for p in cell.parameters())


def test_unroll_accepts_a_list_of_steps_and_checks_its_arguments():
    cell = ElmanCell(2, 3, rng=0)
    xs = np.random.default_rng(0).standard_normal((4, 2, 2))
    hs_a, _ = unroll(cell, xs)
    hs_b, _ = unroll(cell, list(xs))
    np.testing.assert_array_equal(hs_a[-1].data, hs_b[-1].data)
    h0 = np.full((2, 3), 0.5)
    hs_c, _ = unroll(cell, xs, h0)                 # an array state becomes a constant Tensor
    hs_d, _ = unroll(cell, xs, tg.Tensor(h0))
    np.testing.assert_array_equal(hs_c[-1].data, hs_d[-1].data)
    lstm = LSTMCell(2, 3, rng=0, dtype=np.float32)
    hs_e, final = unroll(lstm, xs, (np.zeros((2, 3)), np.ones((2, 3))))
    assert final.c.dtype == np.float32 and isinstance(final, LSTMState)
    with pytest.raises(ValueError, match="truncate"):
        unroll(cell, xs, truncate=0)
    with pytest.raises(ValueError, match="empty"):
        unroll(cell, [])
    with pytest.raises(TypeError, match="unroll"):
        unroll(cell, 3.0)
    with pytest.raises(ValueError, match="activation"):
        ElmanCell(2, 3, activation="softsign")


def test_unrolling_a_tensor_that_requires_grad_stays_linear_in_T(monkeypatch):
    """Each step slices xs; its gradient must go into one (T, B, I) buffer, not into a fresh
    full-size zero array per step (which would make backward O(T^2))."""
    full_size_zeros = []
    real_zeros = np.zeros

    def counting_zeros(shape, *args, **kwargs):
        if tuple(np.atleast_1d(shape)) == xs.shape:
            full_size_zeros.append(shape)
        return real_zeros(shape, *args, **kwargs)

    cell = ElmanCell(3, 4, rng=0)
    counts = {}
    for T in (10, 20, 40):
        xs = tg.Tensor(np.ones((T, 2, 3)), requires_grad=True)
        hs, _ = unroll(cell, xs)
        loss = tg.stack(hs).sum()
        full_size_zeros.clear()
        monkeypatch.setattr(np, "zeros", counting_zeros)
        order = toposort(loss)
        loss.backward()
        monkeypatch.setattr(np, "zeros", real_zeros)
        counts[T] = (len(full_size_zeros), len(order))
        assert xs.grad.shape == (T, 2, 3) and np.all(xs.grad != 0)
    buffers = [counts[T][0] for T in (10, 20, 40)]  # full-size arrays made for xs's gradient
    assert buffers[0] <= 2 and buffers == [buffers[0]] * 3  # one or two, whatever T: not one per step
    nodes = [counts[T][1] for T in (10, 20, 40)]
    assert nodes[2] - nodes[1] == 2 * (nodes[1] - nodes[0])  # the same number of nodes per step
