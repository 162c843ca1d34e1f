"""Exercise 4: one LSTM step backward by hand, gate by gate; feedback names the wrong gate or the
cell-state path. Checked against the engine's LSTMCell (its z.grad and c_(t-1).grad)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .feedback import WrongAnswer, as_array, close, verdict
from .runner import StudentError, need, student_call

TITLE = "One LSTM step backward by hand, gate by gate"

STUB = '''"""Exercise 4: one LSTM step backward, gate by gate (numpy only).

Forward (row vectors; PyTorch's gate order i, f, g, o; written for you in `step_forward`):
    z = x W + h_prev U + b                       (B, 4H), blocks [i | f | g | o]
    i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)
    c = f * c_prev + i * g                       the cell state
    h = o * tanh(c)
Given dh = dL/dh and dc = dL/dc (the gradient reaching c from the future), write `step_backward`:
return dz = dL/dz (B, 4H), in the same block order, and dc_prev = dL/dc_prev.
Steps: the output gate first (h = o * tanh(c)); then the total gradient on the cell state
dc_t = dc + (the part through h); then the i, f and g gates and c_prev through c = f * c_prev + i * g;
finally through each gate's activation: sigmoid' = s (1 - s), tanh' = 1 - tanh^2.
(The rest follows as for Elman: dW = x^T dz, dU = h_prev^T dz, db = sum of dz over the batch.)

Check with:  tinygrad-rnn exercise check 4 THIS_FILE
"""

import numpy as np


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def step_forward(x, h_prev, c_prev, W, U, b):
    H = h_prev.shape[1]
    z = x @ W + h_prev @ U + b
    i, f = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H])
    g, o = np.tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (i, f, g, o)


def step_backward(x, h_prev, c_prev, W, U, b, dh, dc):
    h, c, (i, f, g, o) = step_forward(x, h_prev, c_prev, W, U, b)
    raise NotImplementedError("step_backward: dz (blocks i, f, g, o) and dc_prev")
    return dz, dc_prev
'''

B, N_IN, H = 2, 3, 4
GATES = (("i", "input gate"), ("f", "forget gate"), ("g", "candidate"), ("o", "output gate"))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def _case(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((B, N_IN)), "h_prev": rng.uniform(-0.9, 0.9, (B, H)),
            "c_prev": rng.uniform(-1.5, 1.5, (B, H)), "W": rng.uniform(-0.7, 0.7, (N_IN, 4 * H)),
            "U": rng.uniform(-0.7, 0.7, (H, 4 * H)), "b": rng.uniform(-0.5, 0.5, 4 * H),
            "dh": rng.standard_normal((B, H)), "dc": rng.standard_normal((B, H))}


def _engine(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """dL/dz and dL/dc_prev from the library's LSTMCell, for L = sum(h * dh) + sum(c * dc)."""
    import tinygrad_rnn as tg
    cell = tg.nn.LSTMCell(N_IN, H, rng=0)
    for name in ("W", "U", "b"):
        getattr(cell, name).data = c[name].copy()
    h0 = tg.Tensor(c["h_prev"].copy(), requires_grad=True)
    c0 = tg.Tensor(c["c_prev"].copy(), requires_grad=True)
    h, c1 = cell(c["x"], tg.nn.LSTMState(h0, c0))
    loss = (h * tg.Tensor(c["dh"])).sum() + (c1 * tg.Tensor(c["dc"])).sum()
    loss.backward()
    return tg.viz.named_tensors(loss)["z"].grad, c0.grad


def _blocks(a: np.ndarray) -> dict[str, np.ndarray]:
    return {k: a[:, j * H:(j + 1) * H] for j, (k, _) in enumerate(GATES)}


def _parts(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every intermediate of the step, and the right gradients, by hand (for the hints)."""
    z = c["x"] @ c["W"] + c["h_prev"] @ c["U"] + c["b"]
    zb = _blocks(z)
    i, f, g, o = _sigmoid(zb["i"]), _sigmoid(zb["f"]), np.tanh(zb["g"]), _sigmoid(zb["o"])
    cell = f * c["c_prev"] + i * g
    tc = np.tanh(cell)
    dct = c["dc"] + c["dh"] * o * (1 - tc ** 2)
    return dict(i=i, f=f, g=g, o=o, c=cell, tc=tc, dct=dct)


def _gate_hints(k: str, p: dict[str, np.ndarray], c: dict[str, np.ndarray]) -> list:
    i, f, g, o, tc, dct, dh = p["i"], p["f"], p["g"], p["o"], p["tc"], p["dct"], c["dh"]
    s = {"i": i * (1 - i), "f": f * (1 - f), "o": o * (1 - o)}
    if k == "i":
        return [("forgotten sigmoid' of the input gate: dz_i = dL/di * i (1 - i)", lambda: dct * g),
                ("dL/di = dc_t * g (i multiplies g in c = f c_prev + i g), not dc_t * i",
                 lambda: dct * i * s["i"])]
    if k == "f":
        return [("forgotten sigmoid' of the forget gate: dz_f = dL/df * f (1 - f)",
                 lambda: dct * c["c_prev"]),
                ("dL/df = dc_t * c_prev (f multiplies the previous cell state), not the new c_t",
                 lambda: dct * p["c"] * s["f"])]
    if k == "g":
        return [("forgotten tanh' of the candidate: dz_g = dL/dg * (1 - g^2)", lambda: dct * i),
                ("the candidate g is a tanh: its derivative is 1 - g^2, not g (1 - g)",
                 lambda: dct * i * g * (1 - g))]
    return [("forgotten sigmoid' of the output gate: dz_o = dL/do * o (1 - o)", lambda: dh * tc),
            ("dL/do = dh * tanh(c_t), not dh * c_t", lambda: dh * p["c"] * s["o"]),
            ("the output gate does not see dc: dL/do = dh * tanh(c_t) only", lambda: dct * tc * s["o"])]


def _cell_path_hint(got_i: np.ndarray, p: dict[str, np.ndarray], c: dict[str, np.ndarray]) -> str:
    """What the student's total gradient on c_t looks like, read off their input-gate block."""
    from .feedback import diagnose
    i, g, o, tc, dh, dc = p["i"], p["g"], p["o"], p["tc"], c["dh"], c["dc"]
    via = i * (1 - i) * g  # dz_i = dc_t * g * i (1 - i)
    rule = "dc_t = dc + dh * o * (1 - tanh(c_t)^2)"
    found = diagnose(got_i, [
        (f"you left out dc, the gradient reaching c_t from the next step: {rule}",
         lambda: dh * o * (1 - tc ** 2) * via),
        (f"forgotten tanh' on the way from h to c: {rule}", lambda: (dc + dh * o) * via),
        (f"you left out the path from h: {rule}", lambda: dc * via),
    ])
    return found or f"{rule} feeds the i, f and g gates and c_prev"


def check(ns: dict[str, Any], path: Path) -> list[str]:
    fn = need(ns, "step_backward", path)
    for seed in (0, 1):
        c = _case(seed)
        dz_e, dcp_e = _engine(c)
        args = [c[k].copy() for k in ("x", "h_prev", "c_prev", "W", "U", "b", "dh", "dc")]
        out = student_call(path, fn, *args, what="step_backward")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise StudentError("step_backward must return two arrays: dz, dc_prev")
        dz, dcp = as_array(out[0], "dz"), as_array(out[1], "dc_prev")
        if dz.shape != dz_e.shape:
            raise WrongAnswer(f"dz: expected shape {dz_e.shape} (B, 4H) with blocks i, f, g, o, "
                              f"got {dz.shape}")
        p, got, want = _parts(c), _blocks(dz), _blocks(dz_e)
        wrong = [k for k, _ in GATES if not close(got[k], want[k])]
        if close(got["g"], want["o"]) and close(got["o"], want["g"]):
            raise WrongAnswer("dz: the g and o blocks are swapped: the blocks go in PyTorch's order "
                              "i, f, g, o")
        if {"i", "f", "g"} <= set(wrong) and "o" not in wrong:
            verdict("dz, input gate block (columns 0:H)", got["i"], want["i"],
                    context="the wrong part: the cell-state path (all of i, f and g are off, o is right)\n"
                    f"hint: {_cell_path_hint(got['i'], p, c)}")
        for k, name in GATES:
            if k in wrong:
                j = [g for g, _ in GATES].index(k)
                verdict(f"dz, {name} block {k} (columns {j}H:{j + 1}H)", got[k], want[k],
                        _gate_hints(k, p, c), f"the wrong gate: {k} ({name})")
        verdict("dc_prev", dcp, dcp_e, _prev_hints(p, c), "the wrong part: the cell-state path to c_prev")
    return ["dz: every gate (i, f, g, o) matches the engine",
            "dc_prev: the cell-state path matches the engine"]


def _prev_hints(p: dict[str, np.ndarray], c: dict[str, np.ndarray]) -> list:
    return [("the cell-state path back to c_prev is dc_prev = dc_t * f (c = f * c_prev + i * g)",
             lambda: p["dct"]),
            ("dc_prev = dc_t * f, with dc_t = dc + dh * o * (1 - tanh(c_t)^2); you used dc alone",
             lambda: c["dc"] * p["f"])]
