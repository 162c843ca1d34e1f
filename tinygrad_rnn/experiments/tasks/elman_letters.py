"""Letter sequences (Elman 1990, "Finding structure in time", Cognitive Science 14:179-211, Sec. 4).

Consonants drawn from {b, d, g} are rewritten b -> ba, d -> dii, g -> guuu and concatenated.
Each letter is a 6-bit feature vector (Consonantal, Vocalic, Interrupted, High, Back, Voiced).
The net (6-20-6) predicts the next letter's features. The vowels are predictable from the
consonant before them, the next consonant's identity is not; so the error is high where a
consonant comes and low on vowels, while the "consonantal" bit is predicted well throughout.
"""

from __future__ import annotations

import numpy as np

from .base import Evaluation, Predict, StreamTask

EXPANSION = {"b": "ba", "d": "dii", "g": "guuu"}
#                     C  V  I  H  B  Vo
FEATURES = {"b": (1, 0, 1, 0, 0, 1), "d": (1, 0, 1, 1, 0, 1), "g": (1, 0, 1, 0, 1, 1),
            "a": (0, 1, 0, 0, 1, 1), "i": (0, 1, 0, 1, 0, 1), "u": (0, 1, 0, 1, 1, 1)}
FEATURE_NAMES = ("consonantal", "vocalic", "interrupted", "high", "back", "voiced")


def letter_string(rng: np.random.Generator, n_consonants: int) -> str:
    """n_consonants random consonants from b, d, g, each rewritten (b->ba, d->dii, g->guuu)."""
    return "".join(EXPANSION["bdg"[i]] for i in rng.integers(0, 3, size=n_consonants))


def encode(letters: str) -> np.ndarray:
    """The (len, 6) feature vectors of a letter string."""
    return np.array([FEATURES[c] for c in letters], dtype=np.float64)


class ElmanLetters(StreamTask):
    """Next-letter feature prediction; 6 sigmoid outputs, binary cross-entropy per bit."""

    name = "elman_letters"
    paper = "Elman 1990, Finding structure in time, Cognitive Science 14:179-211 (letter sequences)"
    criterion = ("on a fresh sequence, RMS error where a vowel comes < half the RMS where a consonant "
                 "comes, and the consonantal bit's mean |error| < 0.1")
    paper_result = ("Elman 1990 (net 6-20-6, 1,000 consonants, 200 passes): error high at consonants, "
                    "low on vowels; the consonantal bit predicted well throughout")
    loss = "bce"
    metric, metric_label = "rms_ratio", "RMS error where a vowel comes / where a consonant comes"
    goal, baseline, baseline_label = 0.5, 1.0, "vowels no easier than consonants"
    chance_loss, chance_label = float(np.log(2)), "guessing every bit: ln 2"
    defaults = dict(cell="elman", hidden=20, steps=12, iters=1500, lr=0.01, batch=10, optim="adam",
                    clip=1.0, eval_every=100)

    input_size = 6
    output_size = 6

    def __init__(self, seed: int = 0, steps: int | None = None, n_consonants: int = 1000) -> None:
        super().__init__(steps or self.defaults["steps"])
        self.train_letters = letter_string(np.random.default_rng([seed, 0]), n_consonants)
        self.test_letters = letter_string(np.random.default_rng([seed, 1]), n_consonants)
        v = encode(self.train_letters)
        self.train_x, self.train_y = v[:-1], v[1:]

    def evaluate(self, predict: Predict) -> Evaluation:
        v = encode(self.test_letters)
        err = predict(v[:-1, None, :])[:, 0, :] - v[1:]
        rms = np.sqrt(np.mean(err ** 2, axis=1))            # one number per predicted letter
        to_consonant = v[1:, 0] == 1
        rms_c = float(np.sqrt(np.mean(rms[to_consonant] ** 2)))
        rms_v = float(np.sqrt(np.mean(rms[~to_consonant] ** 2)))
        bit = np.abs(err).mean(axis=0)
        numbers = {"rms_ratio": round(rms_v / rms_c, 4), "rms_before_consonant": round(rms_c, 4),
                   "rms_before_vowel": round(rms_v, 4),
                   "mean_abs_error_per_bit": dict(zip(FEATURE_NAMES, np.round(bit, 4).tolist())),
                   "first_30_letters": self.test_letters[1:31],
                   "rms_first_30": np.round(rms[:30], 3).tolist()}
        solved = rms_v < 0.5 * rms_c and bit[0] < 0.1
        summary = (f"RMS error {rms_c:.3f} where a consonant comes, {rms_v:.3f} on vowels; "
                   f"consonantal bit |error| {bit[0]:.3f}")
        return Evaluation(numbers, bool(solved), summary)
