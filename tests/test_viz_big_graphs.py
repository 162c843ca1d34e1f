"""Big graphs: the layout cost known before rendering, refusals at once with advice that works, shared
parameters drawn per step; inputs and targets inside their step; the stepping as GIF and PNG frames."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.viz import LayoutCost, animate, draw, grad_by_step
from tinygrad_rnn.viz.animate import frame_styles


def _elman(T, seed=0):
    cell = tg.nn.ElmanCell(2, 3, rng=seed)
    hs, _ = tg.nn.unroll(cell, np.random.default_rng(seed + 1).standard_normal((T, 1, 2)))
    target = tg.Tensor(np.zeros((1, 3)), name="target")
    with tg.scope(f"t={T}"):
        loss = tg.nn.mse_loss(hs[-1], target)
    loss.backward()
    return loss, cell


def test_cost_counts_the_shared_parameter_edges_as_long():
    loss, _ = _elman(30)
    once = draw(loss, collapse=1, shared="once", max_seconds=1e9)
    per = draw(loss, collapse=1, shared="per-step")
    assert once.cost.long_edges == 3 * 30  # W, U and b into every step
    assert per.cost.long_edges == 0 and per.cost.seconds < once.cost.seconds
    assert isinstance(once.cost, LayoutCost) and "long edges" in str(once.cost)
    assert len(per.references) == 3 * 30  # a copy of W, U and b beside every step


def test_auto_switches_to_per_step_copies_past_the_limit():
    small, _ = _elman(4)
    assert not draw(small, collapse=1).references  # 13 long edges: drawn once, the classic picture
    big, _ = _elman(40)
    assert draw(big, collapse=1).references


def test_each_copy_carries_its_steps_term_of_the_gradient():
    loss, cell = _elman(5)
    d = draw(loss, shared="per-step")
    terms = grad_by_step(cell.U, loss).as_dict()
    copies = [rid for rid, pid in d.references.items() if d.nodes[pid] is cell.U]
    assert len(copies) == 5
    for rid in copies:
        (e,) = [e for e in d.edges if e.src == rid]
        t = int(d.where[rid][0][2:])
        np.testing.assert_allclose(e.grad, terms[t], rtol=1e-12, atol=1e-15)


def test_inputs_and_targets_sit_in_their_steps_cluster():
    loss, _ = _elman(3)
    d = draw(loss)
    where = {obj.name: d.where[nid] for nid, obj in d.nodes.items() if getattr(obj, "name", None)}
    assert where["x_1"] == ("t=1",) and where["x_3"] == ("t=3",) and where["target"] == ("t=3",)
    assert where["h_0"] == () and where["U"] == ()  # the initial state and the parameters stay out
    step2 = d.source.split('label="t=2"')[1].split('label="t=3"')[0]  # the cluster's text (and its nest)
    assert "<b>x_2</b>" in step2 and "<b>x_3</b>" not in step2


def test_refusals_are_immediate_and_their_advice_works():
    loss, _ = _elman(100)
    start = time.perf_counter()
    advice = r"max_nodes=500.*collapse=1 .*draws one box per time step: \d+ nodes"
    with pytest.raises(ValueError, match=advice) as e:
        draw(loss)
    with pytest.raises(ValueError, match=r"max_seconds=30.*shared='per-step'"):
        draw(loss, collapse=1, shared="once")
    assert time.perf_counter() - start < 5  # no layout was attempted
    assert draw(loss, collapse=1).cost.seconds < 5  # following the advice
    fit = int(str(e.value).split("--steps ")[1].split(")")[0])
    smaller, _ = _elman(fit)
    draw(smaller)  # the suggested number of steps fits


def test_gif_and_frames_step_forward_then_backward(tmp_path):
    from PIL import Image
    loss, _ = _elman(2)
    d = draw(loss, collapse=1)
    styles = frame_styles(d)
    assert len(styles) == 2 * 2 + 1  # given, t=1, t=2, then the gradient through t=2, t=1
    assert styles[0][0].startswith("forward") and styles[-1][0] == "backward: gradient through t=1"
    groups = [nid for nid, obj in d.nodes.items() if type(obj).__name__ == "Group"]
    assert all(nid in styles[0][1] for nid in groups)  # before the first step nothing is computed
    files = animate(d, tmp_path / "steps.gif")
    with Image.open(files[0]) as gif:
        assert gif.n_frames == 5
    assert [f.name for f in files[1:]] == [f"frame_{i:03d}.png" for i in range(5)]
    pictures = [f.read_bytes() for f in files[1:]]
    assert len(set(pictures)) == 5  # every frame shows something new
    with Image.open(io.BytesIO(pictures[0])) as a, Image.open(io.BytesIO(pictures[-1])) as b:
        assert a.size == b.size


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_cli_long_collapsed_diagram_gif_and_refusal(tmp_path):
    done = _cli("graph", "--cell", "elman", "--steps", "100", "--collapse", "1", "-o", "long.svg",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "long.svg").read_text().count("<g id=\"node") > 300
    done = _cli("graph", "--steps", "100", "--collapse", "1", "--shared", "once", "-o", "x.svg", cwd=tmp_path)
    assert done.returncode == 2 and "--shared per-step" in done.stderr and not (tmp_path / "x.svg").exists()
    done = _cli("graph", "--steps", "2", "--collapse", "1", "-o", "steps.gif", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "steps.gif").read_bytes().startswith(b"GIF8")
    assert len(list((tmp_path / "steps_frames").glob("frame_*.png"))) == 5


def test_cli_gradflow_by_step(tmp_path):
    done = _cli("gradflow", "--steps", "4", "--cells", "elman", "--hidden", "2", "--by-step", "U",
                "-o", "flow.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "t=4" in done.stdout and (tmp_path / "flow_by_step_U.png").read_bytes().startswith(b"\x89PNG")
    done = _cli("gradflow", "--steps", "4", "--by-step", "Q", "-o", "flow.png", cwd=tmp_path)
    assert done.returncode == 2 and "'Q'" in done.stderr
