# %% [markdown]
# # 01 Autograd basics: values and gradients on a drawn graph
#
# A `Tensor` records the op that made it, its parents and the scope it was made in.
# `loss.backward()` walks that graph backwards once and leaves a gradient on every tensor
# of it. Here we build one small expression, check its gradients by hand and by finite
# differences, and draw it with the values and gradients printed on the nodes.
#
# Runs as a script (`python examples/01_autograd_basics.py`) or as a notebook (the `# %%`
# cells). Pictures go to `out/examples/01_autograd_basics/`.

# %%
import os
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg

QUICK = os.environ.get("TG_QUICK") == "1"  # the test suite's reduced mode (nothing to shrink here)
OUT = Path(os.environ.get("TG_OUT", "out")) / "examples" / "01_autograd_basics"
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## One neuron, one squared error
#
# y = tanh(x w + b), loss = (y - 0.5)^2. By the chain rule
# dloss/dw = 2 (y - 0.5) (1 - y^2) x and dloss/db = 2 (y - 0.5) (1 - y^2).

# %%
x = tg.Tensor([[1.0, -2.0]], name="x")
w = tg.Tensor([[0.3], [0.1]], requires_grad=True, name="w")
b = tg.Tensor([0.2], requires_grad=True, name="b")
y = (x @ w + b).tanh()
y.name = "y"
loss = ((y - 0.5) ** 2).sum()
loss.name = "loss"
loss.backward()

yv = y.data
by_hand_w = 2 * (yv - 0.5) * (1 - yv ** 2) * x.data.T
by_hand_b = (2 * (yv - 0.5) * (1 - yv ** 2)).reshape(1)
print("y =", yv.ravel(), " loss =", loss.item())
print("dloss/dw autograd:", w.grad.ravel(), " by hand:", by_hand_w.ravel())
print("dloss/db autograd:", b.grad, " by hand:", by_hand_b)
assert np.allclose(w.grad, by_hand_w) and np.allclose(b.grad, by_hand_b)

# %% [markdown]
# Every tensor of the graph keeps this pass's gradient (not only the leaves), with its op,
# parents and scope: that is what makes it inspectable.

# %%
print("y.op =", y.op, " y.grad =", y.grad.ravel(), " parents:", [p.op or p.name for p in y.parents])

# %% [markdown]
# ## The same gradients from finite differences
#
# `tg.gradcheck` perturbs every element of every input by +-eps and compares
# (f(x + eps) - f(x - eps)) / (2 eps) with what autograd says.

# %%
ok = tg.gradcheck(lambda w_, b_: (((x @ w_ + b_).tanh() - 0.5) ** 2).sum(), [w.data.copy(), b.data.copy()])
print("gradcheck:", ok)

# %% [markdown]
# ## The picture
#
# Nodes are tensors: parameters (yellow), inputs (blue), named tensors (green) and op
# results (white). After `backward()` each edge is coloured by the size of the gradient that
# flows back along it; `values=True` prints the small arrays and their gradients.

# %%
drawing = tg.viz.draw(loss, values=True)
for ext in ("svg", "png"):
    print("wrote", drawing.save(OUT / f"neuron.{ext}"))
drawing  # a notebook cell ending in a drawing shows it

# %% [markdown]
# ## A tensor used twice: gradients add
#
# z = a * a + a, so dz/da = 2a + 1. The engine sums what comes back along both uses.

# %%
a = tg.Tensor(3.0, requires_grad=True, name="a")
z = a * a + a
z.backward()
print("dz/da =", a.grad, "(2a + 1 =", 2 * 3.0 + 1, ")")
assert a.grad == 7.0

# %% [markdown]
# Leaves accumulate across calls, as in PyTorch: a second backward adds another 7.
# `zero_grad()` on a module or optimizer (or `a.grad = None`) starts afresh.

# %%
(a * a + a).backward()
print("after a second backward: a.grad =", a.grad)
a.grad = None

# %% [markdown]
# ## Scopes and anomaly detection
#
# `tg.scope` names a region; every tensor made inside records the path. Inside
# `tg.detect_anomaly()` the first NaN or Inf raises an error naming the op and the scope.

# %%
with tg.scope("layer 1"), tg.scope("activation"):
    u = (x @ w).tanh()
print("u.scope =", u.scope)

try:
    with tg.detect_anomaly(), tg.scope("bad log"):
        (x - 5.0).log()
except tg.AnomalyError as e:
    print("AnomalyError:", e)

# %% [markdown]
# ## Lean mode
#
# For long training runs, record inside `tg.lean()`: the graph then keeps only the values that
# some backward needs (x @ w and x @ w + b are freed at once; tanh keeps its output), and
# `backward(keep_intermediate=False)` leaves gradients only on the leaves (and on tensors
# marked with `retain_grad()`), not on every intermediate tensor.

# %%
w.grad = b.grad = None
with tg.lean():
    y2 = (x @ w + b).tanh()
    loss2 = ((y2 - 0.5) ** 2).sum()
y2.retain_grad()
loss2.backward(keep_intermediate=False)
print("lean: w.grad =", w.grad.ravel(), " y2.grad (retained) =", y2.grad.ravel(),
      " loss2.grad =", loss2.grad)
print("x @ w + b kept by the graph:", y2.parents[0].has_value)
