"""Replacing a file the way a careful editor does: write a temporary file beside the target,
flush it to disk, rename it over the target. A crash mid-write leaves the old file whole.

Also as an editor does: a symlink is written through to its target (the link stays a link), an
existing file keeps its permission bits, a read-only file is refused, and the temporary files of
an earlier writer that was killed (its process no longer runs) are removed on the next write.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

_LONG = 120  # names longer than this are shortened in temporary names (NAME_MAX is 255)


@contextmanager
def replacing(path: str | os.PathLike, who: str = "write") -> Iterator[BinaryIO]:
    """A binary file to write; on leaving the block without an error it atomically replaces path.

    who names the caller in error messages (e.g. "save").
    """
    given = os.fspath(path)
    target = os.path.realpath(given)  # through symlinks, as editors write
    folder, name = os.path.split(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"{who}: the folder {folder} does not exist; create it first",
                                given)
    mode = _existing_mode(target, given, who)
    _remove_stale(folder, name)
    tmp = os.path.join(folder, f"{_temp_stem(name)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _existing_mode(target: str, given: str, who: str) -> int | None:
    """The permission bits to keep (None for a new file); refuses a folder and a read-only file."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{who}: {given} is a folder; give a file name", given)
    mode = stat.S_IMODE(st.st_mode)
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):  # by the mode bits, root included
        raise PermissionError(errno.EACCES, f"{who}: {given} is read-only (mode {mode:o}); make it "
                              "writable (chmod u+w) or write elsewhere", given)
    return mode


def _temp_stem(name: str) -> str:
    """'.NAME', with a long NAME cut and a hash of it added, so the temporary name fits in 255 bytes."""
    if len(name.encode()) > _LONG:
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        name = name.encode()[:_LONG - 20].decode(errors="ignore") + "~" + digest
    return "." + name


def _remove_stale(folder: str, name: str) -> None:
    """Delete this target's temporary files whose writing process no longer runs."""
    pattern = re.compile(re.escape(_temp_stem(name)) + r"\.(\d+)\.[0-9a-f]{8}\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return  # the write itself will report the folder's problem
    for entry in entries:
        m = pattern.fullmatch(entry)
        if m and not _running(int(m.group(1))):
            try:
                os.unlink(os.path.join(folder, entry))
            except OSError:
                pass  # another writer removed it first, or it is not ours to remove


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):  # no such process (a pid too large for any)
        return False
    except OSError:
        return True  # exists, but belongs to someone else
    return True


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable; not every system can open a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
