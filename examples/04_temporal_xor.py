# %% [markdown]
# # 04 Temporal XOR (Elman 1990), with the training loop written out
#
# The input is a stream of bits: two random bits, then their XOR, then two random bits, and
# so on. The network reads one bit per step and predicts the next. Only every third bit is
# predictable, so a trained network's error dips on every third step while it stays at
# chance on the others (Elman's Fig. 3).
#
# Elman trained with no gradient through time; we train with BPTT over windows of 12
# steps, carrying the state from one window to the next (truncated BPTT). The loop below is
# what `tinygrad-rnn train temporal_xor` runs, spelled out.
#
# Pictures go to `out/examples/04_temporal_xor/`.

# %%
import os
from pathlib import Path

import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn.experiments.tasks import TemporalXOR  # noqa: E402

QUICK = os.environ.get("TG_QUICK") == "1"  # the test suite's reduced mode: a few iterations
OUT = Path(os.environ.get("TG_OUT", "out")) / "examples" / "04_temporal_xor"
OUT.mkdir(parents=True, exist_ok=True)
ITERS = 20 if QUICK else 2000
H, BATCH = 4, 10

# %% [markdown]
# ## Data, model, optimiser
#
# `task.batches` cuts the 3,000-bit stream into 10 segments read side by side and yields
# windows of 12 steps: xs (T=12, B=10, I=1), one target per step. `batch.carry` says the
# window continues the previous one.

# %%
task = TemporalXOR(seed=0)
rng = np.random.default_rng(0)
cell = tg.nn.ElmanCell(1, H, rng=rng)
readout = tg.nn.Linear(H, 1, rng=rng)
readout.W.name, readout.b.name = "V", "c"  # y_t = h_t V + c: names for the drawing
params = cell.parameters() + readout.parameters()
opt = tg.optim.Adam(params, lr=0.01)
batches = task.batches(np.random.default_rng(1), BATCH)
batch = next(batches)
print("one window:", batch.xs.shape, "targets", batch.targets.shape)


def logits_of(hs):
    """Readout at every step: (T, B, H) -> (T*B, 1), rows in the t*B + b order of the targets."""
    return readout(tg.stack(hs).reshape(-1, H))


# %% [markdown]
# ## The loop
#
# Forward through the window, loss = binary cross-entropy of sigmoid(readout(h_t)) against
# the next bit, backward (lean mode: gradients on the parameters only), clip the global
# norm at 1, one Adam step. The state is detached between windows: the gradient of this
# window's loss stops at its first step.

# %%
state, losses = None, []
for it in range(ITERS):
    start = state.detach() if (batch.carry and state is not None) else None
    hs, state = tg.nn.unroll(cell, batch.xs, state=start)
    loss = tg.nn.binary_cross_entropy_with_logits(logits_of(hs), batch.targets)
    opt.zero_grad()
    loss.backward(keep_intermediate=False)
    tg.optim.clip_grad_norm(params, 1.0)
    opt.step()
    losses.append(loss.item())
    batch = next(batches)
    if (it + 1) % 500 == 0:
        print(f"iteration {it + 1}: loss {np.mean(losses[-500:]):.4f}")

# %% [markdown]
# ## Elman's test: the error by position
#
# `task.evaluate(predict)` runs the net over a fresh 3,000-bit stream and measures the RMS
# error of the predicted probability at each position. Positions 3k (the XOR bits) are
# predictable; 3k+1 and 3k+2 are coin flips, where the best answer (0.5) has RMS error 0.5.


# %%
def predict(xs):
    """(T, B, 1) bits -> (T, B, 1) predicted probability of a 1 next, without recording a graph."""
    with tg.no_grad():
        hs, _ = tg.nn.unroll(cell, xs)
        return logits_of(hs).sigmoid().data.reshape(xs.shape[0], xs.shape[1], 1)


ev = task.evaluate(predict)
print(("solved: " if ev.solved else "not solved: ") + ev.summary)

profile = ev.numbers["rms_over_12_steps"]
fig = tg.viz.figure(figsize=(7, 3.5))  # a matplotlib Figure that needs no backend
ax = fig.subplots()
positions = np.arange(1, 13)
ax.plot(positions, profile, marker="o")
for p in positions[positions % 3 == 0]:
    ax.axvline(p, color="0.85", zorder=0)
ax.set(xlabel="position of the predicted bit in the stream (mod 12); grey: XOR bits",
       ylabel="RMS error", ylim=(0, 0.7), title=f"Temporal XOR, Elman net 1-{H}-1, after {ITERS} windows")
ax.grid(True, alpha=0.3)
fig.tight_layout()
fig.savefig(OUT / "error_by_position.png", dpi=110)
print("wrote", OUT / "error_by_position.png")
fig

# %% [markdown]
# ## One window of BPTT, drawn
#
# The first 6 steps of one sequence, one box per time step (`collapse=1`); the edge colours
# show the gradient of the loss flowing back through h_6, h_5, ..., h_1 and into the shared
# W, U, b.

# %%
window = next(batches)
hs, _ = tg.nn.unroll(cell, window.xs[:6, :1])
loss = tg.nn.binary_cross_entropy_with_logits(logits_of(hs), window.targets.reshape(12, BATCH)[:6, :1])
loss.backward()
drawing = tg.viz.draw(loss, collapse=1)
for ext in ("svg", "png"):
    print("wrote", drawing.save(OUT / f"window_bptt.{ext}"))
print("||dL/dh_t|| over the window:", np.array2string(tg.viz.grad_flow(hs), precision=4))
drawing
