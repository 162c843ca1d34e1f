"""What a command will need, checked before it starts: refuse what cannot finish, announce what is large.

The memory figure is an estimate of an unrolled graph kept with its gradients (as `graph` and
`gradflow` keep it), measured with tracemalloc on this engine: per step a fixed cost of tensor and
op objects, plus the weight gradients each step's matmuls send back, 8 k H (H + I) bytes for a cell
with k gate blocks; plus the parameters and their gradients.
"""

from __future__ import annotations

import argparse

GATE_BLOCKS = {"dampened": 1, "elman": 1, "lstm": 4, "gru": 3}
STEP_OBJECTS = {"dampened": 2_500, "elman": 5_500, "lstm": 20_000, "gru": 20_000}  # bytes per step
ANNOUNCE = 1 << 30  # say how much memory a run will take from 1 GiB on


def parameter_bytes(kind: str, hidden: int, input_size: int) -> int:
    """Parameters and their gradients: W (I, kH), U (H, kH), biases, in float64."""
    return 2 * 8 * GATE_BLOCKS[kind] * hidden * (input_size + hidden + 2)


def graph_bytes(kind: str, steps: int, hidden: int, input_size: int = 2, batch: int = 1) -> int:
    """Bytes an unrolled graph of `steps` steps holds after backward, gradients kept."""
    k = GATE_BLOCKS[kind]
    per_step = STEP_OBJECTS[kind] + 8 * k * hidden * (hidden + input_size) + 8 * 16 * k * batch * hidden
    return parameter_bytes(kind, hidden, input_size) + steps * per_step


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is none)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def refusal(args: argparse.Namespace) -> str | None:
    """Why these arguments cannot run here (one line), or None. Runs before any work."""
    command = getattr(args, "command", None)
    steps, hidden = getattr(args, "steps", None), getattr(args, "hidden", None)
    if command == "graph" and steps is not None and steps > args.max_nodes:
        return (f"--steps {steps} draws at least one box per step (--collapse 1), more than --max-nodes "
                f"{args.max_nodes}; use fewer --steps or a larger --max-nodes")
    kinds = _kinds(args) or (["elman"] if command == "train" else [])  # the task's cell: 1 block at least
    if hidden is None or not kinds:
        return None
    input_size = getattr(args, "input_size", None) or 2
    if command in ("graph", "gradflow") and steps is not None:
        need = sum(graph_bytes(k, steps, hidden, input_size) for k in kinds)
        what = f"--steps {steps} --hidden {hidden}"
    else:  # train: the task picks the rest; its parameters alone are a lower bound
        need = min(parameter_bytes(k, hidden, input_size) for k in kinds)
        what = f"--hidden {hidden}"
    have = available_bytes()
    if have is not None and need > have:
        return (f"{what} needs about {gib(need)} of memory, and {gib(have)} is available; use a smaller "
                f"{'--hidden or fewer --steps' if 'steps' in what else '--hidden'}")
    return None


def announcement(args: argparse.Namespace) -> str | None:
    """A line saying that a gradflow/graph run will take a lot of memory (None if it will not)."""
    if getattr(args, "command", None) not in ("graph", "gradflow") or getattr(args, "hidden", None) is None:
        return None
    need = sum(graph_bytes(k, args.steps, args.hidden, getattr(args, "input_size", None) or 2)
               for k in _kinds(args))
    return (f"this run keeps about {gib(need)} of graph and gradients in memory (--steps {args.steps}, "
            f"--hidden {args.hidden})") if need >= ANNOUNCE else None


def _kinds(args: argparse.Namespace) -> list[str]:
    """The cells a command will unroll (graph: --cell; gradflow: --cells; train: --cell, a list or None)."""
    cells = getattr(args, "cells", None) or getattr(args, "cell", None) or []
    return [c for c in ([cells] if isinstance(cells, str) else cells) if c in GATE_BLOCKS]
