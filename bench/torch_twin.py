"""The PyTorch twin of `tinygrad-rnn train` for the adding tasks and embedded Reber, so the
comparison with PyTorch in docs/results.md can be re-run: the same task generators, batches,
criterion and training rule (Adam, global-norm clipping, evaluation every --eval-every
iterations, stop when solved), with torch.nn.LSTM / torch.nn.RNN (tanh) / torch.nn.GRU and
PyTorch's own initialisation (the LSTM's forget-gate bias set as ours: --forget-bias).

    pip install -e '.[torch]'
    python bench/torch_twin.py adding --cell lstm --seed 0
    python bench/torch_twin.py embedded_reber --cell rnn --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinygrad_rnn.experiments.tasks import get_task  # noqa: E402

TASKS = ("adding", "adding_modern", "embedded_reber")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", choices=TASKS)
    p.add_argument("--cell", choices=["lstm", "rnn", "gru"], default="lstm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--iters", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch", type=int)
    p.add_argument("--clip", type=float)
    p.add_argument("--eval-every", type=int)
    p.add_argument("--forget-bias", type=float, help="lstm: initial forget-gate bias (task default)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--json", type=Path, help="write the evaluations and the verdict here")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch_twin: PyTorch is not installed (pip install -e '.[torch]')", file=sys.stderr)
        return 2

    task = get_task(args.task, seed=args.seed, steps=args.steps)
    d = dict(task.defaults)
    for k in ("hidden", "iters", "lr", "batch", "clip", "eval_every", "forget_bias"):
        if getattr(args, k) is not None:
            d[k] = getattr(args, k)
    torch.manual_seed(args.seed)
    dtype = getattr(torch, args.dtype)
    rnn = {"lstm": torch.nn.LSTM, "rnn": torch.nn.RNN, "gru": torch.nn.GRU}[args.cell](
        task.input_size, d["hidden"]).to(dtype)
    if args.cell == "lstm":
        with torch.no_grad():          # gate order i, f, g, o: our b = bias_ih + bias_hh
            H = d["hidden"]
            rnn.bias_ih_l0[H:2 * H] = d.get("forget_bias", 1.0)
            rnn.bias_hh_l0[H:2 * H] = 0.0
    readout = torch.nn.Linear(d["hidden"], task.output_size).to(dtype)
    params = list(rnn.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr=d["lr"])

    def outputs(xs: np.ndarray) -> torch.Tensor:
        hs, _ = rnn(torch.as_tensor(xs, dtype=dtype))
        return readout(hs)                                        # (T, B, O)

    def loss_of(batch) -> torch.Tensor:
        y = outputs(batch.xs).reshape(-1, task.output_size)[torch.as_tensor(batch.where)]
        if task.loss == "mse":
            return torch.nn.functional.mse_loss(y, torch.as_tensor(batch.targets, dtype=dtype))
        return torch.nn.functional.cross_entropy(y, torch.as_tensor(batch.targets))

    def predict(xs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            y = outputs(xs)
            y = torch.softmax(y, dim=-1) if task.loss == "ce" else y
        return y.double().numpy()

    data = task.batches(np.random.default_rng([args.seed, 3]), d["batch"])
    start, seen, solved_after, evaluations, ev = time.perf_counter(), 0, None, [], None
    for it in range(1, d["iters"] + 1):
        batch = next(data)
        loss = loss_of(batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, d["clip"])
        opt.step()
        seen += batch.batch_size
        if it % d["eval_every"] == 0 or it == d["iters"]:
            ev = task.evaluate(predict)
            evaluations.append({"iteration": it, "sequences": seen, "solved": ev.solved,
                                task.metric: ev.numbers[task.metric]})
            print(f"[{it}] {'SOLVED ' if ev.solved else ''}{ev.summary}", flush=True)
            if ev.solved:
                solved_after = seen
                break
    seconds = time.perf_counter() - start
    head = (f"solved after {solved_after:,} {task.unit}" if solved_after
            else f"not solved ({seen:,} {task.unit})")
    line = (f"{task.name} / torch-{args.cell}, seed {args.seed}: {head}; "
            f"{task.metric.replace('_', ' ')} {ev.numbers[task.metric]:.4g}; {seconds:.0f} s")
    print(line)
    print(f"paper: {task.paper_result}")
    if args.json:
        args.json.write_text(json.dumps({"task": task.name, "cell": f"torch-{args.cell}", "seed": args.seed,
                                         "settings": d, "solved_after": solved_after, "sequences": seen,
                                         "seconds": round(seconds, 2), "evaluations": evaluations,
                                         "verdict": line}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
