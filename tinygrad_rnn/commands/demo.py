"""`tinygrad-rnn demo`: the main job on built-in defaults."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="a walk-through: values and gradients of a small graph")
    p.add_argument("-o", "--out", default="out", help="output folder (default: out)")
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import tinygrad_rnn as tg

    Path(args.out).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.normal(size=(3, 2)), requires_grad=True, name="W")
    x = tg.Tensor(rng.normal(size=(1, 3)), name="x")
    with tg.scope("layer"):
        h = (x @ W).tanh()
    loss = (h ** 2).sum()
    loss.backward()
    print(f"loss = {loss.item():.6f}")
    print(f"dloss/dW =\n{W.grad}")
    print(f"dloss/dh = {h.grad}  (op {h.op}, scope {h.scope})")
    return 0
