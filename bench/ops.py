"""Per-op overhead of the engine: forward + backward of one op, and backward of a long chain.

Three cases, each timed as the median of >= 7 repeats that take turns between the
implementations (garbage collector off while timing, one BLAS thread when threadpoolctl is
importable):

- "add 2x2":      c = a + b; c.backward(g)            vs numpy by hand: a + b
- "matmul 64x64": c = a @ b; c.backward(g)            vs numpy by hand: a @ b, g @ b.T, a.T @ g
- "chain 100k":   backward of y = ((x + 1) + 1) ... (100,000 adds), default and lean mode
- "loss":         the cell benchmark's loss and its gradient for T = 100 states of (32, 128):
                  stack, square, sum and backward, against numpy's per-step sum(h * h) and 2 h
- kernels:        tanh and sigmoid alone (no graph) on the (B, H) of the cell sizes, numpy as the
                  engine calls it against torch's kernel, float64 and float32 (with torch only)

PyTorch eager (float64, one thread) is timed in the same run when it is importable.
Run: `python bench/ops.py`; a driver calls `run()` and gets one dict per measurement.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinygrad_rnn as tg  # noqa: E402

CHAIN = 100_000
KERNEL_SHAPES = {"tiny": (1, 8), "small": (16, 64), "medium": (32, 128)}  # (B, H) of bench/cells.py
LOSS_STATES = (100, 32, 128)  # (T, B, H) of the medium cell


def _one_blas_thread() -> contextlib.AbstractContextManager:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def _loops(fn: Callable[[], Any], budget: float) -> int:
    """How many calls of fn take about `budget` seconds (doubling until a fifth of it)."""
    loops = 1
    while True:
        t = time.perf_counter()
        for _ in range(loops):
            fn()
        dt = time.perf_counter() - t
        if dt > budget / 5:
            return max(1, int(loops * budget / dt))
        loops *= 2


def _per_call(impls: dict[str, Callable[[], Any]], repeats: int, budget: float = 0.05) -> dict[str, float]:
    """Median seconds per call of each fn; the repeats take turns, so a change in the machine's
    load hits every implementation alike."""
    loops = {name: _loops(fn, budget) for name, fn in impls.items()}
    times: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            n = loops[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - t) / n)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _once(builds: dict[str, Callable[[], Callable[[], Any]]], repeats: int) -> dict[str, float]:
    """Median seconds of the callable each build() returns (a fresh one per repeat, in turns)."""
    times: dict[str, list[float]] = {name: [] for name in builds}
    for _ in range(repeats):
        for name, build in builds.items():
            run = build()
            t = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t)
            del run
            gc.collect()
    return {name: statistics.median(ts) for name, ts in times.items()}


def _op_cases(torch: Any) -> dict[str, dict[str, Callable[[], Any]]]:
    rng = np.random.default_rng(0)
    cases: dict[str, dict[str, Callable[[], Any]]] = {}
    for name, shape, op in (("add 2x2", (2, 2), "add"), ("matmul 64x64", (64, 64), "matmul")):
        a_np, b_np, g_np = (rng.standard_normal(shape) for _ in range(3))
        a, b = tg.Tensor(a_np, requires_grad=True), tg.Tensor(b_np, requires_grad=True)

        def engine(a=a, b=b, g=g_np, op=op):
            a.grad = b.grad = None
            c = a + b if op == "add" else a @ b
            c.backward(g)

        def by_hand(a=a_np, b=b_np, g=g_np, op=op):
            if op == "add":
                return a + b  # the backward of add is the incoming gradient itself: no call
            return a @ b, g @ b.T, a.T @ g

        impls = {"numpy": by_hand, "tinygrad_rnn": engine}
        if torch is not None:
            ta, tb = (torch.tensor(v, requires_grad=True) for v in (a_np, b_np))
            tg_ = torch.tensor(g_np)

            def eager(a=ta, b=tb, g=tg_, op=op):
                a.grad = b.grad = None
                c = a + b if op == "add" else a @ b
                c.backward(g)
            impls["torch"] = eager
        cases[name] = impls
    return cases


def _stacked_loss(stack: Callable[[list], Any], hs: list) -> tuple[float, list]:
    """sum(stack(hs) ** 2) and its backward, in an engine with torch's names (tinygrad_rnn, torch)."""
    for h in hs:
        h.grad = None
    loss = (stack(hs) ** 2).sum()
    loss.backward()
    return loss.item(), [h.grad for h in hs]


def _loss_case(torch: Any) -> dict[str, dict[str, Callable[[], Any]]]:
    """loss = sum_t sum(h_t^2) and dloss/dh_t = 2 h_t, as the cell benchmark computes them."""
    T, B, H = LOSS_STATES
    arrays = list(np.random.default_rng(0).standard_normal(LOSS_STATES))

    def by_hand():
        return sum(float(np.sum(h * h)) for h in arrays), [2.0 * h for h in arrays]

    hs = [tg.Tensor(h, requires_grad=True) for h in arrays]
    impls = {"numpy": by_hand, "tinygrad_rnn": partial(_stacked_loss, tg.stack, hs)}
    if torch is not None:
        ths = [torch.tensor(h, requires_grad=True) for h in arrays]
        impls["torch"] = partial(_stacked_loss, torch.stack, ths)
    return {f"loss sum_t sum(h_t^2), T={T} of ({B}, {H}), fwd+bwd": impls}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) as the engine's Sigmoid computes it: four passes."""
    return 1.0 / (1.0 + np.exp(-x))


def _kernel_cases(torch: Any) -> dict[str, dict[str, Callable[[], Any]]]:
    """The activations of a cell step alone: numpy's calls as the engine
    makes them (tanh: one; sigmoid: four passes) against torch's single kernels."""
    if torch is None:
        return {}
    rng = np.random.default_rng(0)
    cases = {}
    for dtype in ("float64", "float32"):
        for size, shape in KERNEL_SHAPES.items():
            x = rng.standard_normal(shape).astype(dtype)
            out, xt = np.empty_like(x), torch.from_numpy(x)
            ot = torch.empty_like(xt)
            where = f"{size} {shape[0]}x{shape[1]} {dtype}"
            cases[f"tanh {where}"] = {"numpy": partial(np.tanh, x, out=out),
                                      "torch": partial(torch.tanh, xt, out=ot)}
            cases[f"sigmoid {where}"] = {"numpy": partial(_sigmoid, x),
                                         "torch": partial(torch.sigmoid, xt, out=ot)}
    return cases


def _chain_builders(torch: Any) -> dict[str, Callable[[], Callable[[], Any]]]:
    def engine(lean: bool) -> Callable[[], Callable[[], Any]]:
        def build():
            x = tg.Tensor(np.ones((2, 2)), requires_grad=True)
            y = x
            for _ in range(CHAIN):
                y = y + 1.0
            return lambda: y.backward(np.ones((2, 2)), keep_intermediate=not lean)
        return build

    builders = {"tinygrad_rnn": engine(False), "tinygrad_rnn lean": engine(True)}
    if torch is not None:
        def build_torch():
            x = torch.ones((2, 2), dtype=torch.float64, requires_grad=True)
            y = x
            for _ in range(CHAIN):
                y = y + 1.0
            return lambda: y.backward(torch.ones((2, 2), dtype=torch.float64))
        builders["torch"] = build_torch
    return builders


def run(repeats: int = 7) -> list[dict]:
    """Measure every case; one dict per (case, implementation).

    Keys: case, impl ("numpy" by hand, "tinygrad_rnn", "tinygrad_rnn lean", "torch"), seconds
    (median per call), repeats, vs_numpy and vs_torch (ratios within the case, or None).
    """
    repeats = max(7, repeats)
    torch = _torch()
    rows: list[dict] = []
    gc_was = gc.isenabled()
    with _one_blas_thread():
        try:
            gc.collect()
            gc.disable()
            cases = {name + " fwd+bwd": impls for name, impls in _op_cases(torch).items()}
            for case, impls in {**cases, **_loss_case(torch), **_kernel_cases(torch)}.items():
                _per_call(impls, 1)  # a warm-up round, not reported: torch's first one ran ~5x slower
                for impl, s in _per_call(impls, repeats).items():
                    rows.append({"case": case, "impl": impl, "seconds": s, "repeats": repeats})
            for impl, s in _once(_chain_builders(torch), repeats).items():
                rows.append({"case": f"chain {CHAIN // 1000}k bwd", "impl": impl, "seconds": s,
                             "repeats": repeats})
        finally:
            if gc_was:
                gc.enable()
    for r in rows:  # ratios to the numpy-by-hand and PyTorch rows of the same case, where measured
        same = {q["impl"]: q["seconds"] for q in rows if q["case"] == r["case"]}
        r["vs_numpy"] = r["seconds"] / same["numpy"] if "numpy" in same else None
        r["vs_torch"] = r["seconds"] / same["torch"] if "torch" in same else None
    return rows


def _fmt(s: float) -> str:
    return f"{s * 1e6:10.2f} us" if s < 1e-2 else f"{s * 1e3:10.1f} ms"


def main() -> None:
    rows = run()
    w = max(len(r["case"]) for r in rows)
    print(f"{'case':{w}} {'impl':18} {'median':>13} {'x numpy':>8} {'x torch':>8}")
    for r in rows:
        ratios = " ".join("" .rjust(8) if r[k] is None else f"{r[k]:8.2f}" for k in ("vs_numpy", "vs_torch"))
        print(f"{r['case']:{w}} {r['impl']:18} {_fmt(r['seconds'])} {ratios}")


if __name__ == "__main__":
    main()
