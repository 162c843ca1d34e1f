"""bench/instructions.py reads valgrind's summaries right, and its inputs are checked; one
implementation can be built alone (a valgrind run should not import the peers)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import baselines, cells, instructions  # noqa: E402

CALLGRIND = """==123== Events    : Ir
==123== Collected : 6185759207
==123==
==123== I   refs:      6,185,759,207
"""
CACHEGRIND = """==42== I   refs:      6,187,027,114
==42== I1  misses:         1,234,567
==42== D   refs:      2,706,522,273  (1,781,353,766 rd   + 925,168,507 wr)
==42== D1  misses:       91,791,539  (   78,393,801 rd   +  13,397,738 wr)
==42== LLd misses:       35,464,273  (   29,208,899 rd   +   6,255,374 wr)
"""


def test_parse_reads_each_tools_summary():
    assert instructions.parse("callgrind", CALLGRIND) == {"instructions": 6_185_759_207}
    assert instructions.parse("cachegrind", CACHEGRIND) == {
        "instructions": 6_187_027_114, "D1 misses": 91_791_539, "LL data misses": 35_464_273}


def test_parse_names_what_is_missing():
    with pytest.raises(ValueError, match="no 'LL data misses' in cachegrind's report"):
        instructions.parse("cachegrind", CACHEGRIND.replace("LLd", "LL?"))


@pytest.mark.parametrize("argv, message", [
    (["elman", "tiny", "numpy", "--calls", "3", "1"], "--calls: need 0 <= N1 < N2, got 3 1"),
    (["elman", "tiny", "numpy", "--cache", "64"], "--cache: a cache size in bytes"),
])
def test_bad_arguments_exit_2_with_the_reason(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        instructions.main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_one_implementation_is_built_alone_and_does_the_baselines_work():
    p, xs = cells._problem("elman", cells.SIZES["tiny"], np.float64)
    step = cells.implementation("tinygrad sequence", "elman", p, xs)
    assert step() == pytest.approx(baselines.elman(p, xs)[0], rel=1e-12)
    with pytest.raises(ValueError, match="bench: unknown implementation 'jax'"):
        cells.implementation("jax", "elman", p, xs)
