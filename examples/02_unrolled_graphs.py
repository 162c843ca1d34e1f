# %% [markdown]
# # 02 The unrolled graph of each cell
#
# A recurrent cell applied T times is, for backprop, one feed-forward graph T copies long
# whose copies share the same parameters. `tg.nn.unroll` runs step t inside the scope
# "t=<t>" and names its input x_t and its output h_t, so the drawing shows one cluster
# per time step and the shared W, U, b drawn once.
#
# Three cells, from their equations in docs/api.md (row vectors, s = tanh):
#
# - dampened (the naive idea): h_t = s(x_t W + lam * h_{t-1} + b)
# - Elman (1990): h_t = s(x_t W + h_{t-1} U + b)
# - LSTM (1997, with the forget gate of 2000): c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t)
#
# Pictures go to `out/examples/02_unrolled_graphs/`.

# %%
import os
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg

QUICK = os.environ.get("TG_QUICK") == "1"  # the test suite's reduced mode: fewer steps drawn
OUT = Path(os.environ.get("TG_OUT", "out")) / "examples" / "02_unrolled_graphs"
OUT.mkdir(parents=True, exist_ok=True)
STEPS = 2 if QUICK else 3


def unrolled(cell, steps, seed=0):
    """Unroll `cell` over seeded random inputs; loss = mean((h_T - target)^2) at the last step."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, 1, cell.input_size))
    hs, state = tg.nn.unroll(cell, xs)
    target = tg.Tensor(rng.uniform(-0.5, 0.5, (1, cell.hidden_size)), name="target")
    loss = tg.nn.mse_loss(hs[-1], target)
    loss.name = "loss"
    loss.backward()
    return loss, hs, state


def save(drawing, stem):
    """Write the drawing as SVG and PNG; returns it (a notebook cell ending in it shows it)."""
    for ext in ("svg", "png"):
        print("wrote", drawing.save(OUT / f"{stem}.{ext}"))
    return drawing


# %% [markdown]
# ## Dampened and Elman, every op
#
# The only difference: the dampened cell feeds h_{t-1} back through one scalar lam
# (`· × ·` with lam), the Elman cell through a full matrix U (`· @ ·`).

# %%
cells = {
    "dampened": tg.nn.DampenedCell(2, 3, lam=0.5, rng=0),
    "elman": tg.nn.ElmanCell(2, 3, rng=0),
}
for name, cell in cells.items():
    loss, hs, _ = unrolled(cell, STEPS)
    drawing = tg.viz.draw(loss)
    print(f"{name}: {len(drawing.nodes)} nodes, {len(drawing.edges)} edges over {STEPS} steps")
    save(drawing, f"{name}_unrolled")
drawing  # the Elman cell's

# %% [markdown]
# ## One LSTM step, gate by gate
#
# Inside the cell each gate has its own scope ("input gate", "forget gate", "candidate",
# "output gate", "cell state", "hidden"), so the picture reads like the four steps of the
# usual LSTM walkthrough: z = x_t W + h_{t-1} U + b is cut into four blocks i, f, g, o.

# %%
lstm = tg.nn.LSTMCell(2, 3, rng=0)
loss, hs, state = unrolled(lstm, 1)
print("scopes of the tensors named f, g and c_1:",
      {n: t.scope for n, t in tg.viz.named_tensors(loss).items() if n in ("f", "g", "c_1")})
save(tg.viz.draw(loss), "lstm_step")

# %% [markdown]
# ## The LSTM unrolled, one box per step
#
# Every op of a longer unroll is too much to read; `collapse=1` draws each time-step scope
# as one box. The edges between boxes are the state (h_t and c_t) carried forward, and their
# colour is the size of the gradient that comes back along them.

# %%
steps = 4 if QUICK else 6
loss, hs, state = unrolled(lstm, steps)
print("||dL/dh_t|| for t = 1..T:", np.array2string(tg.viz.grad_flow(hs), precision=3))
save(tg.viz.draw(loss, collapse=1), "lstm_unrolled")

# %% [markdown]
# The DOT text is there too, for other tools: `drawing.source`, or `.save("g.dot")`.

# %%
print("wrote", tg.viz.draw(loss, collapse=1).save(OUT / "lstm_unrolled.dot"))

# %% [markdown]
# ## Step through it yourself: quiz mode
#
# `tg.viz.page` is the interactive page (the same one as `.save("g.html")`): the forward pass
# op by op, then the backward pass. With "quiz" it hides each gradient until you have
# predicted its size (which decade of the colour scale), then shows it and keeps a score.
# In a notebook it shows inline; the saved file opens in any browser, offline.

# %%
page = tg.viz.page(tg.viz.draw(loss, collapse=1), "quiz")
print("wrote", page.save(OUT / "lstm_quiz.html"))
page
