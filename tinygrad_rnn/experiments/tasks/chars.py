"""A character-level model in the style of Karpathy's min-char-rnn (2015), over any text file.

Elman cell (hidden 100), windows of 25 characters with the state carried across windows
(truncated BPTT), softmax output, loss = cross-entropy summed over the window, gradients
clipped elementwise to [-5, 5], Adagrad lr 0.1, weights N(0, 0.01). The loss of a window
starts near 25 ln V (uniform guessing over V characters) and should fall well below it.

The default corpus is made here, nothing is downloaded: simple sentences from the small
template grammar of Elman 1990 ("Finding structure in time", Sec. 6: nouns and verbs in
semantic classes, sentences such as "the dragon eats the cookie.").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .base import Evaluation, Predict, StreamTask, one_hot

WORDS = {
    "HUM": ["man", "woman", "boy", "girl"],
    "ANIM": ["cat", "mouse", "dog", "lion"],
    "AGRESS": ["dragon", "monster", "lion"],
    "INANIM": ["book", "rock", "car"],
    "FRAG": ["glass", "plate"],
    "FOOD": ["cookie", "bread", "sandwich"],
    "INTRAN": ["thinks", "sleeps"],
    "TRAN": ["sees", "chases"],
    "AGPAT": ["moves", "breaks"],
    "PERCEPT": ["smells", "sees"],
    "DESTROY": ["breaks", "smashes"],
    "EAT": ["eats"],
}
TEMPLATES = [
    "HUM EAT FOOD", "HUM PERCEPT INANIM", "HUM DESTROY FRAG", "HUM INTRAN", "HUM TRAN HUM",
    "HUM AGPAT INANIM", "HUM AGPAT", "ANIM EAT FOOD", "ANIM TRAN ANIM", "ANIM AGPAT INANIM",
    "ANIM AGPAT", "INANIM AGPAT", "AGRESS DESTROY FRAG", "AGRESS EAT HUM", "AGRESS EAT ANIM",
    "AGRESS EAT FOOD",
]
_NOUNS = {"HUM", "ANIM", "AGRESS", "INANIM", "FRAG", "FOOD"}


def sentence(rng: np.random.Generator) -> str:
    """One sentence from Elman's templates, nouns with "the": e.g. "the lion eats the girl."."""
    words = []
    for cat in TEMPLATES[int(rng.integers(len(TEMPLATES)))].split():
        word = WORDS[cat][int(rng.integers(len(WORDS[cat])))]
        words.append(f"the {word}" if cat in _NOUNS else word)
    return " ".join(words) + "."


def grammar_text(rng: np.random.Generator, n_chars: int) -> str:
    """Sentences separated by spaces until at least n_chars characters."""
    parts, total = [], 0
    while total < n_chars:
        parts.append(sentence(rng))
        total += len(parts[-1]) + 1
    return " ".join(parts)


class Chars(StreamTask):
    """Next-character prediction over a text; softmax over the vocabulary, summed cross-entropy."""

    name = "chars"
    paper = "Karpathy 2015, min-char-rnn (character model; default corpus: Elman 1990's sentence grammar)"
    criterion = "held-out cross-entropy per character < a fifth of ln V (uniform guessing)"
    paper_result = "Karpathy 2015, min-char-rnn: the smoothed loss starts at 25 ln V and falls well below it"
    loss = "ce"
    metric, metric_label = "heldout_nats_per_char", "held-out cross-entropy (nats per character)"
    baseline_label, chance_label = "uniform guessing: ln V", "uniform guessing: steps x ln V"
    reduction = "sum"
    unit = "windows"
    defaults = dict(cell="elman", hidden=100, steps=25, iters=4000, lr=0.1, batch=1, optim="adagrad",
                    clip=5.0, clip_mode="value", eval_every=500, init_std=0.01, keep_going=True)

    def __init__(self, seed: int = 0, steps: int | None = None, text: str | None = None,
                 path: str | Path | None = None, n_chars: int = 20000) -> None:
        super().__init__(steps or self.defaults["steps"])
        if path is not None:
            text = Path(path).read_text(encoding="utf-8")
        if text is None:
            train = grammar_text(np.random.default_rng([seed, 0]), n_chars)
            test = grammar_text(np.random.default_rng([seed, 1]), max(n_chars // 10, 500))
        else:
            cut = int(len(text) * 0.9)
            train, test = text[:cut], text[cut:]
        if len(train) < 2 * self.steps + 2 or len(test) < 2:
            raise ValueError(f"chars: the text has {len(text or train)} characters; need at least "
                             f"{2 * self.steps + 30} for windows of {self.steps}")
        self.vocab = sorted(set(train) | set(test))
        self.input_size = self.output_size = len(self.vocab)
        self.train_text, self.test_text = train, test
        self.baseline = float(np.log(len(self.vocab)))
        self.goal = 0.2 * self.baseline
        self.chance_loss = self.steps * self.baseline
        ids = self.encode(train)
        self.train_x, self.train_y = one_hot(ids[:-1], len(self.vocab)), ids[1:]

    def encode(self, text: str) -> np.ndarray:
        """Character indices into the sorted vocabulary."""
        lookup = {c: i for i, c in enumerate(self.vocab)}
        return np.array([lookup[c] for c in text], dtype=np.int64)

    def evaluate(self, predict: Predict) -> Evaluation:
        ids = self.encode(self.test_text)
        probs = predict(one_hot(ids[:-1], len(self.vocab))[:, None, :])[:, 0, :]
        nats = float(-np.mean(np.log(np.maximum(probs[np.arange(len(ids) - 1), ids[1:]], 1e-300))))
        uniform = float(np.log(len(self.vocab)))
        numbers = {"heldout_nats_per_char": round(nats, 4),
                   "heldout_loss_per_window": round(nats * self.steps, 3),
                   "uniform_loss_per_window": round(uniform * self.steps, 3), "vocab": len(self.vocab)}
        summary = (f"held-out loss {nats * self.steps:.2f} per {self.steps} characters "
                   f"({nats:.3f} nats/char) vs {uniform * self.steps:.2f} for uniform guessing")
        return Evaluation(numbers, nats < 0.2 * uniform, summary)

    def sample(self, step: Callable[[np.ndarray], np.ndarray], n: int, rng: np.random.Generator,
               start: str | None = None) -> str:
        """n characters drawn one by one: step(one-hot (1, V)) -> next-character probabilities (V,)."""
        c = start if start is not None and start in self.vocab else self.train_text[0]
        out = [c]
        for _ in range(n):
            p = np.asarray(step(one_hot([self.vocab.index(c)], len(self.vocab))), dtype=np.float64)
            c = self.vocab[int(rng.choice(len(p), p=p / p.sum()))]
            out.append(c)
        return "".join(out)
