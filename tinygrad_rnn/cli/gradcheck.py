"""`tinygrad-rnn gradcheck`: every primitive op and every cell against finite differences."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..nn.cells import CELLS
from ..speed.sequence import LAYERS


def _op_cases(rng: np.random.Generator) -> list[tuple[str, Callable[..., Any], list[np.ndarray]]]:
    """(name, fn, inputs): each primitive op in float64, broadcasting where the op has it."""
    from .. import concat, stack

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    def away(*shape: int) -> np.ndarray:  # |x| in [0.5, 1.5]: no kink of relu/max/abs near
        return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)

    return [
        ("add (broadcast)", lambda a, b: a + b, [r(3, 4), r(4)]),
        ("sub (broadcast)", lambda a, b: a - b, [r(3, 1), r(1, 4)]),
        ("mul (broadcast)", lambda a, b: a * b, [r(2, 3, 4), r(3, 1)]),
        ("div", lambda a, b: a / b, [r(3, 4), rng.uniform(0.5, 2.0, (3, 4))]),
        ("neg", lambda a: -a, [r(3, 4)]),
        ("pow", lambda a: a ** 3.0, [r(3, 4)]),
        ("exp", lambda a: a.exp(), [r(3, 4)]),
        ("log", lambda a: a.log(), [rng.uniform(0.5, 2.0, (3, 4))]),
        ("tanh", lambda a: a.tanh(), [r(3, 4)]),
        ("sigmoid", lambda a: a.sigmoid(), [r(3, 4)]),
        ("relu", lambda a: a.relu(), [away(3, 4)]),
        ("matmul", lambda a, b: a @ b, [r(3, 4), r(4, 2)]),
        ("matmul (batched)", lambda a, b: a @ b, [r(2, 3, 4), r(4, 2)]),
        ("sum (axis)", lambda a: a.sum(axis=1), [r(3, 4)]),
        ("mean", lambda a: a.mean(), [r(3, 4)]),
        ("max (axis)", lambda a: a.max(axis=0), [rng.permutation(12).reshape(3, 4) * 0.1 + 0.0]),
        ("reshape", lambda a: a.reshape(4, 3), [r(3, 4)]),
        ("transpose", lambda a: a.T, [r(3, 4)]),
        ("getitem (slice)", lambda a: a[:, 1:3], [r(3, 4)]),
        ("getitem (int array)", lambda a: a[np.array([0, 2, 0])], [r(3, 4)]),
        ("concat", lambda a, b: concat([a, b], axis=1), [r(3, 2), r(3, 4)]),
        ("stack", lambda a, b: stack([a, b], axis=0), [r(3, 4), r(3, 4)]),
    ]


def _cell_case(kind: str, rng: np.random.Generator, layer: bool = False
               ) -> tuple[str, Callable[..., Any], list[Any]]:
    """An unrolled cell (3 steps, batch 2): d loss / d (inputs, initial state, every parameter);
    layer: the cell's whole-sequence layer (one op with a hand-written BPTT) instead."""
    from .. import nn
    from ..engine.tensor import Tensor
    cell = (LAYERS if layer else CELLS)[kind](2, 3, rng=np.random.default_rng(int(rng.integers(1 << 30))))
    xs = Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    parts = [Tensor(rng.standard_normal((2, 3)) * 0.5, requires_grad=True)
             for _ in range(2 if kind == "lstm" else 1)]
    weights = rng.uniform(0.5, 1.5, (2, 3))

    def fn(xs: Tensor, *rest: Tensor) -> Tensor:
        state = nn.LSTMState(*rest[:2]) if kind == "lstm" else rest[0]
        if layer:
            return (cell(xs, state)[0] * weights).sum()
        hs, _ = nn.unroll(cell, xs, state)
        return sum((h * weights).sum() for h in hs)

    return f"{kind} {'sequence layer' if layer else 'cell'} (T=3)", fn, [xs, *parts, *cell.parameters()]


def run_checks() -> list[tuple[str, bool, str, float]]:
    """(name, passed, message, seconds) for every op and cell."""
    from ..gradcheck import GradcheckError, gradcheck
    rng = np.random.default_rng(0)
    cases = _op_cases(rng) + [_cell_case(k, rng, layer) for layer in (False, True) for k in CELLS]
    results = []
    for name, fn, inputs in cases:
        start = time.perf_counter()
        try:
            gradcheck(fn, inputs)
            ok, msg = True, ""
        except GradcheckError as e:
            ok, msg = False, str(e)
        results.append((name, ok, msg, time.perf_counter() - start))
    return results


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser(
        "gradcheck", help="check every op and cell against finite differences",
        description="Compare autograd with central finite differences (float64) for every primitive "
        "op (with broadcasting) and for every cell, unrolled over 3 steps and as its whole-sequence layer "
        "(gradients with respect to inputs, initial state and parameters). Prints a table; exits 1 "
        "if any check fails.")


def run(args: argparse.Namespace) -> int:
    results = run_checks()
    width = max(len(n) for n, *_ in results)
    print(f"{'check':<{width}}  result  time")
    for name, ok, msg, secs in results:
        print(f"{name:<{width}}  {'ok' if ok else 'FAIL':<6}  {secs * 1000:5.0f} ms")
        if not ok:
            print(f"    {msg}")
    failed = sum(not ok for _, ok, _, _ in results)
    print(f"{len(results) - failed} of {len(results)} passed" + (f", {failed} FAILED" if failed else ""))
    return 1 if failed else 0
