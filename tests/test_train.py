"""The training loop and `tinygrad-rnn train` end to end, on tiny budgets (quality is not asserted)."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.experiments.tasks import get_task
from tinygrad_rnn.experiments.train import TrainConfig, batch_loss, gradient_flow, make_model, predictor


def _run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", "train", *args, "--no-progress"],
                          capture_output=True, text=True, timeout=timeout)


def _verdict(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith(("solved (criterion", "not solved:"))]
    assert len(lines) == 1, stdout
    assert "| paper: " in lines[0]
    return lines[0]


def test_train_writes_its_files_and_clips(tmp_path):
    out = tmp_path / "xor"
    r = _run("temporal_xor", "--iters", "6", "--eval-every", "3", "--clip", "0.01", "-o", str(out))
    assert r.returncode == 0, r.stderr
    _verdict(r.stdout)
    for name in ("model.npz", "results.json", "loss.png", "grad_flow.png"):
        assert (out / name).stat().st_size > 0
    res = json.loads((out / "results.json").read_text())
    assert res["settings"]["clip"] == 0.01 and res["settings"]["cell"] == "elman"
    assert res["iterations"] == len(res["loss"]) == 6 and len(res["evaluations"]) == 2
    before, after = np.array(res["grad_norm_before_clip"]), np.array(res["grad_norm_after_clip"])
    assert np.allclose(after, np.minimum(before, 0.01), rtol=1e-4)       # global-norm clipping
    assert len(res["grad_flow_start"]) == len(res["grad_flow_end"]) == 12   # one norm per step
    assert res["final"]["numbers"]["rms_over_12_steps"]
    state = tg.load(out / "model.npz")
    assert state["cell.U"].shape == (4, 4) and state["readout.W"].shape == (4, 1)


def test_train_adding_lstm_and_chars_sampling(tmp_path):
    r = _run("adding", "--steps", "12", "--iters", "2", "--batch", "4", "--hidden", "3", "--dtype", "float32",
             "-o", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    assert "2,560" in _verdict(r.stdout) or "not solved" in _verdict(r.stdout)
    assert tg.load(tmp_path / "a" / "model.npz")["cell.W"].dtype == np.float32
    text = tmp_path / "t.txt"
    text.write_text("the cat sees the dog. the dog sees the cat. " * 30)
    r = _run("chars", "--text", str(text), "--iters", "4", "--eval-every", "2", "--hidden", "8",
             "-o", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("--- sample after") == 2
    res = json.loads((tmp_path / "c" / "results.json").read_text())
    assert res["settings"]["optim"] == "adagrad" and res["settings"]["clip_mode"] == "value"
    assert all(a <= b + 1e-12 for a, b in zip(res["grad_norm_after_clip"], res["grad_norm_before_clip"]))


@pytest.mark.parametrize("args, reason", [
    (["adding", "--cell", "rnn"], "invalid choice"),
    (["embedded_reber", "--steps", "5"], "--steps does not apply"),
    (["adding", "--text", "x.txt"], "only to the chars"),
    (["chars", "--text", "/nonexistent/file.txt"], "No such file"),
    (["adding", "--steps", "5"], "must be >= 12"),
    (["adding", "--lr", "-1"], "expected a finite number"),
    (["temporal_xor", "--batch", "400"], "use a smaller --batch"),
    (["adding", "--cell", "elman", "--forget-bias", "3"], "only to --cell lstm"),
])
def test_bad_arguments_exit_2_with_one_line(args, reason, tmp_path, capsys):
    from tinygrad_rnn.cli import main
    try:
        code = main(["train", *args, "--no-progress", "-o", str(tmp_path / "o")])
    except SystemExit as e:          # argparse's own errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0]
    assert not (tmp_path / "o").exists()


def test_ctrl_c_stops_cleanly_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "int"
    p = subprocess.Popen([sys.executable, "-m", "tinygrad_rnn", "train", "adding", "--steps", "12",
                          "--batch", "4", "--hidden", "4", "--iters", "1000000", "--eval-every", "1000000",
                          "--no-progress", "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().startswith("training adding")
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=30)
    assert p.returncode == 130, stderr
    assert "interrupted after" in _verdict(stdout)
    res = json.loads((out / "results.json").read_text())
    assert res["interrupted"] and res["iterations"] > 0 and res["final"] is not None
    assert (out / "model.npz").stat().st_size > 0


def test_readout_rows_follow_the_flat_step_batch_order():
    task = get_task("embedded_reber")
    model = make_model(task, TrainConfig.for_task(task, hidden=5))
    batch = next(task.batches(np.random.default_rng(1), 3))       # padded strings: gaps in `where`
    hs, _ = model(batch.xs)
    got = model.outputs(hs, batch.where).data
    t, b = np.divmod(batch.where, 3)
    W, c = model.readout.W.data, model.readout.b.data
    want = np.stack([hs[ti].data[bi] @ W + c for ti, bi in zip(t, b)])
    assert np.allclose(got, want)
    # the loss is the mean cross-entropy of those rows, computed here in plain numpy
    loss, _, _ = batch_loss(task, model, batch)
    logp = want - np.log(np.exp(want).sum(axis=1, keepdims=True))
    assert loss.item() == pytest.approx(-logp[np.arange(len(t)), batch.targets].mean())


def test_predictor_matches_the_training_graph():
    task = get_task("adding_modern", steps=8)
    model = make_model(task, TrainConfig.for_task(task, hidden=4))
    batch = next(task.batches(np.random.default_rng(0), 5))
    hs, _ = model(batch.xs)
    assert np.allclose(predictor(task, model)(batch.xs)[-1], model.outputs(hs, batch.where).data)
    # bce tasks output probabilities 1 / (1 + e^-y), ce tasks a softmax over the last axis
    for name, squash in [("temporal_xor", lambda y: 1 / (1 + np.exp(-y))),
                         ("embedded_reber", lambda y: np.exp(y) / np.exp(y).sum(axis=-1, keepdims=True))]:
        task = get_task(name)
        model = make_model(task, TrainConfig.for_task(task, hidden=4))
        xs = task.probe().xs
        hs, _ = model(xs)
        y = np.stack([h.data for h in hs]) @ model.readout.W.data + model.readout.b.data
        assert np.allclose(predictor(task, model)(xs), squash(y))


def test_fused_steps_give_the_same_loss_and_gradients():
    task = get_task("adding", steps=12)
    batch = next(task.batches(np.random.default_rng(0), 4))
    grads = []
    for fused in (False, True):
        model = make_model(task, TrainConfig.for_task(task, cell="lstm", hidden=3, fused=fused))
        loss, _, _ = batch_loss(task, model, batch)
        loss.backward(keep_intermediate=False)
        grads.append([loss.item()] + [p.grad.copy() for p in model.parameters()])
    for a, b in zip(*grads):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_gradient_flow_probe_reaches_every_step_of_a_fused_lstm():
    """|dL/dh_t| on the probe: nonzero at every step; at t=1 equal to central differences."""
    task = get_task("adding", steps=12)
    model = make_model(task, TrainConfig.for_task(task, hidden=3, fused=True))
    batch = task.probe()
    B = batch.batch_size
    norms = gradient_flow(task, model, batch)
    assert norms.shape == (batch.xs.shape[0],) and np.all(norms > 0)
    assert type(model.cell).__name__ == "FusedLSTMCell" and all(p.grad is None for p in model.parameters())

    def loss_with_h1_nudged(delta):           # the MSE at the last step, by plain numpy
        with tg.no_grad():
            h1, c1 = model.cell(batch.xs[0], model.cell.initial_state(B))
            hs, _ = model(batch.xs[1:], state=tg.nn.LSTMState(tg.Tensor(h1.data + delta), c1))
            y = model.outputs(hs, batch.where - B).data
        return np.mean((y - batch.targets) ** 2)

    eps, g = 1e-6, np.zeros((B, 3))
    for idx in np.ndindex(B, 3):
        e = np.zeros((B, 3))
        e[idx] = eps
        g[idx] = (loss_with_h1_nudged(e) - loss_with_h1_nudged(-e)) / (2 * eps)
    assert norms[0] == pytest.approx(np.linalg.norm(g), rel=1e-5)
