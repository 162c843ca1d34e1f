"""retain_freed_memory: freed memory is reused, so repeated passes stop page-faulting."""

import os
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
def test_retain_reports_what_it_applied():
    assert memory.retain_freed_memory(1 << 30) is True
    assert memory.retained() == 1 << 30


def test_retain_rejects_a_bad_limit():
    with pytest.raises(ValueError, match="retain_freed_memory: limit must be a byte count"):
        memory.retain_freed_memory(-1)
    with pytest.raises(ValueError, match="got 1.5"):
        memory.retain_freed_memory(1.5)


# What a process that imports the library sees: the limit in force before and after one backward().
_AUTO = """
import sys
import tinygrad_rnn as tg
if sys.argv[1] == "own":
    tg.speed.memory.retain_freed_memory(1 << 20)
before = tg.speed.memory.retained()
x = tg.Tensor([1.0, 2.0], requires_grad=True)
(x * x).sum().backward()
print(before, tg.speed.memory.retained())
"""


def _auto(mode: str, env_value: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != memory.ENV_VAR}
    if env_value is not None:
        env[memory.ENV_VAR] = env_value
    out = subprocess.run([sys.executable, "-c", _AUTO, mode], capture_output=True, text=True, check=True,
                         env=env)
    return out.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_the_first_backward_turns_retain_on_and_import_alone_does_not():
    assert _auto("plain") == f"None {1 << 30}"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_choice_made_before_the_first_backward_is_kept():
    assert _auto("own") == f"{1 << 20} {1 << 20}"  # the process's own limit is not overridden
    assert _auto("plain", env_value="0") == "None None"  # the environment variable opts out
    assert _auto("plain", env_value="1") == f"None {1 << 30}"
