"""Checkpoints: `save` a module's state dict (or a dict of arrays) to .npz, `load` it back.

The file is an ordinary .npz holding one array per state-dict key plus two metadata entries
(a format tag and a version). It is written to a temporary file in the same folder and then
renamed over the target, so a crash mid-write never leaves a half-written checkpoint.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

FORMAT_TAG = "tinygrad_rnn.checkpoint"
FORMAT_VERSION = 1
_TAG_KEY, _VERSION_KEY = "__tinygrad_rnn_format__", "__tinygrad_rnn_version__"


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_rnn checkpoint (corrupt, truncated or foreign)."""


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write obj's state dict (obj a Module, or a mapping name -> array) to path, atomically.

    The path is used exactly as given (no ".npz" is appended).
    """
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expects a Module or a mapping of name -> array, got {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    for k, v in state.items():
        if not isinstance(k, str) or k.startswith("__tinygrad_rnn"):
            raise ValueError(f"save: state-dict keys must be strings not starting with "
                             f"'__tinygrad_rnn', got {k!r}")
        a = np.asarray(getattr(v, "data", v))
        if a.dtype.kind not in "fiub":
            raise TypeError(f"save: {k!r} has dtype {a.dtype}; only numeric arrays can be saved")
        arrays[k] = a
    arrays[_TAG_KEY] = np.array(FORMAT_TAG)
    arrays[_VERSION_KEY] = np.array(FORMAT_VERSION)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The state dict saved at path: {name: array}, in the saved order.

    Give it to `module.load_state_dict(...)`. Raises `CheckpointError` (a ValueError) naming
    the path if the file is corrupt, truncated or not a tinygrad_rnn checkpoint.
    """
    path = os.fspath(path)
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise CheckpointError(f"load: {path} holds a bare .npy array, not a tinygrad_rnn checkpoint")
        with npz:
            data = {k: npz[k] for k in npz.files}  # reads every member: a truncated one fails here
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as e:
        if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise CheckpointError(f"load: {path} is not a readable tinygrad_rnn checkpoint (corrupt or "
                              f"truncated file?): {type(e).__name__}: {e}") from e
    tag = data.pop(_TAG_KEY, None)
    version = data.pop(_VERSION_KEY, None)
    if tag is None or tag.shape != () or str(tag) != FORMAT_TAG:
        raise CheckpointError(f"load: {path} is a .npz file but not a tinygrad_rnn checkpoint "
                              f"(no '{FORMAT_TAG}' format tag); was it written by tg.save?")
    if version is None or int(version) > FORMAT_VERSION:
        raise CheckpointError(f"load: {path} has checkpoint format version {version}, newer than this "
                              f"tinygrad_rnn reads ({FORMAT_VERSION}); upgrade tinygrad_rnn")
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
