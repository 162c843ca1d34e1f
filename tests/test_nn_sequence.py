"""Whole-sequence layers (tg.nn.RNN, LSTM, GRU, DampenedRNN): one op per call, the numbers of the cells.

The property: over drawn T, B, H, truncation and initial state, the layer's outputs, final state
and every gradient (inputs, initial state, parameters) equal those of its primitive cell unrolled
by nn.unroll, to 1e-10 in float64. Then finite differences, float32, the drawing, the
state_dict shared with the cell, and the errors.
"""

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.nn import LSTMState, unroll
from tinygrad_rnn.speed.sequence import LAYERS

I = 3  # noqa: E741  (the input size's usual name)
VARIANTS = {  # name -> (layer class, constructor options)
    "elman": (tg.nn.RNN, {}), "elman-sigmoid": (tg.nn.RNN, {"nonlinearity": "sigmoid"}),
    "elman-relu": (tg.nn.RNN, {"nonlinearity": "relu"}), "lstm": (tg.nn.LSTM, {}), "gru": (tg.nn.GRU, {}),
    "dampened": (tg.nn.DampenedRNN, {"lam": 0.7}),
    "dampened-fixed-sigmoid": (tg.nn.DampenedRNN, {"lam": 0.4, "learn_lam": False, "activation": "sigmoid"}),
}


def _layer(variant, H, seed, dtype=np.float64, scale=2.0):
    cls, kwargs = VARIANTS[variant]
    layer = cls(I, H, rng=seed, dtype=dtype, **kwargs)
    for p in layer.parameters():  # larger weights: saturated gates, a harder test
        p.data = np.asarray(p.data * scale)  # a 0-d lam stays an array
    return layer


def _run(layer, use_cell, xs_np, state_np, truncate, weights):
    """loss = sum(outputs * w) + final state terms; returns (outputs, final parts, loss, grads by name)."""
    xs = tg.Tensor(xs_np, requires_grad=True)
    parts = None if state_np is None else [tg.Tensor(a, requires_grad=True) for a in state_np]
    state = None if parts is None else (LSTMState(*parts) if len(parts) == 2 else parts[0])
    layer.zero_grad()
    if use_cell:
        hs, final = unroll(layer.cell, xs, state, truncate=truncate)
        out = tg.stack(hs)
    else:
        out, final = layer(xs, state, truncate=truncate)
    finals = list(final) if isinstance(final, tuple) else [final]
    loss = (out * weights[0]).sum()
    for f, w in zip(finals, weights[1:]):
        loss = loss + (f * w).sum()
    loss.backward()
    grads = {name: p.grad for name, p in layer.named_parameters()}
    grads["xs"] = xs.grad
    for k, p in enumerate(parts or []):
        grads[f"state[{k}]"] = p.grad
    return out.data, [f.data for f in finals], loss.item(), grads


@given(variant=st.sampled_from(sorted(VARIANTS)), T=st.integers(1, 7), B=st.integers(1, 3),
       H=st.integers(1, 4), truncate=st.none() | st.integers(1, 4), given_state=st.booleans(),
       seed=st.integers(0, 2**16))
def test_layer_equals_the_primitive_cell_outputs_and_every_gradient(variant, T, B, H, truncate, given_state,
                                                                    seed):
    layer = _layer(variant, H, seed)
    rng = np.random.default_rng(seed + 1)
    xs = rng.standard_normal((T, B, I))
    n_parts = 2 if variant == "lstm" else 1
    state = [rng.standard_normal((B, H)) for _ in range(n_parts)] if given_state else None
    weights = [rng.standard_normal((T, B, H))] + [rng.standard_normal((B, H)) for _ in range(n_parts)]
    want = _run(layer, True, xs, state, truncate, weights)
    got = _run(layer, False, xs, state, truncate, weights)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-12)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert got[2] == pytest.approx(want[2], rel=1e-10, abs=1e-12)
    assert set(got[3]) == set(want[3])
    for name, g in want[3].items():
        np.testing.assert_allclose(got[3][name], g, rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_layer_gradients_match_finite_differences(variant):
    """Full BPTT only: a truncated gradient is not the derivative (the property test covers truncation)."""
    rng = np.random.default_rng(3)
    layer = _layer(variant, 3, seed=4, scale=1.0)
    xs = tg.Tensor(rng.standard_normal((5, 2, I)), requires_grad=True)
    parts = [tg.Tensor(rng.standard_normal((2, 3)) * 0.5, requires_grad=True)
             for _ in range(2 if variant == "lstm" else 1)]
    state = LSTMState(*parts) if variant == "lstm" else parts[0]

    def fn(*_):  # the inputs are the very tensors the layer and the state hold
        out, final = layer(xs, state)
        ends = list(final) if variant == "lstm" else [final]
        return tg.concat([out.reshape(-1)] + [e.reshape(-1) for e in ends], axis=0)

    assert tg.gradcheck(fn, [xs, *parts, *layer.parameters()], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru", "dampened"])
def test_float32_stays_float32_and_agrees_with_float64(kind):
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((6, 3, I))
    outs, grads = [], []
    for dtype in (np.float32, np.float64):
        layer = LAYERS[kind](I, 4, rng=0, dtype=dtype)
        out, _ = layer(xs)
        (out ** 2).sum().backward()
        assert out.dtype == dtype and all(p.grad.dtype == dtype for p in layer.parameters())
        outs.append(out.data)
        grads.append([p.grad for p in layer.parameters()])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # inputs of another dtype are computed in the layer's; their gradients come back in their own
    x32 = tg.Tensor(xs.astype(np.float32), requires_grad=True)
    out, _ = LAYERS[kind](I, 4, rng=0)(x32)
    out.sum().backward()
    assert out.dtype == np.float64 and x32.grad.dtype == np.float32


@pytest.mark.parametrize("kind, cell_name", [("elman", "ElmanCell"), ("lstm", "LSTMCell"), ("gru", "GRUCell"),
                                             ("dampened", "DampenedCell")])
def test_one_node_per_call_named_for_what_it_is(kind, cell_name):
    layer = LAYERS[kind](I, 4, rng=0)
    xs = np.random.default_rng(6).standard_normal((7, 2, I))
    out, state = layer(xs)
    node = out.parents[0] if kind == "lstm" else out  # the LSTM's output is h_1..h_7 of [h_1..h_7, c_7]
    assert node.op == f"{kind} sequence, T=7"
    assert {id(p) for p in node.parents if p.requires_grad} == {id(p) for p in layer.parameters()}
    assert all(p.is_leaf for p in node.parents)  # xs, the zero state and the weights: nothing else recorded
    names = [p.name for p in node.parents]
    assert names[:3] == (["xs", "h_0", "c_0"] if kind == "lstm" else ["xs", "h_0", names[2]])
    (out ** 2).sum().backward()
    assert all(p.grad is not None and np.any(p.grad != 0) for p in layer.parameters())
    source = tg.viz.draw(out).source
    assert f"{kind} sequence, T=7" in source and source.count("sequence, T=7") == 1
    assert type(layer.cell).__name__ == cell_name


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru", "dampened"])
def test_layer_and_cell_share_parameters_and_state_dict(kind):
    layer = LAYERS[kind](I, 4, rng=1)
    cell = layer.cell
    assert list(layer.state_dict()) == list(cell.state_dict())
    assert all(a is b for a, b in zip(layer.parameters(), cell.parameters()))
    other = LAYERS[kind](I, 4, rng=2)
    other.load_state_dict(layer.state_dict())  # a model trained with one loads into the other
    twin = type(layer).from_cell(type(cell)(I, 4, rng=3))
    twin.cell.load_state_dict(layer.state_dict())
    xs = np.random.default_rng(7).standard_normal((4, 2, I))
    want = layer(xs)[0].data
    np.testing.assert_array_equal(other(xs)[0].data, want)
    np.testing.assert_array_equal(twin(xs)[0].data, want)
    hs, _ = unroll(twin.cell, xs)
    np.testing.assert_allclose(np.stack([h.data for h in hs]), want, rtol=1e-13, atol=1e-14)


def test_same_rng_gives_the_cells_parameters():
    for kind, layer_cls in LAYERS.items():
        layer = layer_cls(I, 5, rng=11)
        cell = type(layer.cell)(I, 5, rng=11)
        for (n1, a), (n2, b) in zip(layer.state_dict().items(), cell.state_dict().items()):
            assert n1 == n2
            np.testing.assert_array_equal(a, b, err_msg=f"{kind} {n1}")


def test_a_sequence_of_steps_and_no_grad():
    layer = tg.nn.LSTM(I, 3, rng=0)
    steps = [tg.Tensor(np.full((2, I), 0.1 * t), requires_grad=True) for t in range(4)]
    out, _ = layer(steps)
    out.sum().backward()
    assert all(s.grad is not None and s.grad.shape == (2, I) for s in steps)
    with tg.no_grad():
        out2, state = layer(np.stack([s.data for s in steps]))
    assert not out2.requires_grad and out2.is_leaf and not state.c.requires_grad
    np.testing.assert_array_equal(out2.data, out.data)


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru", "dampened"])
def test_inside_lean_the_layer_gives_the_same_gradients(kind):
    layer = LAYERS[kind](I, 4, rng=0)
    xs = np.random.default_rng(9).standard_normal((6, 2, I))
    grads = []
    for lean in (False, True):
        layer.zero_grad()
        with tg.lean() if lean else contextlib.nullcontext():
            out, _ = layer(xs)
            loss = (out ** 2).sum()
        loss.backward(keep_intermediate=not lean)
        grads.append([p.grad for p in layer.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_large_inputs_saturate_without_overflow():
    layer = tg.nn.GRU(I, 2, rng=0)
    xs = np.full((3, 1, I), 1e4)
    with tg.detect_anomaly():
        out, _ = layer(xs)
        out.sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.abs(out.data) <= 1)


@pytest.mark.parametrize("call, error, words", [
    (lambda m: m(np.zeros((4, 2))), tg.ShapeError, ["LSTM", "(T, B, input_size=3)", "(4, 2)"]),
    (lambda m: m(np.zeros((4, 2, 5))), tg.ShapeError, ["input_size=3", "(4, 2, 5)"]),
    (lambda m: m(np.zeros((0, 2, 3))), tg.ShapeError, ["T >= 1"]),
    (lambda m: m(np.zeros((4, 2, 3)), np.zeros((2, 5))), TypeError, ["pair (h, c)", "got a ndarray"]),
    (lambda m: m(np.zeros((4, 2, 3)), (np.zeros((2, 5)), np.zeros((3, 5)))), tg.ShapeError,
     ["state c", "(2, 5)", "(3, 5)"]),
    (lambda m: m(np.zeros((4, 2, 3)), truncate=0), ValueError, ["truncate", "positive"]),
])
def test_bad_input_is_refused_clearly(call, error, words):
    with pytest.raises(error) as e:
        call(tg.nn.LSTM(3, 5, rng=0))
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("kind", ["dampened", "elman", "lstm", "gru"])
def test_the_layer_checks_a_state_as_its_cell_does(kind):
    layer = LAYERS[kind](I, 4, rng=0)
    ints = tg.Tensor(np.zeros((2, 4), dtype=np.int64))
    one = [np.zeros((3, 4)), np.zeros((2, 5)), "h", ints, (np.zeros((2, 4)), np.zeros((2, 4)))]
    pair = [np.zeros((2, 4)), (np.zeros((2, 5)), np.zeros((2, 4))), (np.zeros((2, 4)), "c"), (ints, ints),
            (np.zeros((2, 4)),) * 3]
    for state in pair if kind == "lstm" else one:
        with pytest.raises((TypeError, tg.ShapeError)) as by_cell:
            layer.cell(np.zeros((2, I)), state)
        with pytest.raises(type(by_cell.value)) as by_layer:
            layer(np.zeros((5, 2, I)), state)
        assert str(by_layer.value) == str(by_cell.value)


def test_a_one_state_layer_refuses_a_pair():
    with pytest.raises(TypeError, match=r"ElmanCell: the state must be one Tensor h .* got 2 items"):
        tg.nn.RNN(3, 5, rng=0)(np.zeros((2, 1, 3)), (np.zeros((1, 5)), np.zeros((1, 5))))


@pytest.mark.parametrize("kind, nonlinearity", [("elman", "tanh"), ("elman", "relu"), ("lstm", None),
                                                ("gru", None)])
def test_layer_matches_torch_forward_and_every_gradient(kind, nonlinearity):
    torch = pytest.importorskip("torch")
    T, B, H = 9, 3, 4
    torch.manual_seed(0)
    options = {"nonlinearity": nonlinearity} if nonlinearity else {}
    torch_cls = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    theirs = torch_cls(I, H, dtype=torch.float64, **options)
    with torch.no_grad():  # biases that differ, so a mixed-up bias shows
        for name, p in theirs.named_parameters():
            p.mul_(2.0 if "weight" in name else 3.0)
    ours = LAYERS[kind].from_torch(theirs)
    assert type(ours) is LAYERS[kind] and ours.dtype == np.float64
    rng = np.random.default_rng(8)
    xs_np, w_out = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H))
    s_np = [rng.standard_normal((B, H)) for _ in range(2 if kind == "lstm" else 1)]
    w_s = [rng.standard_normal((B, H)) for _ in s_np]

    xs_t = torch.tensor(xs_np, requires_grad=True)
    s_t = [torch.tensor(a[None], requires_grad=True) for a in s_np]
    out_t, fin_t = theirs(xs_t, tuple(s_t) if kind == "lstm" else s_t[0])
    fin_t = list(fin_t) if kind == "lstm" else [fin_t]
    loss_t = (out_t * torch.tensor(w_out)).sum()
    loss_t = loss_t + sum((f[0] * torch.tensor(w)).sum() for f, w in zip(fin_t, w_s))
    loss_t.backward()

    xs = tg.Tensor(xs_np, requires_grad=True)
    s = [tg.Tensor(a, requires_grad=True) for a in s_np]
    out, fin = ours(xs, LSTMState(*s) if kind == "lstm" else s[0])
    fin = list(fin) if kind == "lstm" else [fin]
    loss = (out * w_out).sum()
    for f, w in zip(fin, w_s):
        loss = loss + (f * w).sum()
    loss.backward()

    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), **tol)
    for f, f_t in zip(fin, fin_t):
        np.testing.assert_allclose(f.data, f_t.detach().numpy()[0], **tol)
    np.testing.assert_allclose(xs.grad, xs_t.grad.numpy(), **tol)
    for a, a_t in zip(s, s_t):
        np.testing.assert_allclose(a.grad, a_t.grad.numpy()[0], **tol)
    g = {name: p.grad.numpy() for name, p in theirs.named_parameters()}
    np.testing.assert_allclose(ours.W.grad, g["weight_ih_l0"].T, **tol)
    np.testing.assert_allclose(ours.U.grad, g["weight_hh_l0"].T, **tol)
    np.testing.assert_allclose(ours.b.grad, g["bias_ih_l0"], **tol)  # d/d bias_ih = d/d b
    if kind == "gru":
        np.testing.assert_allclose(ours.b_hn.grad, g["bias_hh_l0"][2 * H:], **tol)
    back = ours.to_torch()
    assert type(back) is type(theirs)
    with torch.no_grad():
        state_t = tuple(a.detach() for a in s_t) if kind == "lstm" else s_t[0].detach()
        np.testing.assert_allclose(back(torch.tensor(xs_np), state_t)[0].numpy(), out.data, **tol)


def test_from_torch_refuses_what_does_not_convert():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"LSTM.from_torch: only a single-layer unidirectional"):
        tg.nn.LSTM.from_torch(torch.nn.LSTM(3, 4, num_layers=2))
    with pytest.raises(TypeError, match=r"GRU.from_torch: expects a torch.nn.GRUCell or a single-layer"):
        tg.nn.GRU.from_torch(torch.nn.LSTM(3, 4))
    with pytest.raises(TypeError, match="DampenedRNN has no PyTorch counterpart"):
        tg.nn.DampenedRNN(3, 4).to_torch()
