# %% [markdown]
# # 03 Vanishing gradients: three cells side by side
#
# Put a loss on the last step T only. The gradient that reaches h_t has then travelled
# k = T - t steps back, through the product of the step Jacobians:
#
#     dL/dh_t = dL/dh_T  J_T J_{T-1} ... J_{t+1},   J_s = d h_s / d h_{s-1}
#
# Bengio, Simard & Frasconi (1994): a net that stores information robustly has contracting
# J_s, so this product shrinks exponentially in k. Pascanu, Mikolov & Bengio (2013): for
# h_t = s(x_t W + h_{t-1} U + b) with |s'| <= gamma, ||J_s|| <= gamma sigma_max(U), so
# sigma_max(U) < 1/gamma is enough for the gradient to vanish (tanh: gamma = 1).
#
# Pictures go to `out/examples/03_vanishing_gradients/`.

# %%
import os
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg

QUICK = os.environ.get("TG_QUICK") == "1"  # the test suite's reduced mode: shorter sequences
OUT = Path(os.environ.get("TG_OUT", "out")) / "examples" / "03_vanishing_gradients"
OUT.mkdir(parents=True, exist_ok=True)
T = 20 if QUICK else 50
H = 8


def loss_at_last_step(cell, xs, seed=1):
    """Unroll over xs, loss = mean((h_T - target)^2), backward. Returns (loss, hs, final state)."""
    hs, state = tg.nn.unroll(cell, xs)
    target = np.random.default_rng(seed).uniform(-0.5, 0.5, hs[-1].shape)
    loss = tg.nn.mse_loss(hs[-1], target)
    loss.backward()
    return loss, hs, state


# %% [markdown]
# ## ||dL/dh_t|| against the distance from the loss
#
# The same inputs for all three cells, freshly initialised (PyTorch's default
# U(-1/sqrt(H), 1/sqrt(H)); the LSTM's forget-gate bias starts at 1). For the LSTM the cell
# state c_t is plotted too (dashed): it is the path the forget gate keeps open.

# %%
xs = np.random.default_rng(0).standard_normal((T, 1, 2))
cells = {
    "Dampened": tg.nn.DampenedCell(2, H, lam=0.5, rng=0),
    "Elman": tg.nn.ElmanCell(2, H, rng=0),
    "LSTM": tg.nn.LSTMCell(2, H, rng=0),
}
norms, states = {}, {}
for name, cell in cells.items():
    loss, hs, state = loss_at_last_step(cell, xs)
    if name == "LSTM":
        c = tg.viz.named_tensors(loss)
        norms[name] = tg.viz.grad_flow([(h, c[f"c_{t}"]) for t, h in enumerate(hs, start=1)])
    else:
        norms[name] = tg.viz.grad_flow(hs)
    states[name] = state

print(f"{'k = T-t':>8}" + "".join(f"{n:>12}" for n in norms))
for k in (0, 1, 5, 10, T - 1):
    print(f"{k:>8}" + "".join(f"{(a[:, 0] if a.ndim == 2 else a)[T - 1 - k]:>12.3e}" for a in norms.values()))
fig = tg.viz.plot_grad_flow(norms, OUT / "gradflow.png",
                            title=f"Gradient reaching h_t from a loss at step T={T} (H={H})")
print("wrote", OUT / "gradflow.png")
fig  # a notebook cell ending in a figure shows it

# %% [markdown]
# ## Jacobian spectra
#
# `tg.viz.jacobian_spectrum(cell, state, k)` computes J = d s_t / d s_{t-1} (s = h, or
# (h, c) for the LSTM) with the engine itself, one backward pass per row, at the given
# state, and the singular values of one step and of the product of k steps (zero input).
# `tg.viz.plot_jacobian_spectrum` plots them against k, with Pascanu's bound
# (gamma sigma_max(U))^k, sigma_max(U) against the labelled 1/gamma line, and a verdict per
# cell: for the LSTM, what keeps the gradient alive is the cell-state path
# dc_t/dc_{t-1} = diag(f_t), the forget gate.

# %%
K = 5 if QUICK else 20
spectra = {}
for name, cell in cells.items():
    spectra[name] = tg.viz.jacobian_spectrum(cell, states[name], k=K)  # at h_T (and c_T), batch 1
    print(f"\n{name}:\n  " + str(spectra[name]).replace("\n", "\n  "))

fig = tg.viz.plot_jacobian_spectrum(spectra, OUT / "jacobian_spectra.png")
print("wrote", OUT / "jacobian_spectra.png")
fig

# %% [markdown]
# ## Pascanu's threshold: rescale U
#
# The same Elman cell with U rescaled to sigma_max(U) = 0.5, 1, 2 and 4 (tanh: 1/gamma = 1).
# Below 1 the gradient must vanish. Above 1 is only necessary for growth, not sufficient:
# the state grows until tanh saturates, and its small derivative pulls the product back down.

# %%
scaled = {}
base = tg.nn.ElmanCell(2, H, rng=0)
top = np.linalg.svd(base.U.data, compute_uv=False)[0]
for target_sv in (0.5, 1.0, 2.0, 4.0):
    cell = tg.nn.ElmanCell(2, H, rng=0)
    cell.U.data = base.U.data * (target_sv / top)
    _, hs, _ = loss_at_last_step(cell, 0.1 * xs)
    scaled[f"sigma_max(U) = {target_sv:g}"] = tg.viz.grad_flow(hs)
for label, a in scaled.items():
    print(f"{label}: ||dL/dh_1|| / ||dL/dh_T|| = {a[0] / a[-1]:.3e}")
fig = tg.viz.plot_grad_flow(scaled, OUT / "elman_rescaled_U.png",
                            title="Elman: ||dL/dh_t|| for four sizes of U (inputs x 0.1)")
print("wrote", OUT / "elman_rescaled_U.png")
fig

# %% [markdown]
# ## Exploding gradients and clipping
#
# When the product grows instead, one update can throw the weights far away. Pascanu et
# al.'s remedy: if the global norm ||g|| of all gradients together exceeds a threshold,
# rescale them all, g <- g * threshold / ||g||. The direction is kept; only the step shrinks.

# %%
cell = tg.nn.ElmanCell(2, H, rng=0)
cell.U.data = base.U.data * (4.0 / top)
_, hs, _ = loss_at_last_step(cell, 0.1 * xs)
before = np.concatenate([p.grad.ravel() for p in cell.parameters()])
norm = tg.optim.clip_grad_norm(cell.parameters(), max_norm=1.0)
after = np.concatenate([p.grad.ravel() for p in cell.parameters()])
cosine = before @ after / (np.linalg.norm(before) * np.linalg.norm(after))
print(f"global norm before clipping {norm:.3f}, after {np.linalg.norm(after):.3f}, "
      f"cosine(before, after) = {cosine:.6f}")
