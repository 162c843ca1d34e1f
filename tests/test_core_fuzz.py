"""A random-expression fuzzer: hypothesis draws small expression graphs over a few inputs,
reusing earlier nodes, evaluates each with the engine and with plain numpy, and checks the
values and the gradients (against central finite differences)."""

import contextlib

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import arrays, broadcastable_shapes

# name -> (arity, engine version, numpy version); all smooth, so finite differences apply
_OPS = {
    "add": (2, lambda x, y: x + y, lambda x, y: x + y),
    "sub": (2, lambda x, y: x - y, lambda x, y: x - y),
    "mul": (2, lambda x, y: x * y, lambda x, y: x * y),
    "div": (2, lambda x, y: x / (1.0 + y * y), lambda x, y: x / (1.0 + y * y)),
    "rsub": (1, lambda x: 0.5 - x, lambda x: 0.5 - x),
    "neg": (1, lambda x: -x, lambda x: -x),
    "square": (1, lambda x: x ** 2, lambda x: x ** 2),
    "tanh": (1, lambda x: x.tanh(), np.tanh),
    "sigmoid": (1, lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "exp_tanh": (1, lambda x: x.tanh().exp(), lambda x: np.exp(np.tanh(x))),
    "log1p_sq": (1, lambda x: (x * x + 1.0).log(), lambda x: np.log(x * x + 1.0)),
    "sum_last": (1, lambda x: x.sum(axis=-1, keepdims=True) if x.ndim else x,
                 lambda x: x.sum(axis=-1, keepdims=True) if x.ndim else x),
    "mean_first": (1, lambda x: x.mean(axis=0, keepdims=True) if x.ndim else x,
                   lambda x: x.mean(axis=0, keepdims=True) if x.ndim else x),
}


@st.composite
def _program(draw):
    """Inputs of mutually broadcastable shapes and a list of (op, operand indices) steps.

    Every intermediate stays broadcastable with every other (keepdims reductions only),
    and operands are drawn from all earlier nodes, so nodes get reused.
    """
    n_inputs = draw(st.integers(1, 3))
    scalars = st.just(((),) * n_inputs)  # 0-d tensors take other code paths in numpy
    arrays_ = broadcastable_shapes(n_inputs, max_dims=2, max_side=3)
    first_0d = arrays_.map(lambda s: ((),) + s[1:])  # a 0-d input broadcast into the others
    shapes = draw(scalars | first_0d | arrays_)
    inputs = [draw(arrays(s, (-1.5, 1.5))) for s in shapes]
    steps = []
    for k in range(draw(st.integers(1, 7))):
        name = draw(st.sampled_from(sorted(_OPS)))
        arity = _OPS[name][0]
        last = n_inputs + k - 1  # the newest node half the time: long reuse chains
        steps.append((name, [draw(st.just(last) | st.integers(0, last)) for _ in range(arity)]))
    return inputs, steps


def _run(steps, inputs, which):
    """Evaluate the program; which=1 for the engine, 2 for numpy. Returns a scalar."""
    nodes = list(inputs)
    for name, args in steps:
        nodes.append(_OPS[name][which](*[nodes[i] for i in args]))
    last = nodes[-1]
    return last.sum() if which == 1 else np.sum(last)


@given(program=_program())
def test_random_expression_graphs_values_and_gradients(program):
    inputs, steps = program
    expected = _run(steps, inputs, 2)
    assume(np.isfinite(expected) and abs(expected) < 1e6)
    tensors = [tg.Tensor(x.copy(), requires_grad=True) for x in inputs]
    out = _run(steps, tensors, 1)
    np.testing.assert_allclose(out.item(), expected, rtol=1e-12, atol=1e-12)
    out.backward()
    for t in tensors:  # an input the output does not depend on gets no gradient
        assert t.grad is None or t.grad.shape == t.shape
    assert tg.gradcheck(lambda *ts: _run(steps, ts, 1), inputs, atol=1e-6, rtol=1e-5)


@given(program=_program())
def test_lean_mode_gives_the_same_leaf_gradients(program):
    """Lean backward (keep_intermediate=False) and a graph recorded inside tg.lean()."""
    inputs, steps = program
    assume(np.isfinite(_run(steps, inputs, 2)))
    grads = []
    plain = contextlib.nullcontext
    for keep, recording in ((True, plain), (False, plain), (False, tg.lean)):
        tensors = [tg.Tensor(x.copy(), requires_grad=True) for x in inputs]
        with recording():
            out = _run(steps, tensors, 1)
        out.backward(keep_intermediate=keep)
        grads.append([t.grad for t in tensors])
    for a, b, c in zip(*grads):
        assert (a is None and b is None and c is None) or (np.array_equal(a, b) and np.array_equal(a, c))
