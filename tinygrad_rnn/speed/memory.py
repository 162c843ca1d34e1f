"""Keeping freed memory for reuse, so that repeated forward + backward passes stop page-faulting.

Every op returns a new numpy array and a graph keeps them all until it is dropped. glibc's malloc
serves arrays of 128 KiB and more from fresh mmap pages and hands freed heap back to the system, so
each pass touches new pages again: a page fault costs microseconds, more than the arithmetic of an
elementwise op on a (32, 512) array. `retain_freed_memory()` asks malloc to keep that memory instead,
as a framework's caching allocator would. It is process-wide, so the library never calls it on its
own: a program opts in (the `tinygrad-rnn train` command and `make bench` do).
"""

from __future__ import annotations

import ctypes
import platform

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc refuses larger on 64-bit systems

_retained: int | None = None


def retain_freed_memory(limit: int = 1 << 30) -> bool:
    """Keep up to `limit` bytes of freed memory for reuse, and take arrays up to 32 MiB from it.

    Process-wide (glibc mallopt): the process keeps that much memory after graphs are freed.
    Returns True if applied, False where malloc is not glibc's (nothing changes there).
    """
    global _retained
    if not isinstance(limit, int) or limit < 0:
        raise ValueError(f"retain_freed_memory: limit must be a byte count >= 0, got {limit!r}")
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    ok = libc.mallopt(_M_TRIM_THRESHOLD, min(limit, 2**31 - 1)) == 1
    ok = ok and libc.mallopt(_M_MMAP_THRESHOLD, min(limit, _MMAP_THRESHOLD_MAX)) == 1
    if ok:
        _retained = limit
    return ok


def retained() -> int | None:
    """The limit given to the last successful retain_freed_memory() call, or None."""
    return _retained
