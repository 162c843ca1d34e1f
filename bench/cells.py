"""Forward + full BPTT of the recurrent cells, timed against the real alternatives.

The work is the same for every implementation: start from the zero state, run the cell over
xs (T, B, I), loss = sum_t sum(h_t ** 2), gradients w.r.t. all weights. Implementations:

- "numpy":            bench/baselines.py, hand-written forward + hand-derived BPTT (the bar)
- "tinygrad_rnn":     the cells of tinygrad_rnn.nn (primitive ops), loss.backward()
- "tinygrad lean":    the same recorded inside tg.lean(), loss.backward(keep_intermediate=False)
- "tinygrad sequence": the cell's whole-sequence layer (tg.nn.RNN/LSTM/GRU/DampenedRNN: one op per call)
- "torch nn":         torch.nn.RNN / LSTM / GRU (no dampened cell there)
- "torch primitive":  the same cell written from eager torch ops, step by step
- "hips autograd":    the same cell written with autograd.numpy

Optional peers (torch, autograd) are skipped when they cannot be imported. Each figure is
the median of 7 rounds after a warm-up; ratios are against "numpy" from the same rounds.
Every implementation's loss is checked against the baseline's before it is timed.
Run `python bench/cells.py --quick` for a short run; bench/run.py writes the report.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinygrad_rnn as tg  # noqa: E402
from bench import baselines  # noqa: E402
from tinygrad_rnn.nn.cells import CELLS as CELL_TYPES  # noqa: E402
from tinygrad_rnn.nn.unroll import unroll  # noqa: E402
from tinygrad_rnn.speed.sequence import LAYERS  # noqa: E402

CELLS = ("dampened", "elman", "lstm", "gru")
SIZES = {  # name -> (B, I, H, T)
    "tiny": (1, 4, 8, 20),
    "small": (16, 32, 64, 50),
    "medium": (32, 64, 128, 100),
    "long": (8, 16, 32, 1000),
}
SCALING_T = (250, 1000, 4000)
IMPLS = ("numpy", "tinygrad_rnn", "tinygrad lean", "tinygrad sequence", "torch nn", "torch primitive",
         "hips autograd")

Step = Callable[[], float]  # one forward + backward; returns the loss


# ---- threads -----------------------------------------------------------------------------

def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def _hips() -> Any:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None
    return autograd, anp


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """n BLAS threads for numpy (threadpoolctl) and n intra-op threads for torch; None = default."""
    torch = _torch()
    before = torch.get_num_threads() if torch is not None else None
    try:
        from threadpoolctl import threadpool_limits
        limiter: Any = threadpool_limits(limits=n) if n is not None else contextlib.nullcontext()
    except ImportError:
        if n is not None:
            raise RuntimeError("bench: one BLAS thread needs threadpoolctl; run "
                               "`pip install -e '.[bench]'` (make bench does)") from None
        limiter = contextlib.nullcontext()
    with limiter:
        if torch is not None and n is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


# ---- the implementations -----------------------------------------------------------------

def _module(kinds: dict[str, type], cell: str, p: baselines.Params, xs: np.ndarray) -> Any:
    """The cell (or layer) of kinds[cell] holding the baseline's parameters, in xs's dtype."""
    H = p["W"].shape[1] // {"lstm": 4, "gru": 3}.get(cell, 1)
    module = kinds[cell](xs.shape[2], H, dtype=xs.dtype)
    params = dict(module.named_parameters())
    for name, value in p.items():
        params[name].data[...] = value
    return module


def _tinygrad(cell: str, p: baselines.Params, xs: np.ndarray, lean: bool = False) -> Step | None:
    module = _module(CELL_TYPES, cell, p, xs)
    params = dict(module.named_parameters())

    def step() -> float:
        for w in params.values():
            w.grad = None
        with tg.lean() if lean else contextlib.nullcontext():
            hs, _ = unroll(module, xs)
            loss = (tg.stack(hs) ** 2).sum()
        loss.backward(keep_intermediate=not lean)
        return loss.item()
    step.grads = lambda: {name: t.grad for name, t in params.items()}  # checked against the baseline
    return step


def _sequence(cell: str, p: baselines.Params, xs: np.ndarray) -> Step | None:
    layer = _module(LAYERS, cell, p, xs)
    params = dict(layer.named_parameters())

    def step() -> float:
        for w in params.values():
            w.grad = None
        out, _ = layer(xs)
        loss = (out ** 2).sum()
        loss.backward()
        return loss.item()
    step.grads = lambda: {name: t.grad for name, t in params.items()}
    return step


def torch_module(torch: Any, cell: str, p: baselines.Params) -> Any:
    """torch.nn.RNN/LSTM/GRU holding the baseline's weights (W = weight_ih.T, U = weight_hh.T)."""
    n_in, H = p["W"].shape[0], p["U"].shape[0]
    cls = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    module = cls(n_in, H).to(getattr(torch, str(p["W"].dtype)))
    with torch.no_grad():  # PyTorch keeps (gates * H, I) matrices and two biases
        module.weight_ih_l0.copy_(torch.from_numpy(p["W"].T))
        module.weight_hh_l0.copy_(torch.from_numpy(p["U"].T))
        module.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        module.bias_hh_l0.zero_()
        if cell == "gru":
            module.bias_hh_l0[2 * H:] = torch.from_numpy(p["b_hn"])
    return module


def _torch_nn(cell: str, p: baselines.Params, xs: np.ndarray) -> Step | None:
    torch = _torch()
    if torch is None or cell == "dampened":
        return None
    module = torch_module(torch, cell, p)
    x = torch.from_numpy(xs)
    weights = list(module.parameters())

    def step() -> float:
        for w in weights:
            w.grad = None
        out, _ = module(x)
        loss = (out ** 2).sum()
        loss.backward()
        return loss.item()
    return step


def _cell_step(cell: str, lib: Any, p: dict[str, Any], H: int) -> Callable[[Any, Any], Any]:
    """The cell's update from a library's primitive ops (torch or autograd.numpy): the same
    equations as tinygrad_rnn.nn's cells, op for op."""
    sigmoid = lib.sigmoid if hasattr(lib, "sigmoid") else (lambda a: 0.5 * (lib.tanh(0.5 * a) + 1.0))
    W, b = p["W"], p["b"]
    if cell == "dampened":
        return lambda x, h: lib.tanh(x @ W + p["lam"] * h + b)
    U = p["U"]
    if cell == "elman":
        return lambda x, h: lib.tanh(x @ W + h @ U + b)
    if cell == "lstm":
        def lstm(x, state):
            h, c = state
            z = x @ W + h @ U + b
            i, f = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H])
            g, o = lib.tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
            c = f * c + i * g
            return o * lib.tanh(c), c
        return lstm
    b_hn = p["b_hn"]

    def gru(x, h):
        a, u = x @ W + b, h @ U
        r = sigmoid(a[:, :H] + u[:, :H])
        z = sigmoid(a[:, H:2 * H] + u[:, H:2 * H])
        n = lib.tanh(a[:, 2 * H:] + r * (u[:, 2 * H:] + b_hn))
        return (1.0 - z) * n + z * h
    return gru


def _torch_primitive(cell: str, p: baselines.Params, xs: np.ndarray) -> Step | None:
    torch = _torch()
    if torch is None:
        return None
    H = p["U"].shape[0] if "U" in p else p["W"].shape[1]
    weights = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    update = _cell_step(cell, torch, weights, H)
    x = torch.from_numpy(xs)

    def step() -> float:
        for w in weights.values():
            w.grad = None
        h = torch.zeros((xs.shape[1], H), dtype=x.dtype)
        state = (h, h) if cell == "lstm" else h
        hs = []
        for t in range(xs.shape[0]):
            state = update(x[t], state)
            hs.append(state[0] if cell == "lstm" else state)
        loss = (torch.stack(hs) ** 2).sum()
        loss.backward()
        return loss.item()
    return step


def _hips_autograd(cell: str, p: baselines.Params, xs: np.ndarray) -> Step | None:
    hips = _hips()
    if hips is None:
        return None
    autograd, anp = hips
    H = p["U"].shape[0] if "U" in p else p["W"].shape[1]

    def loss_fn(weights: dict[str, Any]) -> Any:
        update = _cell_step(cell, anp, weights, H)
        h = np.zeros((xs.shape[1], H), dtype=xs.dtype)
        state = (h, h) if cell == "lstm" else h
        hs = []
        for t in range(xs.shape[0]):
            state = update(xs[t], state)
            hs.append(state[0] if cell == "lstm" else state)
        return anp.sum(anp.stack(hs) ** 2)
    value_and_grad = autograd.value_and_grad(loss_fn)

    def step() -> float:
        loss, _ = value_and_grad(p)
        return float(loss)
    return step


def _numpy(cell: str, p: baselines.Params, xs: np.ndarray) -> Step:
    fn = baselines.BASELINES[cell]
    return lambda: fn(p, xs)[0]


_BUILDERS: dict[str, Callable[..., Step | None]] = {  # name -> builder(cell, p, xs)
    "numpy": _numpy, "tinygrad_rnn": _tinygrad, "tinygrad lean": partial(_tinygrad, lean=True),
    "tinygrad sequence": _sequence, "torch nn": _torch_nn,
    "torch primitive": _torch_primitive, "hips autograd": _hips_autograd,
}


def implementation(name: str, cell: str, p: baselines.Params, xs: np.ndarray) -> Step | None:
    """One implementation of forward + BPTT (None where its package or its cell is missing)."""
    if name not in _BUILDERS:
        raise ValueError(f"bench: unknown implementation {name!r}; one of {', '.join(IMPLS)}")
    return _BUILDERS[name](cell, p, xs)


def implementations(cell: str, p: baselines.Params, xs: np.ndarray) -> dict[str, Step]:
    """Every available implementation of forward + BPTT for this cell, parameters and input."""
    made = {name: implementation(name, cell, p, xs) for name in IMPLS}
    return {k: v for k, v in made.items() if v is not None}


# ---- timing ------------------------------------------------------------------------------

def median_seconds(steps: dict[Any, Step], repeats: int, warmup: int = 1,
                   clock: Callable[[], float] = time.perf_counter) -> dict[Any, float]:
    """Median time of each step() over `repeats` rounds, after `warmup` untimed calls.

    The implementations take turns within each round, so a burst of load from elsewhere on
    the machine hits all of them alike and the ratios of one run stay comparable. The garbage
    collector runs as usual (a training loop has it on), but what existed before the timing
    (torch, autograd and numpy's own objects) is frozen out of its scans: they would make
    every full collection cost what importing the peers cost, not what the step made. A
    collection before each call keeps one call's garbage from being billed to the next.
    `clock` is wall time by default;
    with one thread, `time.process_time` (this process's CPU time) is blind to other processes.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeats):
            for name, step in steps.items():
                gc.collect()
                t0 = clock()
                step()
                times[name].append(clock() - t0)
    finally:
        gc.unfreeze()
    return {name: statistics.median(ts) for name, ts in times.items()}


def _clock(threads: int | None) -> Callable[[], float]:
    """CPU time of this process when everything runs on one thread (immune to other work on a
    shared machine), wall time otherwise (CPU time would add up the threads)."""
    return time.process_time if threads == 1 else time.perf_counter


def _problem(cell: str, size: tuple[int, int, int, int], dtype: Any, seed: int = 0):
    B, n_in, H, T = size
    rng = np.random.default_rng(seed)
    return baselines.init_params(cell, n_in, H, rng, dtype), rng.standard_normal((T, B, n_in)).astype(dtype)


def _check_loss(impl: str, cell: str, got: float, want: float, dtype: Any) -> None:
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    if not abs(got - want) <= rtol * abs(want):
        raise AssertionError(f"bench: {impl} computes loss {got!r} for the {cell} cell but the numpy "
                             f"baseline gives {want!r}: the implementations do different work")


def _grads_agree(step: Step, want: baselines.Params, dtype: Any) -> bool | None:
    """Whether a tinygrad step's parameter gradients equal the baseline's (None: not checkable)."""
    if not hasattr(step, "grads"):
        return None
    rtol, atol = (1e-8, 1e-10) if dtype == np.float64 else (2e-3, 1e-4)
    got = step.grads()
    return all(got[k] is not None and np.allclose(got[k], v, rtol=rtol, atol=atol) for k, v in want.items())


def time_cells(cells: tuple[str, ...] = CELLS, sizes: dict[str, tuple] | None = None,
               dtypes: tuple[Any, ...] = (np.float64, np.float32), threads: int | None = 1,
               repeats: int = 7, impls: tuple[str, ...] = IMPLS,
               progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row per (cell, dtype, size, implementation): median seconds and ratio to numpy.

    `repeats` rounds per figure."""
    sizes = SIZES if sizes is None else sizes
    rows: list[dict] = []
    with blas_threads(threads):
        for dtype in dtypes:
            for cell in cells:
                for size_name, size in sizes.items():
                    p, xs = _problem(cell, size, dtype)
                    runs = {k: v for k, v in implementations(cell, p, xs).items() if k in impls}
                    want, want_grads = baselines.BASELINES[cell](p, xs)
                    agree = {}
                    for impl, step in runs.items():
                        _check_loss(impl, cell, step(), want, dtype)
                        agree[impl] = _grads_agree(step, want_grads, dtype)
                        if agree[impl] is False and progress:
                            progress(f"WARNING: {impl} {cell} {np.dtype(dtype).name} {size_name}: "
                                     "gradients differ from the numpy baseline's")
                    medians = median_seconds(runs, repeats, warmup=0, clock=_clock(threads))
                    base = medians["numpy"]
                    for impl, s in medians.items():
                        rows.append({"cell": cell, "dtype": np.dtype(dtype).name, "size": size_name,
                                     "B_I_H_T": size, "impl": impl, "threads": threads or "default",
                                     "seconds": s, "vs_numpy": s / base, "repeats": repeats,
                                     "grads_agree": agree[impl],
                                     "clock": "cpu" if threads == 1 else "wall"})
                        if progress:
                            progress(f"{cell:8} {np.dtype(dtype).name:7} {size_name:6} {impl:16} "
                                     f"{s * 1e3:9.2f} ms {s / base:6.2f}x")
    return rows


def ratio_spread(cells: tuple[str, ...] = ("elman", "lstm"), size: str = "medium", runs: int = 10,
                 impl: str = "tinygrad_rnn", progress: Callable[[str], None] | None = None) -> list[dict]:
    """impl's ratio to numpy at one size (float64, one BLAS thread) from `runs` separate runs of
    time_cells: on a shared machine one run's ratio moves by 10-20%, so a limit is judged on the median."""
    ratios: dict[str, list[float]] = {cell: [] for cell in cells}
    for k in range(runs):
        for r in time_cells(cells, {size: SIZES[size]}, (np.float64,), impls=("numpy", impl)):
            if r["impl"] == impl:
                ratios[r["cell"]].append(r["vs_numpy"])
        if progress:
            last = ", ".join(f"{c} {v[-1]:.2f}x" for c, v in ratios.items())
            progress(f"spread run {k + 1}/{runs}: {last}")
    return [{"cell": cell, "size": size, "impl": impl, "ratios": v, "median": statistics.median(v),
             "min": min(v), "max": max(v)} for cell, v in ratios.items()]


def time_scaling(cell: str = "lstm", T_values: tuple[int, ...] = SCALING_T, repeats: int = 7,
                 impls: tuple[str, ...] = ("numpy", "tinygrad_rnn", "tinygrad lean", "tinygrad sequence"),
                 progress: Callable[[str], None] | None = None) -> list[dict]:
    """Seconds of forward + BPTT at the long config's (B, I, H) for each T (one BLAS thread).

    Every (implementation, T) takes its turn in the same rounds, so that the ratio between
    two lengths is not a ratio between two moments of a machine's load."""
    B, n_in, H, _ = SIZES["long"]
    runs: dict[tuple[str, int], Step] = {}
    for T in T_values:
        p, xs = _problem(cell, (B, n_in, H, T), np.float64)
        runs.update({(impl, T): step for impl, step in implementations(cell, p, xs).items() if impl in impls})
    with blas_threads(1):
        medians = median_seconds(runs, repeats, clock=_clock(1))
    rows = []
    for (impl, T), s in sorted(medians.items(), key=lambda kv: (kv[0][1], IMPLS.index(kv[0][0]))):
        rows.append({"cell": cell, "T": T, "impl": impl, "seconds": s, "repeats": repeats})
        if progress:
            progress(f"scaling {cell} T={T:5} {impl:16} {s * 1e3:9.1f} ms")
    return rows


def peak_memory(cell: str = "lstm", size: str = "long") -> list[dict]:
    """Peak bytes traced (tracemalloc: numpy's buffers and Python objects) during one forward + BPTT,
    for the numpy baseline and tinygrad_rnn's default and lean modes and its sequence layer."""
    p, xs = _problem(cell, SIZES[size], np.float64)
    steps = {"numpy": _numpy(cell, p, xs), "tinygrad_rnn": _tinygrad(cell, p, xs),
             "tinygrad lean": _tinygrad(cell, p, xs, lean=True),
             "tinygrad sequence": _sequence(cell, p, xs)}
    rows = []
    for impl, step in steps.items():
        if step is None:
            continue
        step()  # warm caches (imports, lazily made constants) outside the trace
        gc.collect()
        tracemalloc.start()
        try:
            step()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        rows.append({"cell": cell, "size": size, "impl": impl, "peak_bytes": peak})
    base = rows[0]["peak_bytes"]
    for r in rows:
        r["vs_numpy"] = r["peak_bytes"] / base
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="float64 only, tiny and medium")
    ap.add_argument("--cells", nargs="*", default=list(CELLS))
    ap.add_argument("--sizes", nargs="*", default=list(SIZES))
    args = ap.parse_args()
    sizes = {k: SIZES[k] for k in (("tiny", "medium") if args.quick else args.sizes)}
    dtypes = (np.float64,) if args.quick else (np.float64, np.float32)
    time_cells(tuple(args.cells), sizes, dtypes, progress=print)


if __name__ == "__main__":
    main()
