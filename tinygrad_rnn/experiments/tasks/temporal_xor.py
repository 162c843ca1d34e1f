"""Temporal XOR (Elman 1990, "Finding structure in time", Cognitive Science 14:179-211, Sec. 3).

A stream of random bit pairs, each pair followed by its XOR: b1 b2 (b1^b2) b4 b5 (b4^b5) ...
The network reads one bit per step and predicts the next. Only every third bit (positions
3k, counted from 1) is predictable, so a trained net shows a periodic dip in its error there
(Elman's Fig. 3) while the other bits stay at chance (about 0.5 RMS).
"""

from __future__ import annotations

import numpy as np

from .base import Evaluation, Predict, StreamTask, rms_by


def xor_stream(rng: np.random.Generator, n_bits: int) -> np.ndarray:
    """n_bits of the stream (a whole number of triples is drawn, then cut): x_{3k} = x_{3k-2} ^ x_{3k-1}."""
    triples = -(-n_bits // 3)
    pairs = rng.integers(0, 2, size=(triples, 2))
    return np.concatenate([pairs, pairs[:, :1] ^ pairs[:, 1:]], axis=1).reshape(-1)[:n_bits]


class TemporalXOR(StreamTask):
    """Next-bit prediction on the XOR stream; sigmoid output, binary cross-entropy per step."""

    name = "temporal_xor"
    paper = "Elman 1990, Finding structure in time, Cognitive Science 14:179-211 (temporal XOR)"
    criterion = "RMS error on the predictable bits (every third) < half the RMS on the others"
    paper_result = ("Elman 1990 (net 1-2-1, 3,000 bits, 600 passes, Fig. 3): error low on every "
                    "third bit, about 0.5 RMS on the others")
    loss = "bce"
    metric, metric_label = "rms_ratio", "RMS error on every third bit / on the others"
    goal, baseline, baseline_label = 0.5, 1.0, "no dip (every bit guessed alike)"
    chance_loss, chance_label = float(np.log(2)), "guessing every bit: ln 2"
    defaults = dict(cell="elman", hidden=4, steps=12, iters=3000, lr=0.01, batch=10, optim="adam",
                    clip=1.0, eval_every=100)

    input_size = 1
    output_size = 1

    def __init__(self, seed: int = 0, steps: int | None = None, n_bits: int = 3000) -> None:
        super().__init__(steps or self.defaults["steps"])
        rng = np.random.default_rng([seed, 0])
        bits = xor_stream(rng, n_bits).astype(np.float64)
        self.train_x, self.train_y = bits[:-1, None], bits[1:, None]
        self.test_bits = xor_stream(np.random.default_rng([seed, 1]), n_bits).astype(np.float64)

    def evaluate(self, predict: Predict) -> Evaluation:
        bits = self.test_bits
        p = predict(bits[:-1, None, None])[:, 0, 0]
        err = p - bits[1:]
        phase = np.arange(2, len(bits) + 1) % 3          # 1-based position of each target, mod 3
        rms = rms_by(err, phase)
        others = (rms[1] + rms[2]) / 2
        cycle = np.arange(1, len(bits)) % 12             # entry i: bits at positions i+1 (mod 12)
        profile = [round(v, 4) for v in rms_by(err, cycle).values()]
        numbers = {"rms_ratio": round(rms[0] / others, 4), "rms_predictable": round(rms[0], 4),
                   "rms_other": round(others, 4), "rms_3k+1": round(rms[1], 4), "rms_3k+2": round(rms[2], 4),
                   "rms_over_12_steps": profile}
        solved = rms[0] < 0.5 * others
        summary = (f"RMS error on every third bit {rms[0]:.3f} vs {others:.3f} on the others "
                   f"(3k+1: {rms[1]:.3f}, 3k+2: {rms[2]:.3f})")
        return Evaluation(numbers, bool(solved), summary)
