"""Module: registration by attribute assignment, dotted names, state dicts that refuse to
half-load, and initialisers that repeat exactly given the same rng."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import DampenedCell, ElmanCell, GRUCell, Linear, LSTMCell, Module, StateDictError, init


class Seq2One(Module):
    def __init__(self, rng):
        self.encoder = LSTMCell(2, 3, rng=rng)
        self.heads = [Linear(3, 2, rng=rng), Linear(2, 1, rng=rng)]
        self.scale = tg.nn.parameter(np.array(2.0))
        self.note = "not a tensor"
        self.cache = tg.Tensor([1.0]) * self.scale   # a non-leaf: not registered

    def forward(self, x):
        h = tg.nn.unroll(self.encoder, x)[1].h
        return self.heads[1](self.heads[0](h)) * self.scale


def test_named_parameters_are_dotted_and_in_assignment_order():
    m = Seq2One(np.random.default_rng(0))
    names = [n for n, _ in m.named_parameters()]
    assert names == ["encoder.W", "encoder.U", "encoder.b", "heads.0.W", "heads.0.b", "heads.1.W",
                     "heads.1.b", "scale"]
    assert m.parameters()[0] is m.encoder.W
    assert m.encoder.W.name == "W" and m.scale.name == "scale"
    assert list(m.state_dict()) == names


def test_a_shared_parameter_is_listed_once_and_gets_both_gradients():
    class Tied(Module):
        def __init__(self):
            self.a = Linear(2, 2, rng=0)
            self.b = Linear(2, 2, rng=1)
            self.b.W = self.a.W
    m = Tied()
    assert [n for n, _ in m.named_parameters()] == ["a.W", "a.b", "b.b"]
    x = np.ones((1, 2))
    (m.a(x).sum() + m.b(x).sum()).backward()
    np.testing.assert_allclose(m.a.W.grad, 2 * np.ones((2, 2)))


def test_zero_grad_clears_every_parameter():
    m = Seq2One(np.random.default_rng(0))
    m(np.ones((3, 1, 2))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_fixed_lambda_is_a_buffer_saved_but_not_optimised():
    cell = DampenedCell(2, 3, lam=0.25, learn_lam=False, rng=0)
    assert [n for n, _ in cell.named_parameters()] == ["W", "b"]
    assert cell.state_dict()["lam"] == 0.25
    other = DampenedCell(2, 3, lam=0.9, learn_lam=False, rng=1)
    other.load_state_dict(cell.state_dict())
    assert other.lam.item() == 0.25


def test_parameters_made_under_no_grad_still_require_grad():
    with tg.no_grad():
        cell = ElmanCell(2, 2, rng=0)
    assert all(p.requires_grad for p in cell.parameters())


def test_state_dict_round_trip_copies():
    a, b = GRUCell(3, 4, rng=0), GRUCell(3, 4, rng=1)
    sd = a.state_dict()
    sd["W"][0, 0] = 123.0                       # a copy: the module is untouched
    assert a.W.data[0, 0] != 123.0
    b.load_state_dict(a.state_dict())
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_load_state_dict_lists_every_problem_and_loads_nothing():
    cell = LSTMCell(2, 3, rng=0)
    before = cell.state_dict()
    bad = dict(LSTMCell(2, 3, rng=9).state_dict())
    del bad["U"]
    bad["b"] = np.zeros(5)
    bad["V"] = np.zeros(1)
    with pytest.raises(StateDictError) as info:
        cell.load_state_dict(bad)
    msg = str(info.value)
    assert "missing keys ['U']" in msg and "unexpected keys ['V']" in msg
    assert "b: expected shape (12,), got (5,)" in msg and "nothing was loaded" in msg
    for k, v in before.items():       # W was valid, yet it was not loaded either
        np.testing.assert_array_equal(cell.state_dict()[k], v)
    assert isinstance(info.value, ValueError)


def test_load_state_dict_casts_to_the_parameter_dtype():
    cell = ElmanCell(2, 2, rng=0, dtype=np.float32)
    cell.load_state_dict({k: v.astype(np.float64) for k, v in ElmanCell(2, 2, rng=1).state_dict().items()})
    assert cell.W.dtype == np.float32
    cell.load_state_dict({n: tg.Tensor(np.ones(p.shape)) for n, p in cell.named_parameters()})  # Tensors too
    assert np.all(cell.U.data == 1) and cell.U.dtype == np.float32


@pytest.mark.parametrize("make", [lambda r: ElmanCell(3, 5, rng=r), lambda r: LSTMCell(3, 5, rng=r),
                                  lambda r: GRUCell(3, 5, rng=r), lambda r: DampenedCell(3, 5, rng=r),
                                  lambda r: Linear(3, 5, rng=r)])
def test_same_rng_seed_same_weights_other_seed_other_weights(make):
    a, b, c = make(np.random.default_rng(7)), make(np.random.default_rng(7)), make(np.random.default_rng(8))
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k])
    assert not np.array_equal(a.state_dict()["W"], c.state_dict()["W"])
    assert np.array_equal(make(3).state_dict()["W"], make(3).state_dict()["W"])  # an int seed works too


def test_default_init_is_pytorchs_uniform_bound():
    cell = ElmanCell(10, 400, rng=0)
    bound = 1 / np.sqrt(400)
    for p in cell.parameters():
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.95 * bound     # spread out over the whole interval


def test_xavier_and_orthogonal():
    w = init.xavier_uniform((300, 200), rng=0)
    a = np.sqrt(6 / 500)
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.99 * a
    np.testing.assert_allclose(np.var(w), a * a / 3, rtol=0.05)   # variance of U(-a, a)
    q = init.orthogonal((6, 4), rng=0)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)
    q = init.orthogonal((3, 5), gain=2.0, rng=0)
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(3), atol=1e-12)
    with pytest.raises(ValueError, match="orthogonal"):
        init.orthogonal((2, 2, 2))


def test_linear_is_x_W_plus_b_with_W_in_by_out():
    lin = Linear(3, 2, rng=0)
    assert lin.W.shape == (3, 2) and lin.b.shape == (2,)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(lin(x).data, x @ lin.W.data + lin.b.data, rtol=1e-15)
    no_bias = Linear(3, 2, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["W"]
