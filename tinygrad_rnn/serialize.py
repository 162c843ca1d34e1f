"""Checkpoints: `save` a module's state dict (or a dict of arrays) to .npz, `load` it back.

The file is an ordinary .npz (`np.load` reads it): one `KEY.npy` member per state-dict key plus
two metadata entries (a format tag and a version). Every key round-trips, also `file`,
`allow_pickle` or `a` beside `a.npy`: members are written and read by name here, not through
np.savez's keyword arguments or NpzFile's name guessing. Writing goes through `files.replacing`:
atomic, through symlinks, keeping the file's mode, refusing a read-only file.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from .files import replacing

FORMAT_TAG = "tinygrad_rnn.checkpoint"
FORMAT_VERSION = 1
_TAG_KEY, _VERSION_KEY = "__tinygrad_rnn_format__", "__tinygrad_rnn_version__"
_NPY_MAGIC = b"\x93NUMPY"


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_rnn checkpoint (corrupt, truncated, crafted or foreign)."""


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write obj's state dict (obj a Module, or a mapping name -> array) to path, atomically.

    The path is used exactly as given (no ".npz" is appended). A symlink is written through to its
    target; an existing file keeps its permissions; a read-only file is refused (PermissionError).
    """
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expects a Module or a mapping of name -> array, got {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    for k, v in state.items():
        if not isinstance(k, str) or k.startswith("__tinygrad_rnn") or "\0" in k:
            raise ValueError(f"save: state-dict keys must be strings without NUL characters, not starting "
                             f"with '__tinygrad_rnn'; got {k!r}")
        try:
            a = np.asarray(getattr(v, "data", v))
        except ValueError as e:  # a ragged list
            raise TypeError(f"save: {k!r} is not an array: {e}") from None
        if a.dtype.kind not in "fiub":
            raise TypeError(f"save: {k!r} has dtype {a.dtype}; only numeric arrays can be saved")
        arrays[k] = a
    arrays[_TAG_KEY] = np.array(FORMAT_TAG)
    arrays[_VERSION_KEY] = np.array(FORMAT_VERSION)
    with replacing(path, "save") as f:
        _write_npz(f, arrays)


def _write_npz(f: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """What np.savez writes, with the member names taken from the keys as they are."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for k, a in arrays.items():
            with z.open(k + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The state dict saved at path: {name: array}, in the saved order.

    Give it to `module.load_state_dict(...)`. Raises `CheckpointError` (a ValueError) naming
    the path if the file is corrupt, truncated, crafted or not a tinygrad_rnn checkpoint.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            if f.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise CheckpointError(f"load: {path} holds a bare .npy array, not a tinygrad_rnn checkpoint")
        with zipfile.ZipFile(path) as z:
            data = _read_members(z, path)
    except (CheckpointError, FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, KeyError, TypeError,
            NotImplementedError, RuntimeError) as e:  # the last two: an unknown compression, encryption
        raise CheckpointError(f"load: {path} is not a readable tinygrad_rnn checkpoint (corrupt or "
                              f"truncated file?): {type(e).__name__}: {e}") from e
    tag = data.pop(_TAG_KEY, None)
    version = data.pop(_VERSION_KEY, None)
    if tag is None or tag.shape != () or str(tag) != FORMAT_TAG:
        raise CheckpointError(f"load: {path} is a .npz file but not a tinygrad_rnn checkpoint "
                              f"(no '{FORMAT_TAG}' format tag); was it written by tg.save?")
    if version is None or version.shape != () or version.dtype.kind not in "iu" or int(version) < 1:
        got = None if version is None else repr(version.tolist())
        raise CheckpointError(f"load: {path} has no readable checkpoint format version (got {got}); "
                              "was it written by tg.save?")
    if int(version) > FORMAT_VERSION:
        raise CheckpointError(f"load: {path} has checkpoint format version {int(version)}, newer than this "
                              f"tinygrad_rnn reads ({FORMAT_VERSION}); upgrade tinygrad_rnn")
    for k, a in data.items():
        if a.dtype.kind not in "fiub":
            raise CheckpointError(f"load: {path}: {k!r} has dtype {a.dtype}; a checkpoint holds numbers only")
    return data


def _read_members(z: zipfile.ZipFile, path: str) -> dict[str, np.ndarray]:
    data: dict[str, np.ndarray] = {}
    size = os.path.getsize(path)
    for info in z.infolist():
        key = info.filename[:-4]
        if not info.filename.endswith(".npy") or key in data:
            raise CheckpointError(f"load: {path}: member {info.filename!r} is not one array of a "
                                  "tinygrad_rnn checkpoint (not .npy, or a second member of that name)")
        # sizes a crafted header cannot fake: the bytes the member claims must be in the file
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else 1100  # deflate: at most ~1032 to 1
        if info.compress_size > size or info.file_size > ratio * info.compress_size + 1024:
            raise CheckpointError(f"load: {path}: member {info.filename!r} claims {info.file_size} bytes, "
                                  f"more than the file ({size} bytes) can hold")
        with z.open(info) as member:
            data[key] = _read_array(member, info, path)
    return data


def _read_array(member: Any, info: zipfile.ZipInfo, path: str) -> np.ndarray:
    """One .npy member, its header checked against the member's size before any memory is taken."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise CheckpointError(f"load: {path}: member {info.filename!r} has .npy version {version}, "
                              "which tg.save never writes")
    if dtype.hasobject or dtype.kind not in "fiubU":
        raise CheckpointError(f"load: {path}: {info.filename!r} has dtype {dtype}; checkpoints hold numbers")
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: a crafted shape cannot overflow
    if member.tell() + nbytes != info.file_size:
        raise CheckpointError(f"load: {path}: {info.filename!r} claims shape {shape} of {dtype} "
                              f"({nbytes} bytes) but holds {info.file_size - member.tell()} bytes of data")
    buf = bytearray(nbytes)
    view, done = memoryview(buf), 0
    while done < nbytes:
        n = member.readinto(view[done:])
        if not n:
            raise CheckpointError(f"load: {path}: {info.filename!r} is truncated")
        done += n
    member.read(1)  # reaching the end checks the member's CRC
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order="F" if fortran else "C")
