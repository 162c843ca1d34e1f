"""The training loop and `tinygrad-rnn train` end to end, on tiny budgets (quality is not asserted)."""

import json
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.experiments.tasks import get_task
from tinygrad_rnn.experiments.train import (
    TrainConfig,
    batch_loss,
    finish,
    gradient_flow,
    make_model,
    predictor,
    train,
    verdict,
)


def _run(*args, timeout=60, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", "train", *args, "--no-progress"],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def _verdict(stdout, task):
    """The verdict: one short line naming task and cell, then the paper's line (and maybe a note)."""
    lines = stdout.splitlines()
    heads = [i for i, ln in enumerate(lines) if ln.startswith(f"{task} / ")]
    assert len(heads) == 1, stdout
    head = lines[heads[0]]
    assert len(head) < 160 and head.rstrip().endswith(" s")          # short, with the wall time
    assert lines[heads[0] + 1].startswith("paper: ")
    return head


def _strict_json(path):
    def refuse(name):
        raise AssertionError(f"{path} holds {name}: not strict JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_train_writes_its_files_and_clips(tmp_path):
    out = tmp_path / "xor"
    r = _run("temporal_xor", "--iters", "6", "--eval-every", "3", "--clip", "0.01", "-o", str(out))
    assert r.returncode == 0, r.stderr
    head = _verdict(r.stdout, "temporal_xor")
    assert head.startswith("temporal_xor / elman, seed 0: not solved")
    for name in ("model.npz", "optimizer.npz", "results.json", "loss.png", "grad_flow.png",
                 "error_by_position.png"):
        assert (out / name).stat().st_size > 0
    res = _strict_json(out / "results.json")
    assert res["settings"]["clip"] == 0.01 and res["settings"]["cell"] == "elman"
    assert res["iterations"] == len(res["loss"]) == 6 and len(res["evaluations"]) == 2
    before, after = np.array(res["grad_norm_before_clip"]), np.array(res["grad_norm_after_clip"])
    assert np.allclose(after, np.minimum(before, 0.01), rtol=1e-4)       # global-norm clipping
    assert res["clipped_fraction"] == pytest.approx(np.mean(before > 0.01))
    assert len(res["grad_flow_start"]) == len(res["grad_flow_end"]) == 12   # one norm per step
    assert res["final"]["numbers"]["rms_over_12_steps"]
    # the verdict's metric is the final evaluation's
    assert f"rms ratio {res['final']['numbers']['rms_ratio']:.4g}" in head
    state = tg.load(out / "model.npz")
    assert state["cell.U"].shape == (4, 4) and state["readout.W"].shape == (4, 1)


def test_train_adding_lstm_and_chars_sampling(tmp_path):
    r = _run("adding", "--steps", "12", "--iters", "2", "--batch", "4", "--hidden", "3", "--dtype", "float32",
             "-o", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    res = _strict_json(tmp_path / "a" / "results.json")
    head = _verdict(r.stdout, "adding")
    assert head.startswith("adding / lstm, seed 0: not solved (stopped after 8 sequences)")
    assert f"wrong fraction {res['final']['numbers']['wrong_fraction']:.4g} (criterion 0.01)" in head
    assert res["final"]["numbers"]["test_sequences"] == 2560 and not res["solved"]
    assert tg.load(tmp_path / "a" / "model.npz")["cell.W"].dtype == np.float32
    text = tmp_path / "t.txt"
    text.write_text("the cat sees the dog. the dog sees the cat. " * 30)
    r = _run("chars", "--text", str(text), "--iters", "4", "--eval-every", "2", "--hidden", "8",
             "-o", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("--- sample after") == 2
    res = _strict_json(tmp_path / "c" / "results.json")
    assert res["settings"]["optim"] == "adagrad" and res["settings"]["clip_mode"] == "value"
    assert all(a <= b + 1e-12 for a, b in zip(res["grad_norm_after_clip"], res["grad_norm_before_clip"]))


def test_the_paper_line_is_its_own_and_reber_explains_a_solved_elman():
    from tinygrad_rnn.experiments.train import TrainResult, verdict
    task = get_task("embedded_reber")
    cfg = asdict(TrainConfig.for_task(task, cell="elman"))
    result = TrainResult(task.name, cfg, sequences=800, solved_after=800, seconds=3.2)
    lines = verdict(task, result)
    assert lines[0] == "embedded_reber / elman, seed 0: solved after 800 sequences; 3 s"
    assert lines[1] == f"paper: {task.paper_result}" and "1997" in lines[1]
    assert lines[2].startswith("note: ") and "--truncate 1" in lines[2]
    cfg["truncate"] = 1            # Elman's own rule: nothing to explain
    assert len(verdict(task, TrainResult(task.name, cfg))) == 2


@pytest.mark.parametrize("args, reason", [
    (["adding", "--cell", "rnn"], "unknown 'rnn'"),
    (["adding", "--cell", "lstm,rnn"], "unknown 'rnn'"),
    (["embedded_reber", "--steps", "5"], "--steps does not apply"),
    (["adding", "--text", "x.txt"], "only to the chars"),
    (["adding", "--heldout"], "only to the embedded_reber"),
    (["chars", "--text", "/nonexistent/file.txt"], "No such file"),
    (["adding", "--steps", "5"], "must be >= 12"),
    (["adding", "--lr", "-1"], "expected a finite number"),
    (["adding", "--seed", "-5"], "expected a whole number >= 0"),
    (["adding", "--seeds", "0,0"], "repeats"),
    (["adding", "--seed", "1", "--seeds", "0,1"], "not both"),
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
    if reason != "use a smaller --batch":      # found while reading the first batch
        assert not (tmp_path / "o").exists()


def test_an_unwritable_output_folder_is_refused_before_training():
    start = time.perf_counter()
    r = _run("temporal_xor", "--iters", "400", "-o", "/dev/null/run")
    assert r.returncode == 2 and "cannot write into output folder /dev/null/run" in r.stderr
    assert "training" not in r.stdout and "Traceback" not in r.stderr
    assert time.perf_counter() - start < 30


def test_a_new_run_never_overwrites_a_previous_one(tmp_path):
    args = ("temporal_xor", "--iters", "2", "--eval-every", "2")
    assert _run(*args, cwd=tmp_path).returncode == 0
    first = (tmp_path / "runs" / "temporal_xor-elman" / "model.npz").read_bytes()
    r = _run(*args, "--seed", "1", cwd=tmp_path)
    assert r.returncode == 0 and "runs/temporal_xor-elman-2" in r.stdout
    assert (tmp_path / "runs" / "temporal_xor-elman" / "model.npz").read_bytes() == first
    assert _strict_json(tmp_path / "runs" / "temporal_xor-elman-2" / "results.json")["settings"]["seed"] == 1
    # an explicit -o holding a run: refused unless --overwrite
    out = str(tmp_path / "runs" / "temporal_xor-elman")
    r = _run(*args, "--seed", "2", "-o", out)
    assert r.returncode == 2 and "holds a previous run" in r.stderr and "--overwrite" in r.stderr
    assert (tmp_path / "runs" / "temporal_xor-elman" / "model.npz").read_bytes() == first


def test_a_diverged_run_keeps_the_finite_model_and_exits_1(tmp_path):
    out = tmp_path / "m"
    assert _run("adding_modern", "--steps", "8", "--iters", "30", "-o", str(out)).returncode == 0
    good = (out / "model.npz").read_bytes()
    r = _run("adding_modern", "--steps", "8", "--iters", "3", "--lr", "1e308", "--clip", "0", "-o", str(out),
             "--overwrite")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "diverged" in r.stderr and "model.npz was not written" in r.stderr
    assert (out / "model.npz").read_bytes() == good
    assert all(np.all(np.isfinite(a)) for a in tg.load(out / "model.npz").values())
    res = _strict_json(out / "results.json")            # strict: no NaN anywhere
    assert res["diverged"] and not res["solved"]
    assert all(np.isfinite(v) for v in res["loss"])     # the non-finite loss stopped the run unrecorded


def test_results_json_writes_non_finite_numbers_as_null():
    from tinygrad_rnn.experiments.outputs import strict
    assert strict({"a": [1.0, float("nan"), np.float64("inf")], "b": np.array([np.nan, 2.0])}) == \
        {"a": [1.0, None, None], "b": [None, 2.0]}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_cleanly_and_keep_the_checkpoint(tmp_path, sig):
    out = tmp_path / "int"
    p = subprocess.Popen([sys.executable, "-m", "tinygrad_rnn", "train", "adding", "--steps", "12",
                          "--batch", "4", "--hidden", "4", "--iters", "1000000", "--eval-every", "1000000",
                          "--no-progress", "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().startswith("training adding")
    time.sleep(1.0)
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=30)
    assert p.returncode == 130, stderr
    assert "not solved (interrupted after" in _verdict(stdout, "adding")
    res = _strict_json(out / "results.json")
    assert res["interrupted"] and res["iterations"] > 0 and res["final"] is not None
    assert (out / "model.npz").stat().st_size > 0


def test_resume_continues_exactly_where_the_run_stopped(tmp_path):
    args = ("adding_modern", "--steps", "8", "--batch", "4", "--eval-every", "3")
    assert _run(*args, "--iters", "8", "-o", str(tmp_path / "straight")).returncode == 0
    assert _run(*args, "--iters", "4", "-o", str(tmp_path / "split")).returncode == 0
    r = _run("adding_modern", "--resume", str(tmp_path / "split"), "--iters", "8")
    assert r.returncode == 0, r.stderr
    assert "resuming after 4" in r.stdout
    a = _strict_json(tmp_path / "straight" / "results.json")
    b = _strict_json(tmp_path / "split" / "results.json")
    assert b["iterations"] == 8 and b["sequences"] == a["sequences"] == 32
    assert np.allclose(a["loss"], b["loss"], rtol=1e-10)       # same batches, same Adam moments
    sa, sb = tg.load(tmp_path / "straight" / "model.npz"), tg.load(tmp_path / "split" / "model.npz")
    assert all(np.allclose(sa[k], sb[k], rtol=1e-10) for k in sa)
    r = _run("adding_modern", "--resume", str(tmp_path / "split"), "--iters", "8")
    assert r.returncode == 2 and "done 8 of its 8 iterations" in r.stderr


def test_checkpoint_every_n_iterations_saves_a_resumable_run(tmp_path):
    from tinygrad_rnn.experiments.outputs import load_run, write_outputs
    from tinygrad_rnn.experiments.train import train
    task = get_task("adding_modern", steps=6)
    config = TrainConfig.for_task(task, hidden=3, iters=7, batch=2, eval_every=100)
    seen = []

    def checkpoint(model, result, opt):
        seen.append(len(result.losses))
        write_outputs(task, model, result, tmp_path, opt, plots=False)
    train(task, config, progress=False, checkpoint=checkpoint, checkpoint_every=3)
    assert seen == [3, 6]
    rec, state, opt_state = load_run(tmp_path)
    assert rec["iterations"] == 6 and "cell.W" in state
    assert opt_state["cell.W:t"] == 6 and opt_state["cell.W:m"].shape == state["cell.W"].shape


def test_chars_verdict_holds_for_the_saved_model(tmp_path):
    """The model is scored from the state training reached, and that state is saved with it: a fresh
    model loaded from model.npz scores exactly what results.json says."""
    text = tmp_path / "t.txt"
    text.write_text("the cat sees the dog. the dog eats the bread. a boy sees a girl. " * 20)
    out = tmp_path / "c"
    r = _run("chars", "--text", str(text), "--iters", "40", "--eval-every", "20", "--hidden", "12",
             "-o", str(out))
    assert r.returncode == 0, r.stderr
    res = _strict_json(out / "results.json")
    task = get_task("chars", path=text)
    model = make_model(task, TrainConfig(**res["settings"]))
    model.load_state_dict(tg.load(out / "model.npz"))
    assert np.any(model.h0.data != 0)                    # the carried state, not zeros
    again = task.evaluate(predictor(task, model)).numbers
    assert again["heldout_nats_per_char"] == res["final"]["numbers"]["heldout_nats_per_char"]


def test_stream_training_carries_the_state_across_passes():
    task = get_task("temporal_xor", steps=50)
    batches = task.batches(np.random.default_rng(0), 10)     # 10 segments of 299: 5 windows a pass
    carries = [next(batches).carry for _ in range(12)]
    assert carries == [False] + [True] * 11


def test_compare_runs_every_cell_and_seed_and_draws_one_figure(tmp_path):
    out = tmp_path / "cmp"
    r = _run("temporal_xor", "--cell", "elman,dampened", "--seeds", "0,1", "--iters", "2",
             "--eval-every", "1", "-o", str(out), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = _strict_json(out / "compare.json")
    assert set(summary["cells"]) == {"elman", "dampened"} and summary["runs"] == [
        "elman-seed0", "elman-seed1", "dampened-seed0", "dampened-seed1"]
    for cell in ("elman", "dampened"):
        row = summary["cells"][cell]
        finals = [_strict_json(out / f"{cell}-seed{s}" / "results.json")["final"]["numbers"]["rms_ratio"]
                  for s in (0, 1)]
        assert row["runs"] == 2 and row["seeds"] == [0, 1] and row["final"] == finals
        assert row["median_final"] == pytest.approx(np.median(finals))
        line = next(ln for ln in r.stdout.splitlines() if ln.startswith(f"temporal_xor / {cell}: "))
        assert line.startswith(f"temporal_xor / {cell}: 0/2 seeds solved")
    assert (out / "compare.png").stat().st_size > 0
    assert _strict_json(out / "dampened-seed1" / "results.json")["settings"]["seed"] == 1
    r = _run("temporal_xor", "--cell", "elman,dampened", "--seeds", "0,1", "--iters", "2", "-o", str(out))
    assert r.returncode == 2 and "holds a previous run" in r.stderr


def test_the_progress_bar_says_the_run_stops_when_solved(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "train", "temporal_xor", "--iters", "3",
                        "-o", str(tmp_path / "p")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "stops when solved" in r.stderr


def test_gradient_flow_follows_the_training_truncation_and_shows_c_t():
    task = get_task("adding", steps=12)
    model = make_model(task, TrainConfig.for_task(task, hidden=3))
    batch = task.probe()
    full = gradient_flow(task, model, batch)
    assert full.shape == (batch.xs.shape[0], 2) and np.all(full[:, 0] > 0)   # h_t and c_t
    cut = gradient_flow(task, model, batch, truncate=4)
    T = batch.xs.shape[0]
    window = (T - 1) // 4 * 4                          # the last window starts after this many steps
    assert np.all(cut[window:, 0] > 0) and np.all(cut[: window - 1] == 0)
    assert np.allclose(cut[window:, 0], full[window:, 0])


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


def test_the_sequence_layer_gives_the_cells_loss_and_gradients():
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


def test_gradient_flow_probe_reaches_every_step_of_a_model_run_by_the_sequence_layer():
    """|dL/dh_t| on the probe: nonzero at every step; at t=1 equal to central differences."""
    task = get_task("adding", steps=12)
    model = make_model(task, TrainConfig.for_task(task, hidden=3, fused=True))
    batch = task.probe()
    B = batch.batch_size
    norms = gradient_flow(task, model, batch)[:, 0]          # column 1 is ||dL/dc_t||
    assert norms.shape == (batch.xs.shape[0],) and np.all(norms > 0)
    assert type(model._layer).__name__ == "LSTM" and all(p.grad is None for p in model.parameters())

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


@pytest.mark.parametrize("task_name, cell, options", [
    ("temporal_xor", "elman", {"truncate": 4}), ("adding", "lstm", {"steps": 12}),
    ("embedded_reber", "gru", {}), ("temporal_xor", "dampened", {})])
def test_train_with_the_sequence_layer_equals_the_primitive_cell(task_name, cell, options):
    """Same seed, same run: the default (the whole-sequence layer) and --no-fused (the cell's primitive
    ops) give the same losses, evaluations, gradient-flow curves and verdict."""
    runs = []
    for fused in (True, False):
        opts = dict(options)
        task = get_task(task_name, seed=0, steps=opts.pop("steps", None))
        config = TrainConfig.for_task(task, cell=cell, iters=20, eval_every=10, fused=fused, **opts)
        model, result = train(task, config, progress=False, log=lambda _: None)
        finish(task, model, result)
        runs.append((result, verdict(task, result)))
    (a, verdict_a), (b, verdict_b) = runs
    assert len(a.losses) == len(b.losses) == 20
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-9)
    np.testing.assert_allclose(a.grad_norms, b.grad_norms, rtol=1e-9)
    np.testing.assert_allclose(a.grad_flow_end, b.grad_flow_end, rtol=1e-8)
    assert [e["summary"] for e in a.evaluations] == [e["summary"] for e in b.evaluations]
    assert verdict_a[0].rsplit(";", 1)[0] == verdict_b[0].rsplit(";", 1)[0]  # all but the wall time
    assert verdict_a[1:] == verdict_b[1:]


def test_the_pytorch_twin_trains_the_same_task(tmp_path, capsys):
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import torch_twin
    out = tmp_path / "twin.json"
    assert torch_twin.main(["adding_modern", "--steps", "8", "--iters", "4", "--batch", "4",
                            "--eval-every", "2", "--hidden", "3", "--json", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert [e["sequences"] for e in rec["evaluations"]] == [8, 16]
    head = capsys.readouterr().out.splitlines()[-2]
    assert head.startswith("adding_modern / torch-lstm, seed 0: not solved (16 sequences); mse ")
    assert rec["settings"]["forget_bias"] == 5.0         # the task's default, as ours


def test_resume_rebuilds_the_task_as_it_was_built(tmp_path):
    out = tmp_path / "r"
    r = _run("embedded_reber", "--heldout", "--iters", "2", "--hidden", "4", "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = _run("embedded_reber", "--resume", str(out), "--iters", "3")
    assert r.returncode == 0, r.stderr
    res = _strict_json(out / "results.json")
    assert res["task_options"] == {"heldout": True} and res["iterations"] == 3
    assert res["final"]["numbers"]["test_strings_also_in_training"] == 0
