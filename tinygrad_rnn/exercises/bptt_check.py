"""The checker shared by the BPTT-by-hand exercises (dampened, Elman): the student's backward against
the engine's, step by step.

Setting (both exercises): h_t = tanh(x_t W + r(h_{t-1}) + b), h_0 = 0, for t = 1..T, with
r(h) = lam * h (dampened) or h U (Elman); loss L = sum_t sum(h_t * dL_dh[t-1]), so dL_dh[t-1] is
the loss's direct gradient on h_t. BPTT: dh_t = dL_dh_t + r^T(delta_{t+1}), delta_t = dh_t * (1 - h_t^2).
The first time step where the student's dh_t departs from the engine's is named (t = T first, as
backprop runs); a parameter that is wrong is checked again on the first k steps only, k = 1..T, to
name the first step whose term breaks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .feedback import WrongAnswer, as_array, close, verdict
from .runner import StudentError, student_call

T, B, N_IN, H = 5, 2, 3, 4  # N_IN != H, so a transposed answer shows as a wrong shape


@dataclass
class Case:
    """Inputs, the engine's forward and gradients for one sequence."""

    xs: np.ndarray
    hs: list[np.ndarray]            # h_0 .. h_T
    params: dict[str, np.ndarray]   # by name, in the order the student receives them
    dL_dh: np.ndarray
    dh: np.ndarray                  # the engine's dL/dh_t, (T, B, H)
    grads: dict[str, np.ndarray]    # the engine's dL/dparam


def make_case(kind: str, xs: np.ndarray, dL_dh: np.ndarray, values: dict[str, np.ndarray]) -> Case:
    """Run the library's cell over xs and backprop L = sum_t sum(h_t * dL_dh[t-1]) with the engine."""
    import tinygrad_rnn as tg
    cell = (tg.nn.DampenedCell(N_IN, H, learn_lam=True, rng=0) if kind == "dampened"
            else tg.nn.ElmanCell(N_IN, H, rng=0))
    for name, v in values.items():
        getattr(cell, name).data = np.array(v, dtype=float)
    hs, _ = tg.nn.unroll(cell, xs)
    loss = tg.stack(hs) * tg.Tensor(dL_dh)
    loss.sum().backward()
    h0 = np.zeros((xs.shape[1], H))
    return Case(xs, [h0] + [h.data for h in hs], dict(values), dL_dh,
                np.stack([h.grad for h in hs]), {n: getattr(cell, n).grad for n in values})


def random_case(kind: str, seed: int = 0, steps: int = T) -> Case:
    rng = np.random.default_rng(seed)
    values = {"W": rng.uniform(-0.8, 0.8, (N_IN, H))}
    if kind == "dampened":
        values |= {"b": rng.uniform(-0.3, 0.3, H), "lam": np.array(0.7)}
    else:
        values |= {"U": rng.uniform(-0.8, 0.8, (H, H)), "b": rng.uniform(-0.3, 0.3, H)}
    xs = rng.standard_normal((steps, B, N_IN))
    return make_case(kind, xs, rng.standard_normal((steps, B, H)), values)


def recurrent_back(kind: str, params: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """delta_{t+1} -> its contribution to dL/dh_t: lam * delta, or delta U^T."""
    if kind == "dampened":
        return lambda d: params["lam"] * d
    return lambda d: d @ params["U"].T


def _answer(path: Path, fn: Any, case: Case, names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, Any]]:
    args = [case.xs.copy(), [h.copy() for h in case.hs]] + [case.params[n].copy() for n in names]
    out = student_call(path, fn, *args, case.dL_dh.copy(), what="backward")
    if not isinstance(out, (tuple, list)) or len(out) != 1 + len(names):
        wanted = ", ".join(["dh"] + ["d" + n for n in names])
        got = type(out).__name__ + (f" of {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise WrongAnswer(f"backward must return {1 + len(names)} values ({wanted}), got a {got}")
    dh = as_array(out[0], "dh")
    return dh, dict(zip(names, out[1:]))


def check_dh(kind: str, dh: np.ndarray, case: Case) -> None:
    """Walk t = T..1 as backprop does; at the first step where dh_t departs, say what it looks like."""
    if dh.shape != case.dh.shape:
        raise WrongAnswer(f"dh: expected shape {case.dh.shape} (T, B, H): dh[t-1] = dL/dh_t, got {dh.shape}")
    steps = len(case.xs)
    for t in range(steps, 0, -1):
        if close(dh[t - 1], case.dh[t - 1]):
            continue
        later = f"t = {steps}" if t + 1 == steps else f"t = {steps}..{t + 1}"
        right = f"dL/dh_t is right for {later}" if t < steps else "the first step backprop visits"
        context = f"the first time step where your BPTT departs from the engine's: t = {t} ({right})"
        hints = dh_hints(kind, t, case)
        verdict(f"dh[{t - 1}] = dL/dh_{t}", dh[t - 1], case.dh[t - 1], hints, context)


def dh_hints(kind: str, t: int, case: Case) -> list:
    """Typical wrong dL/dh_t, given the engine's (right) dL/dh_(t+1)."""
    back = recurrent_back(kind, case.params)
    direct = case.dL_dh[t - 1]
    if t == len(case.xs):
        return [("at the last step nothing comes back from the future: dL/dh_T = dL_dh[T-1]",
                 lambda: direct + back(case.dh[t - 1]))]
    nxt, h_next, h_t = case.dh[t], case.hs[t + 1], case.hs[t]
    rec = "lam" if kind == "dampened" else "U^T"
    hints = [
        (f"you left out the gradient coming back from step t+1: h_t also feeds h_(t+1), "
         f"so dL/dh_t = dL_dh[t-1] + ({rec} applied to delta_(t+1))", lambda: direct),
        ("forgotten tanh': the gradient from step t+1 must pass back through that step's tanh: "
         "delta_(t+1) = dL/dh_(t+1) * (1 - h_(t+1)^2)", lambda: direct + back(nxt)),
        ("tanh' at the wrong step: delta_(t+1) uses 1 - h_(t+1)^2, the step the gradient comes from",
         lambda: direct + back(nxt * (1 - h_t ** 2))),
        ("sign error in the term from step t+1", lambda: direct - back(nxt * (1 - h_next ** 2))),
        ("you dropped the loss's own gradient at step t: add dL_dh[t-1]",
         lambda: back(nxt * (1 - h_next ** 2))),
    ]
    if kind == "elman":
        hints.append(("transpose: with row vectors h_(t+1) = s(... + h_t U), the gradient goes back "
                      "as delta_(t+1) U^T", lambda: direct + (nxt * (1 - h_next ** 2)) @ case.params["U"]))
    return hints


def param_hints(name: str, case: Case) -> list:
    """Typical wrong dL/d(name) values, from the engine's (right) dh."""
    delta = case.dh * (1 - np.stack(case.hs[1:]) ** 2)
    xs, hs_prev, hs_now = case.xs, np.stack(case.hs[:-1]), np.stack(case.hs[1:])

    def grad(d: np.ndarray, prev: np.ndarray = hs_prev) -> np.ndarray:
        if name == "W":
            return np.einsum("tbi,tbh->ih", xs, d)
        if name == "U":
            return np.einsum("tbi,tbh->ih", prev, d)
        if name == "b":
            return d.sum(axis=(0, 1))
        return np.array((prev * d).sum())  # lam

    one = slice(-1, None)
    hints = [("missing accumulation over t: you kept only the term of the last step T; "
              f"d{name} = sum over t of every step's term (+=)", lambda: _only(grad, delta, one)),
             ("missing accumulation over t: you kept only the term of step t = 1 (the last one a backward "
              f"loop visits); d{name} = sum over t of every step's term (+=)",
              lambda: _only(grad, delta, slice(0, 1))),
             (f"forgotten tanh': d{name} needs delta_t = dL/dh_t * (1 - h_t^2), not dL/dh_t",
              lambda: grad(case.dh))]
    if name in ("U", "lam"):
        hints.append((f"d{name} multiplies h_(t-1), the state the step reads, not h_t",
                      lambda: grad(delta, hs_now)))
    return hints


def _only(grad: Callable[..., np.ndarray], delta: np.ndarray, sl: slice) -> np.ndarray:
    keep = np.zeros_like(delta)
    keep[sl] = delta[sl]
    return grad(keep)


def first_bad_prefix(kind: str, path: Path, fn: Any, name: str, names: tuple[str, ...],
                     seed: int) -> int | None:
    """The smallest k such that on the first k steps alone the student's d(name) departs, or None."""
    full = random_case(kind, seed)
    for k in range(1, len(full.xs) + 1):
        case = make_case(kind, full.xs[:k], full.dL_dh[:k], full.params)
        _, grads = _answer(path, fn, case, names)
        if not close(as_array(grads[name], "d" + name), case.grads[name]):
            return k
    return None


def check_bptt(kind: str, path: Path, fn: Any, names: tuple[str, ...]) -> list[str]:
    """The whole check of one BPTT exercise; raises WrongAnswer/StudentError, returns what passed."""
    if not callable(fn):
        raise StudentError(f"backward in your file is not a function (got {type(fn).__name__})")
    passed = []
    for seed in (0, 1):
        case = random_case(kind, seed)
        dh, grads = _answer(path, fn, case, names)
        check_dh(kind, dh, case)
        for name in names:
            got = as_array(grads[name], "d" + name)
            if close(got, case.grads[name]):
                continue
            k = first_bad_prefix(kind, path, fn, name, names, seed)
            context = ("your dL/dh_t are right for every t, so the error is in how the steps' terms make d"
                       + name + (f"; on the first k steps alone it first departs at k = {k} (t = {k})"
                                 if k else ""))
            verdict(f"d{name}", got, case.grads[name], param_hints(name, case), context)
        passed = [f"dh: dL/dh_t matches the engine at every t = {len(case.xs)}..1"] + [
            f"d{n}: matches the engine" for n in names]
    return passed

