"""gradcheck leaves everything as it found it: the gradients of the parameters fn uses, the
inputs' arrays and .grad, also when fn raises half way through the finite differences."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import GRUCell, unroll


def _xs():
    return np.random.default_rng(0).standard_normal((3, 2, 2))


def test_the_parameters_fn_uses_keep_their_gradients():
    g = GRUCell(2, 3, rng=0)
    assert tg.gradcheck(lambda x: unroll(g, x)[1], [_xs()])
    assert all(p.grad is None for p in g.parameters())      # g.W.grad used to be set
    earlier = {name: np.full(p.shape, 7.0) for name, p in g.named_parameters()}
    for name, p in g.named_parameters():
        p.grad = earlier[name]
    assert tg.gradcheck(lambda x: unroll(g, x)[1], [_xs()])
    for name, p in g.named_parameters():
        assert p.grad is earlier[name] and (p.grad == 7.0).all()


class _Boom(Exception):
    pass


def test_when_fn_raises_midway_the_input_is_unperturbed_and_its_grad_restored():
    data = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    before = data.copy()
    x = tg.Tensor(data, requires_grad=True)
    mine = np.ones((2, 3))
    x.grad = mine
    calls = []

    def fn(t):
        calls.append(1)
        if len(calls) == 4:        # the first perturbed evaluation: x is off by eps now
            raise _Boom("fn failed")
        return (t * t).sum()

    with pytest.raises(_Boom):
        tg.gradcheck(fn, [x])
    assert x.data is data and np.array_equal(data, before)   # no eps left in element 0
    assert x.grad is mine and (mine == 1.0).all()             # not overwritten by the backward pass


def test_a_failed_check_restores_too():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    assert tg.gradcheck(lambda t: _Wrong.apply(t), [x], raise_exception=False) is False
    assert x.grad is None and (x.data == 1.0).all()


class _Wrong(tg.Function):
    @staticmethod
    def forward(ctx, a):
        return a * a

    @staticmethod
    def backward(ctx, g):
        return g    # should be 2 a g


def test_the_callers_arrays_are_never_written_read_only_and_strided_ones_work():
    ro = np.arange(6.0).reshape(2, 3)
    ro.setflags(write=False)                 # perturbing a tensor's array in place failed here
    assert tg.gradcheck(lambda t: (t * t).sum(), [tg.Tensor(ro, requires_grad=True)])
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]   # and this was refused as not contiguous
    assert tg.gradcheck(lambda t: (t * t).sum(), [tg.Tensor(strided, requires_grad=True)])
    assert np.array_equal(strided, np.arange(12.0).reshape(3, 4)[:, ::2])


def test_fn_must_return_a_tensor():
    with pytest.raises(TypeError, match="gradcheck: fn must return a Tensor, got ndarray"):
        tg.gradcheck(lambda t: t.data * 2, [np.ones(2)])
