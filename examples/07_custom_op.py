# %% [markdown]
# # 07 Writing your own op, and property-testing it with `check_op`
#
# Every op, built-in or yours, is a `tg.Function` with two static methods on numpy arrays:
# `forward(ctx, *arrays)` returns the output, `backward(ctx, grad)` returns one gradient
# per input. `Op.apply(*tensors)` runs it and records it in the graph, so backward, the
# drawings and gradcheck work with it exactly as with `tanh` or `@`.
#
# `tinygrad_rnn.testing.check_op` then draws shapes and values with hypothesis and checks,
# for every draw, the forward value against a numpy reference and the gradient against
# finite differences. Put the same calls in a test file of your own (`def test_softplus():
# check_op(...)`) and pytest runs them.
#
# Pictures go to `out/examples/07_custom_op/`.

# %%
import os
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.testing import check_op

QUICK = os.environ.get("TG_QUICK") == "1"  # the test suite's reduced mode: fewer hypothesis draws
OUT = Path(os.environ.get("TG_OUT", "out")) / "examples" / "07_custom_op"
OUT.mkdir(parents=True, exist_ok=True)
DRAWS = 10 if QUICK else 100


# %% [markdown]
# ## An op of one input: softplus
#
# z = ln(1 + e^x), computed stably as logaddexp(0, x); dz/dx = sigmoid(x).

# %%
class Softplus(tg.Function):
    """z = ln(1 + e^x);  dz/dx = 1 / (1 + e^-x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1.0 + np.exp(-x))


x = tg.Tensor([[-1.0, 0.0, 2.0]], requires_grad=True, name="x")
y = Softplus.apply(x)
y.sum().backward()
print("softplus:", y.data, " op:", y.op, " grad:", x.grad)

check_op(Softplus, lambda a: np.logaddexp(0.0, a), domain=(-5.0, 5.0), max_examples=DRAWS)
print(f"check_op(Softplus): {DRAWS} drawn shapes and values, forward and gradient agree")

# %% [markdown]
# ## An op of two inputs, with broadcasting
#
# z = sqrt(x^2 + y^2); dz/dx = x / z, dz/dy = y / z. The backward returns gradients in the
# broadcast shape; the engine sums them back to each input's shape, once, for every op.
# `check_op` draws mutually broadcastable shapes, so that part is tested too. (Values stay
# in [0.1, 2]: at x = y = 0 the op has no derivative.)

# %%
class Hypot(tg.Function):
    """z = sqrt(x^2 + y^2);  dz/dx = x / z, dz/dy = y / z"""

    @staticmethod
    def forward(ctx, x, y):
        z = np.hypot(x, y)
        ctx.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(ctx, g):
        x, y, z = ctx.saved_tensors
        return g * x / z, g * y / z


check_op(Hypot, np.hypot, n_inputs=2, domain=(0.1, 2.0), max_examples=DRAWS)
print(f"check_op(Hypot): {DRAWS} drawn pairs of broadcastable shapes agree")

# %% [markdown]
# ## A wrong backward is caught
#
# A tanh whose backward forgets to square: dz/dx = 1 - z instead of 1 - z^2. `check_op`
# finds a failing draw, shrinks it to a small one and raises `tg.GradcheckError` naming
# the input, the worst element and both values.

# %%
class BadTanh(tg.Function):
    """z = tanh x, with a wrong backward on purpose: 1 - z (should be 1 - z^2)"""

    @staticmethod
    def forward(ctx, x):
        z = np.tanh(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * (1.0 - z)


try:
    check_op(BadTanh, np.tanh, max_examples=DRAWS)
    raise SystemExit("check_op missed the wrong gradient")
except tg.GradcheckError as e:
    print("caught:", e)

# %% [markdown]
# ## Your op inside a recurrent cell
#
# A cell is a `tg.nn.Module` whose call maps (x_t, h_{t-1}) to h_t. Here an Elman cell with
# softplus as its activation: h_t = softplus(x_t W + h_{t-1} U + b). `unroll`, `gradcheck`
# and `draw` take it like any built-in cell.

# %%
class SoftplusCell(tg.nn.Module):
    """h_t = softplus(x_t W + h_{t-1} U + b)"""

    def __init__(self, input_size, hidden_size, rng):
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / np.sqrt(hidden_size)
        self.W = tg.nn.parameter(rng.uniform(-bound, bound, (input_size, hidden_size)))
        self.U = tg.nn.parameter(rng.uniform(-bound, bound, (hidden_size, hidden_size)))
        self.b = tg.nn.parameter(np.zeros(hidden_size))

    def initial_state(self, batch_size):
        return tg.zeros((batch_size, self.hidden_size))

    def __call__(self, x, h):
        with tg.scope("softplus cell"):
            return Softplus.apply(x @ self.W + h @ self.U + self.b)


rng = np.random.default_rng(0)
cell = SoftplusCell(2, 3, rng)
xs = rng.standard_normal((3, 1, 2))
print("parameters:", [name for name, _ in cell.named_parameters()])


def last_step_loss(W, U, b):
    cell.W, cell.U, cell.b = W, U, b
    hs, _ = tg.nn.unroll(cell, xs)
    return (hs[-1] ** 2).sum()


params = [p.data.copy() for p in cell.parameters()]
print("gradcheck through 3 steps of the cell:", tg.gradcheck(last_step_loss, params))

cell = SoftplusCell(2, 3, np.random.default_rng(0))
hs, _ = tg.nn.unroll(cell, xs)
loss = (hs[-1] ** 2).sum()
loss.backward()
drawing = tg.viz.draw(loss)
for ext in ("svg", "png"):
    print("wrote", drawing.save(OUT / f"softplus_cell.{ext}"))
drawing
