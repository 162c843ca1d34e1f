"""bench/run.py --quick never writes over the committed docs/benchmarks.md."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import run  # noqa: E402


def test_a_quick_run_writes_under_out_and_a_full_one_to_docs():
    committed = ROOT / "docs" / "benchmarks.md"
    quick = run.report_path(quick=True, out=None)
    assert quick != committed and quick.parent == ROOT / "out"
    assert run.report_path(quick=False, out=None) == committed
    assert run.report_path(quick=True, out="x/report.md") == Path("x/report.md")   # --out still wins

