"""retain_freed_memory: freed memory is reused, so repeated passes stop page-faulting."""

import platform
import subprocess
import sys

import pytest

from tinygrad_rnn.speed import memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A forward + backward pattern in miniature: build up 40 fresh 256 KiB arrays, drop them all, again.
_FAULTS = """
import resource, sys
import numpy as np
from tinygrad_rnn.speed import memory
if sys.argv[1] == "retain":
    assert memory.retain_freed_memory()
if sys.argv[1] == "library":  # the library in use, without opting in
    import gc
    import tinygrad_rnn as tg
    thresholds = gc.get_threshold()
    hs, _ = tg.nn.unroll(tg.nn.LSTMCell(2, 3, rng=0), np.ones((5, 2, 2)))
    tg.stack(hs).sum().backward()
    assert memory.retained() is None and gc.isenabled() and gc.get_threshold() == thresholds
def rounds(n):
    for _ in range(n):
        kept = [np.ones((32, 1024)) for _ in range(40)]
        del kept
rounds(2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds(10)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_retained_memory_is_reused_without_page_faults():
    system, retained = _faults("system"), _faults("retain")
    assert system > 10 * 40 * 64 * 0.5  # the system allocator faults most of the 64 pages of each array in
    assert retained < system / 20


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_using_the_library_changes_neither_malloc_nor_the_collector():
    system, library = _faults("system"), _faults("library")
    assert library > system / 2  # freed memory still goes back to the system: faulted in again


def test_retain_rejects_a_bad_limit():
    with pytest.raises(ValueError, match="retain_freed_memory: limit must be a byte count"):
        memory.retain_freed_memory(-1)
    with pytest.raises(ValueError, match="got 1.5"):
        memory.retain_freed_memory(1.5)
