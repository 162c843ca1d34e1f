"""Exercise 3: BPTT of the Elman network by hand, checked against the engine step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bptt_check import check_bptt
from .runner import need

TITLE = "Elman BPTT by hand: dL/dW, dL/dU, dL/db, per-step feedback"

STUB = '''"""Exercise 3: backpropagation through time for the Elman network, by hand (numpy only).

Forward, for t = 1..T (row vectors: x_t is (B, I), h_t is (B, H)):
    h_t = tanh(x_t W + h_(t-1) U + b),   h_0 = 0
dL_dh[t-1] is the loss's direct gradient on h_t; the total gradient reaching h_t also comes back
from step t+1 through U (as a row vector, h_t U -> the gradient goes back times U^T):
    dh_t = dL_dh[t-1] + delta_(t+1) U^T,   delta_t = dh_t * (1 - h_t^2),   delta_(T+1) = 0
    dW += x_t^T delta_t,   dU += h_(t-1)^T delta_t,   db += delta_t summed over the batch

Write `backward`. Arrays: xs (T, B, I) with x_t = xs[t-1]; hs a list of T+1 arrays (B, H) with
h_t = hs[t] (hs[0] = 0); W (I, H); U (H, H); b (H,); dL_dh (T, B, H).
Return dh (T, B, H) with dh[t-1] = dL/dh_t, and dW (I, H), dU (H, H), db (H,).

Check with:  tinygrad-rnn exercise check 3 THIS_FILE
"""

import numpy as np


def backward(xs, hs, W, U, b, dL_dh):
    T = len(xs)
    dh = np.zeros_like(dL_dh)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    delta_next = np.zeros_like(hs[0])  # delta_(T+1) = 0
    for t in range(T, 0, -1):
        raise NotImplementedError("backward: dh[t-1], delta_t and this step's terms of dW, dU, db")
    return dh, dW, dU, db
'''


def check(ns: dict[str, Any], path: Path) -> list[str]:
    return check_bptt("elman", path, need(ns, "backward", path), ("W", "U", "b"))
