"""Task generators: each one's invariants, checked against the papers' constructions."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn.experiments.tasks import TASKS, StreamTask, get_task
from tinygrad_rnn.experiments.tasks.adding import adding_1997, adding_modern
from tinygrad_rnn.experiments.tasks.chars import grammar_text
from tinygrad_rnn.experiments.tasks.elman_letters import letter_string
from tinygrad_rnn.experiments.tasks.embedded_reber import embedded_string, inner_string, legal_next
from tinygrad_rnn.experiments.tasks.temporal_xor import xor_stream

seeds = st.integers(0, 2**32 - 1)

# The Reber grammar written out as its set of arcs (state, symbol) -> state, independently of
# the task module's table: Hochreiter & Schmidhuber 1997, Fig. 5.
ARCS = {(0, "B"): 1, (1, "T"): 2, (1, "P"): 3, (2, "S"): 2, (2, "X"): 4, (3, "T"): 3, (3, "V"): 5,
        (4, "X"): 3, (4, "S"): 6, (5, "P"): 4, (5, "V"): 6, (6, "E"): 7}


def _accepts_inner(s: str) -> bool:
    state = 0
    for c in s:
        if (state, c) not in ARCS:
            return False
        state = ARCS[(state, c)]
    return state == 7


@given(seeds)
def test_reber_strings_are_grammatical_and_embedded(seed):
    rng = np.random.default_rng(seed)
    assert _accepts_inner(inner_string(rng))
    s = embedded_string(rng)
    assert s[0] == "B" and s[-1] == "E" and s[1] in "TP" and s[-2] == s[1]
    assert _accepts_inner(s[2:-2])


@given(seeds)
def test_reber_legal_next_sets(seed):
    s = embedded_string(np.random.default_rng(seed))
    sets = legal_next(s)
    assert len(sets) == len(s) - 1
    for k, legal in enumerate(sets):
        assert s[k + 1] in legal                      # the symbol that came is always legal
    assert sets[0] == "TP" and sets[1] == "B" and sets[-1] == "E"
    assert sets[-2] == s[1]                           # the long-range step: only the second symbol
    # inner steps: exactly the arcs leaving the state reached so far
    state = 0
    for k in range(2, len(s) - 3):
        state = ARCS[(state, s[k])]
        assert set(sets[k]) == {c for (q, c) in ARCS if q == state}


def test_reber_rejects_ungrammatical_strings():
    with pytest.raises(ValueError):
        legal_next("BTBTSSXXTVVETE".replace("XXT", "XXX"))
    with pytest.raises(ValueError):
        legal_next("BTBTXSEPE")                      # second branch symbol differs from the first


def test_reber_task_batches_and_sets():
    task = get_task("embedded_reber", seed=3)
    assert len(task.train_strings) == len(task.test_strings) == 256
    batch = next(task.batches(np.random.default_rng(0), 5))
    steps, width, symbols = batch.xs.shape
    assert (width, symbols) == (5, 7)
    t, b = np.divmod(batch.where, width)
    for k in range(width):                 # rebuild each string from its inputs and its last target
        rows = t[b == k]
        assert list(rows) == list(range(len(rows)))          # scored steps: a prefix, no gaps
        s = "".join("BTPSXVE"[i] for i in batch.xs[rows, k].argmax(axis=1))
        s += "BTPSXVE"[batch.targets[batch.where == rows[-1] * width + k][0]]
        assert s in task.train_strings
        assert np.all(batch.xs[len(s) - 1:, k] == 0)          # padding after the string is empty
        nxt = ["BTPSXVE"[i] for i in batch.targets[b == k]]
        assert "".join(nxt) == s[1:]


@given(seeds, st.sampled_from([12, 20, 100, 101]))
def test_adding_1997_markers_and_target(seed, T):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(T, T + T // 10 + 1))
    x, y = adding_1997(rng, length, T)
    values, markers = x[:, 0], x[:, 1]
    marked = np.flatnonzero(markers == 1)
    assert len(marked) == 2 and np.all(np.abs(values) <= 1)
    a, b = marked                                     # X1 among the first 10, X2 among the first T/2 - 1
    assert (a < 10 and b < T // 2) or (b < 10 and a < T // 2)   # others (0-based: up to T/2 - 1)
    assert markers[-1] == -1 and (markers[0] == -1 or marked[0] == 0)
    assert set(np.flatnonzero(markers == -1)) <= {0, length - 1}
    if marked[0] == 0:  # X1 there (the other mark beyond X1's first 10 pairs) means X1 = 0
        assert values[0] == 0 or marked[1] < 10
    assert y == pytest.approx(0.5 + values[marked].sum() / 4)
    assert 0 <= y <= 1


def test_adding_1997_first_pair_is_zero_when_it_is_x1_and_may_also_be_x2():
    """X1 on the first pair is set to 0; X2, drawn from the first T/2 - 1 pairs not taken by X1,
    may fall on the first pair too, and then keeps its value (the paper zeroes only X1)."""
    rng = np.random.default_rng(0)
    x1_first = x2_first = 0
    for _ in range(3000):
        x, _ = adding_1997(rng, 100, 100)
        first, other = np.flatnonzero(x[:, 1] == 1)
        if first == 0 and other >= 10:  # only X1 can be the first pair here
            assert x[0, 0] == 0
            x1_first += 1
        elif first == 0 and x[0, 0] != 0:  # X2 on the first pair: the other mark is X1
            assert other < 10
            x2_first += 1
    assert x1_first > 100 and x2_first > 10  # both cases occur (about 240 and 55 expected)


def test_adding_1997_lengths_and_batches():
    task = get_task("adding", steps=50, seed=1)
    batches = task.batches(np.random.default_rng(0), 4)
    lengths = {next(batches).xs.shape[0] for _ in range(60)}
    assert lengths <= set(range(50, 56)) and len(lengths) > 2
    b = next(batches)
    T = b.xs.shape[0]
    assert list(b.where) == [(T - 1) * 4 + i for i in range(4)]     # scored only at the last step
    for i in range(4):
        m = b.xs[:, i, 1] == 1
        assert b.targets[i, 0] == pytest.approx(0.5 + b.xs[m, i, 0].sum() / 4)


@given(seeds, st.integers(2, 60))
def test_adding_modern_one_marker_per_half(seed, T):
    x, y = adding_modern(np.random.default_rng(seed), 8, T)
    ind = x[:, :, 1]
    assert np.all(ind.sum(axis=0) == 2) and set(np.unique(ind)) <= {0.0, 1.0}
    assert np.all(ind[: T // 2].sum(axis=0) == 1) and np.all(ind[T // 2:].sum(axis=0) == 1)
    assert np.allclose(y, (x[:, :, 0] * ind).sum(axis=0))
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] < 1))


def test_adding_modern_baseline_is_one_sixth():
    """Always answering 1: E[(X1 + X2 - 1)^2] = Var(X1 + X2) = 2/12 for independent U[0,1]."""
    _, y = adding_modern(np.random.default_rng(0), 200_000, 10)
    assert np.mean((y - 1) ** 2) == pytest.approx(1 / 6, abs=2e-3)


@given(seeds, st.integers(1, 200))
def test_xor_every_third_bit(seed, n):
    bits = xor_stream(np.random.default_rng(seed), n)
    assert len(bits) == n and set(np.unique(bits)) <= {0, 1}
    for k in range(2, n, 3):
        assert bits[k] == bits[k - 2] ^ bits[k - 1]


def test_xor_task_targets_are_the_next_bit_and_pairs_are_random():
    task = get_task("temporal_xor", seed=0)
    assert np.array_equal(task.train_x[1:, 0], task.train_y[:-1, 0])
    bits = np.concatenate([task.train_x[:, 0], task.train_y[-1:, 0]])
    assert len(bits) == 3000
    free = bits.reshape(-1, 3)[:, :2]
    assert 0.45 < free.mean() < 0.55                  # the two free bits are fair coins


def test_perfect_xor_predictor_is_solved_and_chance_is_not():
    task = get_task("temporal_xor", seed=0)

    def oracle(xs):
        bits = xs[:, 0, 0]
        out = np.full(len(bits), 0.5)
        for j in range(1, len(bits)):          # target j is bit j+1 (0-based); XOR if (j+2) % 3 == 0
            if (j + 2) % 3 == 0:
                out[j] = float(int(bits[j - 1]) ^ int(bits[j]))
        return out[:, None, None]

    good = task.evaluate(oracle)
    assert good.solved and good.numbers["rms_predictable"] == 0
    assert good.numbers["rms_other"] == pytest.approx(0.5)
    assert not task.evaluate(lambda xs: np.full(xs.shape[:2] + (1,), 0.5)).solved


@given(seeds, st.integers(1, 50))
def test_letter_expansions(seed, n):
    s = letter_string(np.random.default_rng(seed), n)
    words = []
    i = 0
    while i < len(s):
        run = {"b": 2, "d": 3, "g": 4}[s[i]]
        words.append(s[i:i + run])
        i += run
    assert len(words) == n and set(words) <= {"ba", "dii", "guuu"}


def test_letter_feature_vectors():
    task = get_task("elman_letters")
    table = {"b": "101001", "d": "101101", "g": "101011", "a": "010011", "i": "010101", "u": "010111"}
    letters = task.train_letters
    for k in range(200):
        assert "".join(str(int(v)) for v in task.train_x[k]) == table[letters[k]]
        assert "".join(str(int(v)) for v in task.train_y[k]) == table[letters[k + 1]]


def test_letters_oracle_is_solved():
    task = get_task("elman_letters")
    table = {"b": "a", "d": "i", "g": "u"}
    vec = {c: np.array([int(v) for v in f]) for c, f in
           {"b": "101001", "d": "101101", "g": "101011", "a": "010011", "i": "010101", "u": "010111"}.items()}

    def oracle(xs):
        s, out = task.test_letters, []
        run = 0
        for k in range(len(s) - 1):
            run = 1 if s[k] in "bdg" else run + 1
            need = {"b": 2, "d": 3, "g": 4}[s[k - run + 1]]
            out.append(vec[table[s[k - run + 1]]] if run < need else (vec["b"] + vec["d"] + vec["g"]) / 3)
        return np.array(out)[:, None, :]

    ev = task.evaluate(oracle)
    assert ev.solved and ev.numbers["rms_before_vowel"] == 0
    assert ev.numbers["mean_abs_error_per_bit"]["consonantal"] == 0


def test_stream_windows_carry_state_and_cover_segments():
    class Counting(StreamTask):
        name = "counting"

    task = Counting(steps=4)
    task.train_x, task.train_y = np.arange(100.0)[:, None], np.arange(1, 101)
    batches = task.batches(np.random.default_rng(0), 5)      # 5 segments of 20, windows of 4
    seen = []
    for k in range(4):
        b = next(batches)
        assert b.xs.shape == (4, 5, 1) and b.carry == (k > 0)
        assert np.array_equal(b.targets, b.xs[:, :, 0].reshape(-1) + 1)   # t*B + b order
        seen.append(b.xs[:, :, 0])
    run = np.concatenate(seen, axis=0)                         # (16, 5): each column consecutive
    assert np.all(np.diff(run, axis=0) == 1)
    assert np.all((run[0] >= np.arange(5) * 20) & (run[-1] < np.arange(1, 6) * 20))


def test_chars_default_corpus_and_encoding():
    text = grammar_text(np.random.default_rng(0), 2000)
    assert len(text) >= 2000 and text.endswith(".")
    for sent in text.split(". "):
        assert sent.rstrip(".").split()[0] == "the"
    task = get_task("chars", seed=0)
    assert "".join(task.vocab[i] for i in task.encode(task.train_text[:50])) == task.train_text[:50]
    assert task.train_x.shape == (len(task.train_text) - 1, len(task.vocab))
    assert np.array_equal(task.train_x[1:].argmax(axis=1), task.train_y[:-1])


def test_chars_uniform_prediction_is_not_solved(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello world, hello tinygrad. " * 20)
    task = get_task("chars", path=path, steps=10)
    ev = task.evaluate(lambda xs: np.full(xs.shape, 1.0 / xs.shape[2]))
    assert not ev.solved
    assert ev.numbers["heldout_nats_per_char"] == pytest.approx(np.log(len(task.vocab)), abs=1e-4)


def test_registry_and_seeds_are_reproducible():
    assert set(TASKS) == {"temporal_xor", "elman_letters", "embedded_reber", "adding", "adding_modern",
                          "chars"}
    assert get_task("adding-modern").name == "adding_modern"
    with pytest.raises(KeyError, match="choose from"):
        get_task("nope")
    for name in TASKS:
        a = next(get_task(name, seed=7).batches(np.random.default_rng(1), 3))
        b = next(get_task(name, seed=7).batches(np.random.default_rng(1), 3))
        assert np.array_equal(a.xs, b.xs) and np.array_equal(a.targets, b.targets)
        task = TASKS[name]
        assert task.paper and task.criterion and task.paper_result and task.defaults


def test_reber_paper_test_set_repeats_training_and_heldout_does_not():
    paper = get_task("embedded_reber", seed=0)
    seen = set(paper.train_strings)
    repeats = sum(s in seen for s in paper.test_strings)
    assert repeats > 128                              # most test strings also occur in training
    ev = paper.evaluate(lambda xs: np.full(xs.shape, 1 / 7))
    assert ev.numbers["test_strings_also_in_training"] == repeats
    held = get_task("embedded_reber", seed=0, heldout=True)
    assert held.train_strings == paper.train_strings and len(held.test_strings) == 256
    assert not set(held.test_strings) & seen
    assert held.evaluate(lambda xs: np.full(xs.shape, 1 / 7)).numbers["test_strings_also_in_training"] == 0


def test_adding_1997_baseline_is_the_mean_target_predictor():
    """The level drawn as the baseline: the share of test targets 0.5 + (X1 + X2)/4 at least 0.04
    away from 0.5, i.e. |X1 + X2| >= 0.16, counted here from the test sequences' markers."""
    task = get_task("adding", steps=20, n_test=500)
    held = []
    task.evaluate(lambda xs: held.append(xs) or np.full((*xs.shape[:2], 1), 0.5))
    sums = np.concatenate([(x[:, :, 0] * (x[:, :, 1] == 1)).sum(axis=0) for x in held])
    assert task.baseline == pytest.approx(np.mean(np.abs(sums) / 4 >= 0.04))
    assert 0.7 < task.baseline < 0.95


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_names_its_test_metric_levels_and_sources(name):
    """The plotted metric is one of the evaluation's numbers; the paper's figure names a year."""
    task = get_task(name, **({"steps": 12} if name == "adding" else {}))
    xs_shape = []

    def flat(xs):
        xs_shape.append(xs.shape)
        return np.full((*xs.shape[:2], task.output_size), 1.0 / task.output_size)
    ev = task.evaluate(flat)
    assert task.metric in ev.numbers and np.isfinite(ev.numbers[task.metric])
    assert task.metric_label and task.goal is not None and task.baseline is not None
    assert task.baseline_label and task.chance_loss is not None and task.chance_label
    assert re.search(r"(19|20)\d\d", task.paper_result), task.paper_result
    assert "0.0007" not in task.paper_result                  # the unsourced figure is gone
