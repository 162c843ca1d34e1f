"""Checkpoints: round trip, clear errors for damaged or foreign files, atomic writes."""

import os

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.serialize import CheckpointError


def test_module_round_trip(tmp_path):
    cell = tg.nn.LSTMCell(3, 4, rng=0, dtype=np.float32)
    path = tmp_path / "lstm.npz"
    tg.save(cell, path)
    loaded = tg.load(path)
    assert list(loaded) == ["W", "U", "b"]
    other = tg.nn.LSTMCell(3, 4, rng=1, dtype=np.float32)
    other.load_state_dict(tg.load(str(path)))
    for p, q in zip(cell.parameters(), other.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        assert q.dtype == np.float32


def test_a_plain_dict_round_trips_with_dtypes_and_exact_path(tmp_path):
    state = {"a.W": np.arange(6.0).reshape(2, 3), "steps": np.array(7), "mask": np.array([True, False])}
    path = tmp_path / "ckpt.bin"                        # no ".npz" gets appended
    tg.save(state, path)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.bin"]   # and no temporary file is left behind
    back = tg.load(path)
    assert back.keys() == state.keys()
    for k in state:
        np.testing.assert_array_equal(back[k], state[k])
        assert back[k].dtype == state[k].dtype


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file_raises_a_clear_error_naming_the_path(tmp_path, keep):
    path = tmp_path / "cell.npz"
    tg.save(tg.nn.ElmanCell(5, 6, rng=0), path)
    raw = path.read_bytes()
    path.write_bytes(raw[:int(len(raw) * keep)])
    with pytest.raises(CheckpointError, match="cell.npz") as info:
        tg.load(path)
    assert isinstance(info.value, ValueError) and "truncated" in str(info.value)


def test_corrupted_bytes_are_detected(tmp_path):
    path = tmp_path / "cell.npz"
    tg.save(tg.nn.ElmanCell(5, 6, rng=0), path)
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 8] = b"\xff" * 8   # inside an array's bytes: the zip CRC must catch it
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="cell.npz"):
        tg.load(path)


def test_foreign_files_are_refused_clearly(tmp_path):
    np.savez(tmp_path / "other.npz", W=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a tinygrad_rnn checkpoint"):
        tg.load(tmp_path / "other.npz")
    np.save(tmp_path / "bare.npy", np.zeros(2))
    with pytest.raises(CheckpointError, match="bare .npy"):
        tg.load(tmp_path / "bare.npy")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="notes.txt"):
        tg.load(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.npz")


def test_a_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = tg.nn.ElmanCell(2, 3, rng=0)
    tg.save(old, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):   # the disk fills up half way through writing
        f = args[0]
        f.write(b"\x93NUMPY half an array")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(OSError, match="No space"):
        tg.save(tg.nn.ElmanCell(2, 3, rng=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]       # the temporary file is cleaned up
    np.testing.assert_array_equal(tg.load(path)["W"], old.W.data)


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="Module or a mapping"):
        tg.save([1, 2], tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dtype"):
        tg.save({"name": np.array(["a"])}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="keys"):
        tg.save({"__tinygrad_rnn_format__": np.zeros(1)}, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)
