"""Every cell checks the state it is given (type, count, shape (B, H), dtype) and says what it
expected; before, an LSTM given one (2, H) Tensor used row 0 as h and row 1 as c without a word.
(The whole-sequence layers check a state with their cell's check: tests/test_nn_sequence.py.)"""

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import LSTMState, unroll
from tinygrad_rnn.nn.cells import CELLS

KINDS = ["dampened", "elman", "lstm", "gru"]
N_IN, H = 3, 4


def _xs(B=2, T=3):
    return np.random.default_rng(0).standard_normal((T, B, N_IN))


def _zeros(*shape, dtype=np.float64):
    return tg.Tensor(np.zeros(shape, dtype=dtype))


def test_an_lstm_given_one_tensor_is_refused_whatever_the_batch():
    cell = CELLS["lstm"](N_IN, H, rng=0)
    for B in (1, 2, 3):   # B = 2 used to run, with row 0 as h and row 1 as c
        with pytest.raises(TypeError, match=r"LSTMCell: the state must be a pair \(h, c\)"
                                            r".*\(B, hidden_size=4\).*got a Tensor"):
            unroll(cell, _xs(B), state=_zeros(B, H))


@pytest.mark.parametrize("kind", ["dampened", "elman", "gru"])
def test_a_one_part_cell_given_a_pair_is_refused(kind):
    cell = CELLS[kind](N_IN, H, rng=0)
    with pytest.raises(TypeError, match="the state must be one Tensor h .* got 2 items"):
        cell(np.zeros((2, N_IN)), (_zeros(2, H), _zeros(2, H)))


@pytest.mark.parametrize("kind", KINDS)
def test_a_state_of_the_wrong_shape_names_the_expected_one(kind):
    cell = CELLS[kind](N_IN, H, rng=0)
    for shape in [(3, H), (2, H + 1), (H,), (1, 2, H)]:   # wrong batch, width, rank
        state = _zeros(*shape) if kind != "lstm" else LSTMState(_zeros(*shape), _zeros(2, H))
        want = rf"state h must have shape \(B, hidden_size\) = \(2, {H}\) for an x_t of shape \(2, {N_IN}\)"
        with pytest.raises(tg.ShapeError, match=want + rf", got {re.escape(str(shape))}"):
            cell(np.zeros((2, N_IN)), state)
    if kind == "lstm":
        with pytest.raises(tg.ShapeError, match="state c must have shape"):
            cell(np.zeros((2, N_IN)), LSTMState(_zeros(2, H), _zeros(2, H + 1)))


@pytest.mark.parametrize("kind", KINDS)
def test_an_integer_state_or_a_non_tensor_part_is_refused(kind):
    cell = CELLS[kind](N_IN, H, rng=0)
    ints = tg.Tensor(np.zeros((2, H), dtype=np.int64))
    state = ints if kind != "lstm" else (ints, _zeros(2, H))
    with pytest.raises(TypeError, match="state h must be floating-point .* got dtype int64"):
        cell(np.zeros((2, N_IN)), state)
    if kind == "lstm":
        with pytest.raises(TypeError, match="state c must be a Tensor of shape \\(2, 4\\), got a str"):
            cell(np.zeros((2, N_IN)), (_zeros(2, H), "c"))
    else:
        with pytest.raises(TypeError, match="the state must be one Tensor h .* got a str"):
            cell(np.zeros((2, N_IN)), "h")


@pytest.mark.parametrize("kind", KINDS)
def test_an_input_of_the_wrong_width_is_refused_before_the_matmul(kind):
    cell = CELLS[kind](N_IN, H, rng=0)
    with pytest.raises(tg.ShapeError, match=r"x_t must have shape \(B, input_size=3\), got \(2, 5\)"):
        cell(np.zeros((2, 5)), cell.initial_state(2))


@pytest.mark.parametrize("kind", KINDS)
def test_valid_states_still_work_arrays_included(kind):
    cell = CELLS[kind](N_IN, H, rng=0)
    given = cell.initial_state(2)
    as_arrays = tuple(t.data for t in given) if kind == "lstm" else given.data
    a, b = cell(np.ones((2, N_IN)), given), cell(np.ones((2, N_IN)), as_arrays)
    for u, v in zip(a if kind == "lstm" else [a], b if kind == "lstm" else [b]):
        np.testing.assert_array_equal(u.data, v.data)
        assert u.shape == (2, H)
