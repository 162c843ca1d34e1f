"""What every task is: seeded batches of (inputs, targets), a loss kind, and its paper's criterion.

Conventions shared by all tasks (time-major, as `tg.nn.unroll` reads them):

- a `Batch` holds inputs `xs` of shape (T, B, I), the scored outputs' flat indices
  `where` into the T*B outputs (row t*B + b is step t+1 of sequence b; step t = 1..T as in
  the equations), and one target row per scored output;
- a task's `evaluate(predict)` calls `predict(xs) -> (T, B, O)` outputs (after the output
  nonlinearity: identity for "mse", sigmoid for "bce", softmax for "ce") and returns an
  `Evaluation` with numbers, the paper's verdict (`solved`) and a one-line summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass
class Batch:
    """One training batch. xs (T, B, I); targets one row per flat index in `where`.

    `carry` says the batch continues the previous one's sequences (a stream cut into windows,
    i.e. truncated BPTT): the trainer then starts from the previous final state, detached.
    """

    xs: np.ndarray
    targets: np.ndarray
    where: np.ndarray
    carry: bool = False

    @property
    def batch_size(self) -> int:
        return int(self.xs.shape[1])


@dataclass
class Evaluation:
    """A task criterion's outcome: named numbers, the verdict, and a short summary line."""

    numbers: dict[str, Any]
    solved: bool
    summary: str
    extra: dict[str, Any] = field(default_factory=dict)


class Task:
    """Base of the classic experiments. Subclasses set the class attributes and the methods.

    loss: "mse" (linear outputs), "bce" (sigmoid outputs, binary targets) or "ce" (softmax
    over classes, integer targets); reduction "mean" or "sum" (summed over scored outputs).
    """

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""          # the citation
    criterion: ClassVar[str] = ""      # the success criterion, as printed in the verdict
    paper_result: ClassVar[str] = ""   # the paper's figure with its source, printed under the verdict
    paper_note: ClassVar[str] = ""     # where modern training changes the paper's outcome: one sentence why
    # the test metric the verdict uses, as plotted: a key of Evaluation.numbers, its label, the
    # criterion's threshold on it, and the level of a trivial predictor (labelled)
    metric: ClassVar[str] = ""
    metric_label: ClassVar[str] = ""
    goal: ClassVar[float | None] = None
    baseline: ClassVar[float | None] = None
    baseline_label: ClassVar[str] = ""
    chance_loss: ClassVar[float | None] = None   # the training loss of uniform guessing (loss.png)
    chance_label: ClassVar[str] = ""
    loss: ClassVar[str] = "mse"
    reduction: ClassVar[str] = "mean"
    unit: ClassVar[str] = "sequences"  # what one batch row counts as
    streams: ClassVar[bool] = False    # one long stream read in windows (the state carries)
    steps_meaning: ClassVar[str | None] = "sequence length"  # None: --steps does not apply
    defaults: ClassVar[dict[str, Any]] = {}

    input_size: int
    output_size: int

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator[Batch]:
        """An endless stream of training batches drawn with rng."""
        raise NotImplementedError

    def evaluate(self, predict: Predict) -> Evaluation:
        """Run the paper's test on fresh (seeded) data and give the verdict."""
        raise NotImplementedError

    def probe(self) -> Batch:
        """A fixed small batch for gradient-flow pictures (|dL/dh_t| over t)."""
        return next(self.batches(np.random.default_rng(12345), 8))

    def describe(self) -> str:
        """One line: the task, its paper and its criterion."""
        return f"{self.name}: {self.paper}; criterion: {self.criterion}"


class StreamTask(Task):
    """A task on one long training stream (Elman 1990 style), cut into windows of `steps`.

    The stream is split into `batch_size` contiguous segments read side by side; each batch
    is the next window of every segment, so the state carries across windows (truncated BPTT).
    Each pass starts at a random offset < steps; the state carries across passes too (a new pass
    reads on as a reader of a new page would), so it starts from zero only at the first window.
    The model is used the same way: evaluated and sampled from the state training reached.
    """

    unit = "windows"
    streams = True
    steps_meaning = "window length (BPTT steps; the state carries across windows)"

    train_x: np.ndarray   # (N, I)
    train_y: np.ndarray   # (N, O) float, or (N,) int for "ce"

    def __init__(self, steps: int) -> None:
        if steps < 1:
            raise ValueError(f"{self.name}: steps (window length) must be >= 1, got {steps}")
        self.steps = steps

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator[Batch]:
        n = len(self.train_x)
        seg = n // batch_size
        if seg < self.steps + 1:
            raise ValueError(f"{self.name}: a stream of {n} steps cut into {batch_size} segments "
                             f"leaves {seg} steps each, fewer than one window of {self.steps}: "
                             f"use a smaller --batch or --steps")
        first = True
        while True:
            offset = int(rng.integers(self.steps)) if seg >= 2 * self.steps else 0
            starts = np.arange(batch_size) * seg + offset
            for w in range((seg - offset) // self.steps):
                rows = starts[None, :] + w * self.steps + np.arange(self.steps)[:, None]  # (T, B)
                yield Batch(self.train_x[rows], _flat(self.train_y[rows]), np.arange(rows.size),
                            carry=not first)
                first = False

    def probe(self) -> Batch:
        rows = np.arange(self.steps)[:, None] + np.arange(4)[None, :] * self.steps
        return Batch(self.train_x[rows], _flat(self.train_y[rows]), np.arange(rows.size))


def _flat(y: np.ndarray) -> np.ndarray:
    """(T, B, ...) targets -> one row per step and sequence, in the t*B + b order."""
    return y.reshape(y.shape[0] * y.shape[1], *y.shape[2:])


def one_hot(indices: np.ndarray, n: int) -> np.ndarray:
    """Rows of the n x n identity picked by integer indices (any shape; a trailing axis of n)."""
    return np.eye(n)[np.asarray(indices)]


def rms_by(errors: np.ndarray, groups: np.ndarray) -> dict[Any, float]:
    """Root mean square of `errors` within each distinct value of `groups`."""
    return {g.item(): float(np.sqrt(np.mean(errors[groups == g] ** 2))) for g in np.unique(groups)}
