"""Exercise 5: vanishing gradients. The product of step Jacobians of an Elman network, and the
prediction from sigma_max(U) * max|s'| whether it must vanish; checked against the engine's
Jacobians (one backward pass per output unit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .feedback import WrongAnswer, as_array, verdict
from .runner import need, student_call

TITLE = "Vanishing gradients: the product of step Jacobians and sigma_max(U) * max|s'|"

STUB = '''"""Exercise 5: vanishing gradients (numpy only).

An Elman network, batch 1: h_t = tanh(x_t W + h_(t-1) U + b), each h_t of shape (1, H).
The step Jacobian J_t = d h_t / d h_(t-1) is the (H, H) matrix with J_t[j, i] = d h_t[j] / d h_(t-1)[i].
Because h_t is a row vector multiplied by U on the right, J_t = diag(1 - h_t^2) U^T.
The gradient from a loss at step k reaches h_0 through the product d h_k / d h_0 = J_k ... J_2 J_1.

Pascanu et al. (2013): ||J_t|| <= max|s'| * sigma_max(U), so if bound = sigma_max(U) * max|s'| < 1
(max over every step and unit of |tanh'| = 1 - h_t^2), then ||d h_k / d h_0|| <= bound^k: it vanishes.

Write:
  step_jacobian(h_t, U)     -> J_t (H, H), from the step's output h_t (1, H)
  jacobian_product(hs, U)   -> d h_k / d h_0 (H, H), hs = [h_0, h_1, ..., h_k]
  bound(hs, U)              -> sigma_max(U) * max over t = 1..k of max(1 - h_t^2)   (a number)
  must_vanish(hs, U)        -> True when bound < 1 (then the gradient must vanish), else False
                               (bound >= 1 does not promise growth: tanh may saturate)
np.linalg.svd(U, compute_uv=False) gives the singular values, largest first.

Check with:  tinygrad-rnn exercise check 5 THIS_FILE
"""

import numpy as np


def step_jacobian(h_t, U):
    raise NotImplementedError("step_jacobian")


def jacobian_product(hs, U):
    raise NotImplementedError("jacobian_product")


def bound(hs, U):
    raise NotImplementedError("bound")


def must_vanish(hs, U):
    raise NotImplementedError("must_vanish")
'''

N_IN, H, K = 2, 4, 8


def _run(scale: float, seed: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """An Elman run of K steps with sigma_max(U) = scale: (hs as arrays, U, the engine's
    d h_K / d h_0, the engine's d h_1 / d h_0), each Jacobian row j by one backward of h[0, j]."""
    import tinygrad_rnn as tg
    rng = np.random.default_rng(seed)
    cell = tg.nn.ElmanCell(N_IN, H, rng=seed)
    U = rng.standard_normal((H, H))
    cell.U.data = U * (scale / np.linalg.svd(U, compute_uv=False)[0])
    h0 = tg.Tensor(rng.uniform(-0.5, 0.5, (1, H)), requires_grad=True)
    hs, _ = tg.nn.unroll(cell, 0.5 * rng.standard_normal((K, 1, N_IN)), state=h0)

    def jac(out: Any) -> np.ndarray:
        rows = []
        for j in range(H):
            h0.grad = None
            out[0, j].backward()
            rows.append(h0.grad[0].copy())
        return np.array(rows)

    return [h0.data] + [h.data for h in hs], cell.U.data.copy(), jac(hs[-1]), jac(hs[0])


def _step_hints(h: np.ndarray, U: np.ndarray) -> list:
    d = np.diag(1 - h[0] ** 2)
    return [("transpose: J_t[j, i] = d h_t[j] / d h_(t-1)[i] and h_t = s(... + h_(t-1) U), "
             "so J_t = diag(s') U^T",
             lambda: d @ U),
            ("forgotten tanh': J_t = diag(1 - h_t^2) U^T", lambda: U.T),
            ("tanh' scales the rows (the outputs h_t[j]): diag(1 - h_t^2) goes on the left of U^T",
             lambda: U.T @ d),
            ("tanh'(a) = 1 - tanh(a)^2 = 1 - h_t^2, not 1 - h_t", lambda: np.diag(1 - h[0]) @ U.T)]


def _product_hints(hs: list[np.ndarray], U: np.ndarray) -> list:
    Js = [np.diag(1 - h[0] ** 2) @ U.T for h in hs[1:]]

    def chain(mats: list[np.ndarray]) -> np.ndarray:
        out = np.eye(H)
        for m in mats:
            out = m @ out
        return out
    return [("order: d h_k / d h_0 = J_k ... J_2 J_1, the latest step on the left "
             "(you multiplied the other way)",
             lambda: chain(Js[::-1])),
            ("you kept only one step's Jacobian: multiply all k of them", lambda: Js[-1]),
            ("that is a sum of the Jacobians; the chain rule multiplies them", lambda: sum(Js))]


def _bound_hints(hs: list[np.ndarray], U: np.ndarray) -> list:
    sv = np.linalg.svd(U, compute_uv=False)
    gam = max(float((1 - h ** 2).max()) for h in hs[1:])
    return [("sigma_max is the largest singular value of U, not its Frobenius norm",
             lambda: np.linalg.norm(U) * gam),
            ("max|s'| is the largest tanh' over every step and unit, not over the last step only",
             lambda: sv[0] * float((1 - hs[-1] ** 2).max())),
            ("max|s'|: the largest 1 - h_t^2, not the smallest", lambda: sv[0] * min(float((1 - h ** 2).min())
                                                                                   for h in hs[1:])),
            ("include h_1..h_k only: h_0 is not the output of a tanh step", lambda: sv[0] * max(
                float((1 - h ** 2).max()) for h in hs)),
            ("the bound uses the largest singular value, sv[0]", lambda: sv[-1] * gam)]


def check(ns: dict[str, Any], path: Path) -> list[str]:
    fns = {n: need(ns, n, path) for n in ("step_jacobian", "jacobian_product", "bound", "must_vanish")}
    notes = []
    for scale, seed in ((0.6, 0), (3.0, 1)):
        hs, U, prod, first = _run(scale, seed)
        where = f"(Elman, H={H}, k={K} steps, sigma_max(U) = {scale:g})"
        got = student_call(path, fns["step_jacobian"], hs[1].copy(), U.copy(), what="step_jacobian")
        verdict(f"step_jacobian(h_1, U) {where}", got, first, _step_hints(hs[1], U))

        def call(name: str, hs: list[np.ndarray] = hs, U: np.ndarray = U) -> Any:
            return student_call(path, fns[name], [h.copy() for h in hs], U.copy(), what=name)

        verdict(f"jacobian_product(hs, U) {where}", call("jacobian_product"), prod, _product_hints(hs, U))
        want = float(np.linalg.svd(U, compute_uv=False)[0] * max(float((1 - h ** 2).max()) for h in hs[1:]))
        got_b = as_array(call("bound"), "bound")
        verdict(f"bound(hs, U) {where}", got_b.reshape(()) if got_b.size == 1 else got_b, want,
                _bound_hints(hs, U))
        answer = call("must_vanish")
        norm = float(np.linalg.svd(prod, compute_uv=False)[0])
        if not isinstance(answer, (bool, np.bool_)) or bool(answer) != (want < 1):
            raise WrongAnswer(f"must_vanish(hs, U) {where}: expected {want < 1}, got {answer!r}\n"
                              f"bound = {want:.4g}; the engine's ||d h_k / d h_0|| = {norm:.3g}, "
                              f"bound^k = {want ** K:.3g}\nhint: the gradient must vanish exactly when "
                              "bound < 1; bound >= 1 promises nothing (return False)")
        notes.append(f"sigma_max(U) = {scale:g}: bound {want:.3g}, engine ||d h_{K} / d h_0|| = {norm:.3g}"
                     + (f" <= bound^{K} = {want ** K:.3g}" if want < 1 else " (no promise: bound >= 1)"))
    return ["step_jacobian and jacobian_product match the engine's Jacobians", *notes]
