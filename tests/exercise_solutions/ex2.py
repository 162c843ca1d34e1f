"""Reference solution of exercise 2 (dampened cell BPTT by hand)."""

import numpy as np


def backward(xs, hs, W, b, lam, dL_dh):
    T = len(xs)
    dh = np.zeros_like(dL_dh)
    dW, db, dlam = np.zeros_like(W), np.zeros_like(b), 0.0
    delta_next = np.zeros_like(hs[0])
    for t in range(T, 0, -1):
        dh[t - 1] = dL_dh[t - 1] + lam * delta_next
        delta = dh[t - 1] * (1 - hs[t] ** 2)
        dW += xs[t - 1].T @ delta
        db += delta.sum(axis=0)
        dlam += np.sum(delta * hs[t - 1])
        delta_next = delta
    return dh, dW, db, dlam
