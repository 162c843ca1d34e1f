# %% [markdown]
# # 06 A character model in the style of min-char-rnn
#
# An Elman network reads text one character at a time (one-hot over the V characters) and
# predicts the next one through a softmax. As in Karpathy's min-char-rnn: hidden 100,
# windows of 25 characters with the state carried across windows (truncated BPTT), the
# cross-entropy summed over the window, each gradient element clipped to [-5, 5], Adagrad
# with lr 0.1, weights N(0, 0.01). The loss of a window starts near 25 ln V (uniform
# guessing) and should fall well below it.
#
# The text is made by the package itself (sentences from the small grammar of Elman 1990,
# such as "the dragon eats the cookie."), so nothing is downloaded. To train on your own
# file: `tinygrad-rnn train chars --text FILE`, or `Chars(text=open(FILE).read())` below.
#
# Pictures and the checkpoint go to `out/examples/06_character_model/`.

# %%
import os
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.experiments.outputs import write_outputs
from tinygrad_rnn.experiments.tasks import Chars
from tinygrad_rnn.experiments.train import TrainConfig, finish, make_model, stepper, train, verdict

QUICK = os.environ.get("TG_QUICK") == "1"  # the test suite's reduced mode: a few iterations
OUT = Path(os.environ.get("TG_OUT", "out")) / "examples" / "06_character_model"
OUT.mkdir(parents=True, exist_ok=True)
ITERS = 20 if QUICK else 1500

# %%
task = Chars(seed=0)
V = len(task.vocab)
print(f"{len(task.train_text):,} training characters, V = {V}: {''.join(task.vocab)!r}")
print("a taste:", task.train_text[:120])
print(f"uniform guessing: 25 ln V = {25 * np.log(V):.2f} nats per window")

# %% [markdown]
# ## Train
#
# `TrainConfig.for_task` takes the task's defaults (the min-char-rnn settings above);
# `train` prints a sample of generated text at every evaluation.

# %%
config = TrainConfig.for_task(task, iters=ITERS, eval_every=ITERS if QUICK else 500, seed=0)
model, result = train(task, config, progress=not QUICK)
finish(task, model, result)
print("\n".join(verdict(task, result)))
losses = np.asarray(result.losses)
print(f"loss per window: first 50 {losses[:50].mean():.2f}, last 50 {losses[-50:].mean():.2f}")
for kind, path in write_outputs(task, model, result, OUT).items():
    print(f"wrote {path}  ({kind})")

# %% [markdown]
# ## Sampling
#
# `stepper` runs the model one character at a time, carrying the state, and returns the
# softmax probabilities of the next character; `task.sample` draws from them.

# %%
text = task.sample(stepper(task, model), 300, np.random.default_rng(7), start="t")
print(text)
(OUT / "sample.txt").write_text(text + "\n")
print("wrote", OUT / "sample.txt")

# %% [markdown]
# ## Saving and loading
#
# `tg.save` writes the state dict (every parameter by its dotted name) atomically to .npz;
# `tg.load` reads it back for `load_state_dict`. The reloaded model samples the same text.

# %%
path = OUT / "model.npz"
print("saved keys:", list(tg.load(path)))
again = make_model(task, config)
again.load_state_dict(tg.load(path))
same = task.sample(stepper(task, again), 300, np.random.default_rng(7), start="t")
print("reloaded model samples the same text:", same == text)
assert same == text

# %% [markdown]
# ## Truncated BPTT, seen
#
# With the state carried across windows but detached at each window's start, a window's
# loss sends no gradient into earlier windows. `unroll(..., truncate=5)` detaches every 5
# steps inside one sequence: ||dL/dh_t|| from a loss at the last step drops to exactly 0
# (t = 18..20) before the last window (t = 21..25).

# %%
xs = task.train_x[:25, None, :]
for k in (None, 5):
    hs, _ = tg.nn.unroll(model.cell, xs, truncate=k)
    loss = tg.nn.cross_entropy(model.readout(hs[-1]), task.train_y[24:25])
    loss.backward()
    norms = tg.viz.grad_flow(hs)[-8:]
    print(f"truncate={k}: ||dL/dh_t|| for t = 18..25:", " ".join(f"{v:.1e}" for v in norms))
