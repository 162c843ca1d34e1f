"""Reference solution of exercise 3 (Elman BPTT by hand)."""

import numpy as np


def backward(xs, hs, W, U, b, dL_dh):
    T = len(xs)
    dh = np.zeros_like(dL_dh)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    delta_next = np.zeros_like(hs[0])
    for t in range(T, 0, -1):
        dh[t - 1] = dL_dh[t - 1] + delta_next @ U.T
        delta = dh[t - 1] * (1 - hs[t] ** 2)
        dW += xs[t - 1].T @ delta
        dU += hs[t - 1].T @ delta
        db += delta.sum(axis=0)
        delta_next = delta
    return dh, dW, dU, db
