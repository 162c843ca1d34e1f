"""unroll keeps every state by step: .h[t], .c[t], .gates[t][name], .find(name, t); a carried state
continues the numbering; detach_state cuts history and keeps names."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import Unrolled, detach_state
from tinygrad_rnn.viz import draw, find, named_tensors


def _lstm(T=4, seed=0):
    cell = tg.nn.LSTMCell(2, 3, rng=seed)
    xs = np.random.default_rng(seed + 1).standard_normal((T, 2, 2))
    return cell, xs, tg.nn.unroll(cell, xs)


def test_result_still_unpacks_and_holds_every_state():
    cell, xs, res = _lstm()
    hs, state = res
    assert isinstance(res, Unrolled) and hs is res.hs and state is res.state
    assert list(res.steps) == [1, 2, 3, 4] and sorted(res.h) == [0, 1, 2, 3, 4]
    for t in range(1, 5):
        assert res.h[t] is hs[t - 1] and res.h[t].name == f"h_{t}" and res.c[t].name == f"c_{t}"
        assert res.states[t] == (res.h[t], res.c[t]) and res.x[t].name == f"x_{t}"
    # c_t = f_t * c_(t-1) + i_t * g_t, from the gates the result hands out
    for t in range(1, 5):
        g = res.gates[t]
        assert {"i", "f", "g", "o", "z"} <= set(g) and g["f"].scope[0] == f"t={t}"
        np.testing.assert_allclose(res.c[t].data, g["f"].data * res.c[t - 1].data + g["i"].data * g["g"].data,
                                   rtol=1e-12)
    assert res.find("f", 3) is res.gates[3]["f"] and res.find("x_2", 2) is res.x[2]


def test_h_only_cells_have_no_c_and_lookups_say_what_exists():
    cell = tg.nn.ElmanCell(2, 3, rng=0)
    res = tg.nn.unroll(cell, np.ones((2, 1, 2)))
    with pytest.raises(AttributeError, match="only the LSTM"):
        _ = res.c
    with pytest.raises(KeyError, match=r"no step 7.*1\.\.2"):
        res.find("h_7", 7)
    with pytest.raises(KeyError, match=r"no tensor named 'f' at step 2; step 2 has h_2, x_2"):
        res.find("f", 2)


def test_named_tensors_by_step_and_find_in_the_graph():
    cell, xs, res = _lstm()
    loss = (res.hs[-1] ** 2.0).sum()
    named = named_tensors(loss)
    assert named["f"] is res.gates[1]["f"]  # by name alone: the first, as before
    for t in range(1, 5):
        assert named[(f"t={t}", "f")] is res.gates[t]["f"] is find(loss, "f", t=t)
    with pytest.raises(KeyError, match=r"'f' exists at t=1, t=2, t=3, t=4"):
        find(loss, "f", t=9)


def test_continued_unroll_continues_the_numbering():
    cell, xs, first = _lstm(T=3)
    carried = detach_state(first.state)
    assert carried.h.name == "h_3" and carried.c.name == "c_3" and carried.h.parents == ()
    np.testing.assert_array_equal(carried.h.data, first.state.h.data)
    second = tg.nn.unroll(cell, xs, state=carried)
    assert list(second.steps) == [4, 5, 6] and second.h[3] is carried.h
    assert [h.name for h in second.hs] == ["h_4", "h_5", "h_6"] and second.x[4].scope == ("t=4",)
    # one graph over both windows: no step cluster and no name twice
    both = second.hs[-1] + first.hs[-1]
    d = draw(both, shared="once")
    labels = [f't={t}' for t in range(1, 7)]
    assert all(d.source.count(f'label="{s}"') == 1 for s in labels)
    names = [v.name for v in d.nodes.values() if re.match(r"^[hcx]_\d+$", getattr(v, "name", None) or "")]
    twice = {n for n in names if names.count(n) > 1}
    assert twice == {"h_3", "c_3"}  # only the carried state: the value and its detached copy
    assert tg.nn.unroll(cell, xs, state=carried, first_step=1).hs[0].name == "h_1"
    with pytest.raises(ValueError, match="first_step must be an int >= 1"):
        tg.nn.unroll(cell, xs, first_step=0)


def test_truncation_windows_count_from_the_first_step_of_the_unroll():
    cell = tg.nn.ElmanCell(2, 3, rng=0)
    start = tg.Tensor(np.zeros((1, 3)), name="h_10")
    res = tg.nn.unroll(cell, np.ones((4, 1, 2)), state=start, truncate=2)
    assert list(res.steps) == [11, 12, 13, 14]
    res.hs[-1].sum().backward()
    assert res.h[12].grad is None and res.h[13].grad is not None  # cut before step 13 (the 3rd)


def test_detach_state_refuses_other_things():
    with pytest.raises(TypeError, match="detach_state: expected a Tensor or a tuple"):
        detach_state({"h": 1})
