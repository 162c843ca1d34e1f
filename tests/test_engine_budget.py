"""The engine stays a textbook: its line budgets, the counts the architecture page gives, and none of
the interpreter-level tricks a reader would trip over."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "tinygrad_rnn" / "engine"


def _lines(name: str) -> int:
    return len((ENGINE / f"{name}.py").read_text().splitlines())


def test_the_core_fits_in_one_sitting():
    assert _lines("tensor") + _lines("function") + _lines("autograd") <= 300
    assert _lines("ops") <= 350


def test_the_architecture_page_gives_the_real_line_counts():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for name in ("tensor", "function", "autograd", "ops", "context"):
        m = re.search(rf"`engine/{name}\.py` \((\d+)", text)
        assert m and int(m.group(1)) == _lines(name), name
    core = _lines("tensor") + _lines("function") + _lines("autograd")
    assert f"{core} lines together" in text


def test_no_interpreter_tricks_or_process_wide_settings_in_the_engine():
    banned = ["object.__new__", "__class__ is", "attrgetter", "import gc", "gc.disable", "mallopt", "ctypes",
              "matplotlib", "threading.Lock"]
    for path in ENGINE.glob("*.py"):
        text = path.read_text()
        for word in banned:
            assert word not in text, f"{path.name} uses {word}"
