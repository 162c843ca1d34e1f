"""Embedded Reber grammar (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory",
Neural Computation 9(8):1735-1780, Experiment 1).

Inner (Reber) grammar, every branch taken with p = 0.5:
state 0: B -> 1;  1: T -> 2 | P -> 3;  2: S -> 2 | X -> 4;  3: T -> 3 | V -> 5;
4: X -> 3 | S -> 6;  5: P -> 4 | V -> 6;  6: E (end).
Embedded string: B, (T | P), an inner string, the same T | P again, E. Symbols are one-hot
(7 units); the net reads a string one symbol at a time and predicts the next. Solved when,
on all training and test strings, the units of the legal next symbols are the most active at
every step; the hard step is the one before the final E, which needs the second symbol.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .base import Batch, Evaluation, Predict, Task, one_hot

SYMBOLS = "BTPSXVE"
INNER = {0: [("B", 1)], 1: [("T", 2), ("P", 3)], 2: [("S", 2), ("X", 4)], 3: [("T", 3), ("V", 5)],
         4: [("X", 3), ("S", 6)], 5: [("P", 4), ("V", 6)], 6: [("E", None)]}


def inner_string(rng: np.random.Generator) -> str:
    """One string of the Reber grammar (from B to E), each branch with p = 0.5."""
    out, state = [], 0
    while state is not None:
        arcs = INNER[state]
        sym, state = arcs[int(rng.integers(len(arcs)))] if len(arcs) > 1 else arcs[0]
        out.append(sym)
    return "".join(out)


def embedded_string(rng: np.random.Generator) -> str:
    """B, T|P, an inner Reber string, the same T|P, E."""
    branch = "TP"[int(rng.integers(2))]
    return "B" + branch + inner_string(rng) + branch + "E"


def legal_next(string: str) -> list[str]:
    """For each prefix string[:k+1] (k < len-1) the set of symbols that may follow, as a sorted str.

    Raises ValueError if the string leaves the embedded grammar.
    """
    if len(string) < 4 or string[0] != "B" or string[1] not in "TP":
        raise ValueError(f"embedded_reber: {string!r} does not start with B then T or P")
    sets = ["TP", "B"]                       # after B; after the branch symbol
    state = 0
    for k, sym in enumerate(string[2:], start=2):
        if state is None:                    # the inner string has ended: the branch, then E
            rest = string[k:]
            if rest != string[1] + "E":
                raise ValueError(f"embedded_reber: {string!r} must end with {string[1]}E")
            sets.append("E")
            break
        nxt = dict(INNER[state]).get(sym, -1)
        if nxt == -1:
            raise ValueError(f"embedded_reber: symbol {sym!r} at {k} is not allowed in inner state {state}")
        state = nxt
        sets.append(string[1] if state is None else "".join(sorted(s for s, _ in INNER[state])))
    else:
        raise ValueError(f"embedded_reber: {string!r} ends before the embedded string is complete")
    return sets


def _encode(strings: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded one-hot inputs (T, B, 7), next-symbol indices (T, B) and a mask (T, B) of real steps."""
    T = max(len(s) for s in strings) - 1
    idx = np.zeros((T + 1, len(strings)), dtype=np.int64)
    mask = np.zeros((T, len(strings)), dtype=bool)
    for b, s in enumerate(strings):
        idx[: len(s), b] = [SYMBOLS.index(c) for c in s]
        mask[: len(s) - 1, b] = True
    return one_hot(idx[:-1], len(SYMBOLS)) * mask[:, :, None], idx[1:], mask   # padding: zero inputs


class EmbeddedReber(Task):
    """Next-symbol prediction; softmax over the 7 symbols, cross-entropy at every real step."""

    name = "embedded_reber"
    paper = ("Hochreiter & Schmidhuber 1997, Long Short-Term Memory, Neural Computation 9(8), "
             "Exp. 1 (embedded Reber grammar)")
    criterion = ("on all 256 training and 256 test strings, the legal next symbols are the most active "
                 "outputs at every step")
    paper_result = ("H&S 1997 Table 1: LSTM solved in 97-100% of trials after 8,440-39,740 sequences; "
                    "Elman net 0% after >200,000; RTRL some fraction")
    paper_note = ("The 1997 nets learnt with truncated gradients (Elman's rule: none through time); with "
                  "full BPTT, Adam and clipping the Elman net can learn it too: --truncate 1 shows the rule.")
    loss = "ce"
    metric, metric_label = "strings_fraction", "fraction of the strings right at every step"
    goal, baseline = 1.0, 0.5
    baseline_label = "every step right but the one before the final E, guessed"
    chance_loss, chance_label = float(np.log(7)), "uniform over the 7 symbols: ln 7"
    steps_meaning = None
    defaults = dict(cell="lstm", hidden=16, iters=2000, lr=0.01, batch=16, optim="adam", clip=1.0,
                    eval_every=50)

    input_size = len(SYMBOLS)
    output_size = len(SYMBOLS)

    def __init__(self, seed: int = 0, steps: int | None = None, n_train: int = 256,
                 n_test: int = 256, heldout: bool = False) -> None:
        """heldout=False: test strings drawn like the paper's, so most also occur in training (short
        strings are frequent); heldout=True: test strings drawn until n_test appear that training lacks."""
        if steps is not None:
            raise ValueError("embedded_reber: --steps does not apply (the grammar sets string lengths)")
        rng = np.random.default_rng([seed, 0])
        self.train_strings = [embedded_string(rng) for _ in range(n_train)]
        rng = np.random.default_rng([seed, 1])
        seen, self.heldout = set(self.train_strings), heldout
        self.test_strings = []
        while len(self.test_strings) < n_test:
            s = embedded_string(rng)
            if not (heldout and s in seen):
                self.test_strings.append(s)

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator[Batch]:
        while True:
            strings = [self.train_strings[i] for i in rng.integers(len(self.train_strings), size=batch_size)]
            xs, nxt, mask = _encode(strings)
            where = np.flatnonzero(mask.reshape(-1))
            yield Batch(xs, nxt.reshape(-1)[where], where)

    def evaluate(self, predict: Predict) -> Evaluation:
        strings = self.train_strings + self.test_strings
        xs, _, mask = _encode(strings)
        probs = predict(xs)                                          # (T, N, 7)
        ranks = np.argsort(-probs, axis=2)
        step_ok = np.zeros(mask.shape, dtype=bool)
        hard_ok = np.zeros(len(strings), dtype=bool)
        for b, s in enumerate(strings):
            for t, legal in enumerate(legal_next(s)):
                top = {SYMBOLS[i] for i in ranks[t, b, : len(legal)]}
                step_ok[t, b] = top == set(legal)
            hard_ok[b] = step_ok[len(s) - 3, b]                      # input: the inner E; next: T|P
        string_ok = (step_ok | ~mask).all(axis=0)
        n = len(self.train_strings)
        seen = set(self.train_strings)
        numbers = {"strings_fraction": round(float(string_ok.mean()), 4),
                   "strings_correct": int(string_ok.sum()), "strings": len(strings),
                   "test_strings_also_in_training": sum(s in seen for s in self.test_strings),
                   "train_strings_correct": int(string_ok[:n].sum()),
                   "test_strings_correct": int(string_ok[n:].sum()),
                   "step_accuracy": round(float(step_ok[mask].mean()), 4),
                   "hard_step_accuracy": round(float(hard_ok.mean()), 4)}
        summary = (f"{string_ok.sum()}/{len(strings)} strings fully correct; "
                   f"steps {step_ok[mask].mean():.1%}; the step before the final E {hard_ok.mean():.1%}")
        return Evaluation(numbers, bool(string_ok.all()), summary)
