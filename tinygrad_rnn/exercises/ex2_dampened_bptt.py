"""Exercise 2: BPTT of the dampened cell by hand, checked against the engine step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bptt_check import check_bptt
from .runner import need

TITLE = "BPTT of the dampened cell by hand: dL/dW, dL/db, dL/dlam over T steps"

STUB = '''"""Exercise 2: backpropagation through time for the dampened cell, by hand (numpy only).

Forward, for t = 1..T (row vectors: x_t is (B, I), h_t is (B, H)):
    h_t = tanh(x_t W + lam * h_(t-1) + b),   h_0 = 0
The loss has a direct gradient on every step: dL_dh[t-1] = the part of dL/dh_t that comes from
the loss at step t. But h_t also feeds h_(t+1), so the total gradient reaching h_t is
    dh_t = dL_dh[t-1] + lam * delta_(t+1),   where  delta_t = dh_t * (1 - h_t^2)   (tanh')
and delta_(T+1) = 0. Each step adds its own term to the parameter gradients:
    dW += x_t^T delta_t,   db += delta_t summed over the batch,   dlam += sum(delta_t * h_(t-1))

Write `backward`. Arrays: xs (T, B, I) with x_t = xs[t-1]; hs a list of T+1 arrays (B, H) with
h_t = hs[t] (hs[0] = h_0 = 0); W (I, H); b (H,); lam a number; dL_dh (T, B, H).
Return dh (T, B, H) with dh[t-1] = dL/dh_t, and dW (I, H), db (H,), dlam (a number).

Check with:  tinygrad-rnn exercise check 2 THIS_FILE
"""

import numpy as np


def backward(xs, hs, W, b, lam, dL_dh):
    T = len(xs)
    dh = np.zeros_like(dL_dh)
    dW, db, dlam = np.zeros_like(W), np.zeros_like(b), 0.0
    delta_next = np.zeros_like(hs[0])  # delta_(T+1) = 0
    for t in range(T, 0, -1):  # backprop visits t = T first
        raise NotImplementedError("backward: dh[t-1], delta_t and this step's terms of dW, db, dlam")
    return dh, dW, db, dlam
'''


def check(ns: dict[str, Any], path: Path) -> list[str]:
    return check_bptt("dampened", path, need(ns, "backward", path), ("W", "b", "lam"))
