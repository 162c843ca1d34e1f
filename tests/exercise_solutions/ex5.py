"""Reference solution of exercise 5 (the product of step Jacobians, and when it must vanish)."""

import numpy as np


def step_jacobian(h_t, U):
    return np.diag(1 - h_t[0] ** 2) @ U.T


def jacobian_product(hs, U):
    out = np.eye(U.shape[0])
    for h in hs[1:]:
        out = step_jacobian(h, U) @ out
    return out


def bound(hs, U):
    gamma = max((1 - h ** 2).max() for h in hs[1:])
    return np.linalg.svd(U, compute_uv=False)[0] * gamma


def must_vanish(hs, U):
    return bool(bound(hs, U) < 1)
