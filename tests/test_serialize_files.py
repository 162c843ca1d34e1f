"""tg.save treats the file as an editor would (through symlinks, keeping its mode, refusing a
read-only one, cleaning up after a killed writer, long names), every key round-trips, and a
crafted file is a CheckpointError, never a raw ValueError/TypeError/MemoryError."""

import io
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import tinygrad_rnn as tg

STATE = {"W": np.arange(6.0).reshape(2, 3), "b": np.ones(3, np.float32)}


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert a[k].dtype == b[k].dtype


def test_checkpoint_error_is_exported_and_a_value_error():
    assert tg.CheckpointError is tg.serialize.CheckpointError and "CheckpointError" in tg.__all__
    assert issubclass(tg.CheckpointError, ValueError)


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    tg.save({"W": np.zeros(2)}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    tg.save(STATE, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    _same(tg.load(target), STATE)
    assert sorted(os.listdir(tmp_path / "real")) == ["model.npz"]


def test_an_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "secret.npz"
    tg.save(STATE, path)
    os.chmod(path, 0o600)
    tg.save(STATE, path)                  # used to come back as 0644
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_read_only_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "frozen.npz"
    tg.save({"W": np.zeros(2)}, path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    with pytest.raises(PermissionError, match="save: .*frozen.npz is read-only"):
        tg.save(STATE, path)              # used to replace it
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["frozen.npz"]


@pytest.mark.parametrize("length", [242, 250, 255])
def test_names_up_to_the_filesystem_limit_work(tmp_path, length):
    path = tmp_path / ("m" * (length - 4) + ".npz")
    tg.save(STATE, path)                  # the temporary name used to be too long
    _same(tg.load(path), STATE)
    assert os.listdir(tmp_path) == [path.name]


def test_the_temporary_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "model.npz"
    child = textwrap.dedent(f"""
        import time, numpy as np, tinygrad_rnn as tg
        def slow(f, *a, **k):
            f.write(b"half")
            f.flush()
            time.sleep(60)
        np.lib.format.write_array = slow
        tg.save({{"W": np.zeros(2)}}, {str(path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 60
        while not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
            assert proc.poll() is None and time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]   # kill -9 leaves it behind
    tg.save(STATE, path)
    assert os.listdir(tmp_path) == ["model.npz"]
    _same(tg.load(path), STATE)


def test_a_temporary_file_of_a_running_writer_is_left_alone(tmp_path):
    live = tmp_path / f".model.npz.{os.getppid()}.0123abcd.tmp"   # our parent runs
    live.write_bytes(b"in progress")
    tg.save(STATE, tmp_path / "model.npz")
    assert live.exists()


@pytest.mark.parametrize("keys", [["allow_pickle"], ["file"], ["a", "a.npy"], ["a.npy", "a"],
                                  ["x/y", "", "é"]])
def test_every_key_round_trips(tmp_path, keys):
    state = {k: np.full(i + 1, float(i)) for i, k in enumerate(keys)}
    tg.save(state, tmp_path / "k.npz")    # allow_pickle was dropped, file a TypeError, a.npy read a's array
    _same(tg.load(tmp_path / "k.npz"), state)


def _npy(header_shape, dtype="<f8", data=b"\0" * 16):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": header_shape})
    return buf.getvalue() + data


def _craft(path, members):
    with zipfile.ZipFile(path, "w") as z:
        tag = "tinygrad_rnn.checkpoint".encode("utf-32-le")
        z.writestr("__tinygrad_rnn_format__.npy", _npy((), "<U23", tag))
        for name, raw in members.items():
            z.writestr(name, raw)


def test_crafted_files_raise_checkpoint_error(tmp_path):
    np.savez(tmp_path / "v.npz", __tinygrad_rnn_format__=np.array("tinygrad_rnn.checkpoint"),
             __tinygrad_rnn_version__=np.array("abc"), W=np.zeros(2))
    with pytest.raises(tg.CheckpointError, match="no readable checkpoint format version.*'abc'"):
        tg.load(tmp_path / "v.npz")
    version = _npy((), "<i8", np.array(1).tobytes())
    cases = {
        "huge": {"__tinygrad_rnn_version__.npy": version, "W.npy": _npy((10**13,))},   # a MemoryError before
        "overflow": {"__tinygrad_rnn_version__.npy": version, "W.npy": _npy((2**62, 2**62))},
        "object": {"__tinygrad_rnn_version__.npy": version, "W.npy": _npy((2,), "|O")},
        "not npy": {"__tinygrad_rnn_version__.npy": version, "W.txt": b"hello"},
        "no version": {"W.npy": _npy((2,))},
    }
    for name, members in cases.items():
        path = tmp_path / f"{name}.npz"
        _craft(path, members)
        with pytest.raises(tg.CheckpointError, match=f"{name}.npz"):
            tg.load(path)
    _craft(tmp_path / "fine.npz", {"__tinygrad_rnn_version__.npy": version, "W.npy": _npy((2,))})
    _same(tg.load(tmp_path / "fine.npz"), {"W": np.zeros(2)})   # the crafting itself is right


def test_a_missing_folder_or_a_folder_as_target_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: the folder .*nowhere does not exist"):
        tg.save(STATE, tmp_path / "nowhere" / "m.npz")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        tg.save(STATE, tmp_path)
