"""The docs stay true: every public name is in docs/api.md and has a docstring; the Python
blocks of docs/*.md and README.md run; every picture they show exists and is one that
`make docs` (docs/build.py) regenerates."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.experiments.tasks
import tinygrad_rnn.optim
import tinygrad_rnn.testing

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API = (DOCS / "api.md").read_text()
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
CODE_PAGES = [p for p in PAGES if "```python" in p.read_text()]  # pages with code to run
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python (or ```py) blocks, in order; ```text, ```sh and bare fences are skipped."""
    return [body for lang, body in FENCE.findall(markdown) if lang.strip().lower() in ("python", "py")]


def _public(module: ModuleType) -> list[str]:
    """`__all__`, or else the names a module defines itself (not the ones it imports)."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n, v in vars(module).items() if not n.startswith("_") and not inspect.ismodule(v)
            and getattr(v, "__module__", None) == module.__name__]


MODULES = {"tg": tg, "tg.nn": tg.nn, "tg.optim": tinygrad_rnn.optim, "tg.viz": tg.viz,
           "tg.testing": tinygrad_rnn.testing, "tg.experiments.tasks": tinygrad_rnn.experiments.tasks,
           "tg.nn.init": tg.nn.init}
NAMES = [(prefix, name) for prefix, module in MODULES.items() for name in _public(module)]


def test_the_walk_sees_the_contract():
    # the names the API reference promises are among those checked below (a broken walk would check nothing)
    walked = {f"{p}.{n}" for p, n in NAMES}
    for name in ("tg.Tensor", "tg.no_grad", "tg.gradcheck", "tg.nn.LSTMCell", "tg.nn.unroll",
                 "tg.optim.clip_grad_norm", "tg.optim.Adam", "tg.viz.draw", "tg.viz.grad_flow",
                 "tg.testing.check_op", "tg.experiments.tasks.AddingModern"):
        assert name in walked


@pytest.mark.parametrize("prefix,name", NAMES, ids=[f"{p}.{n}" for p, n in NAMES])
def test_public_name_is_documented_and_has_a_docstring(prefix, name):
    qualified = f"{prefix}.{name}"
    assert re.search(re.escape(qualified) + r"\b", API), f"{qualified} is not in docs/api.md"
    obj = getattr(MODULES[prefix], name)
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")  # its own, not one inherited from a base class
    elif inspect.ismodule(obj) or callable(obj):
        doc = obj.__doc__
    else:
        return  # a constant such as TASKS: documented in api.md, no docstring of its own
    assert doc and doc.strip(), f"{qualified} has no docstring"


CLASSES = [tg.Tensor, tg.Function, tg.nn.Module, tg.viz.Drawing, tg.viz.JacobianSpectrum,
           tinygrad_rnn.optim.Optimizer]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_public_members_of_the_main_classes_are_in_api_md(cls):
    members = [n for n in vars(cls) if not n.startswith("_")]
    if cls is tg.Tensor:
        members += list(cls.__slots__)
    if dataclasses.is_dataclass(cls):
        members += [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in members if not n.startswith("_") and not re.search(rf"[`.]{re.escape(n)}\b", API)]
    assert not missing, f"{cls.__name__} members missing from docs/api.md: {missing}"


def test_python_blocks_are_found_and_other_fences_skipped():
    page = ("intro\n```python\na = 1\n```\n```text\nnot code\n```\n```sh\nmake test\n```\n"
            "```\nbare\n```\n```py\nb = a + 1\n```\n")
    assert python_blocks(page) == ["a = 1\n", "b = a + 1\n"]


@pytest.mark.parametrize("page", CODE_PAGES, ids=lambda p: p.name)
def test_python_blocks_run_in_order(page, tmp_path, monkeypatch):
    blocks = python_blocks(page.read_text())
    monkeypatch.chdir(tmp_path)  # whatever a block writes lands here
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"{page.name} block {i}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"{page.name}, Python block {i} of {len(blocks)} fails: "
                                 f"{type(e).__name__}: {e}\n{block}") from e


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_build", DOCS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_picture_shown_exists_and_make_docs_rebuilds_it():
    build = _build_module()
    rebuilt = {name for pictures in build.PICTURES.values() for name in pictures.values()}
    rebuilt |= {name for _, files in build.COMMANDS for name in files}
    shown = set()
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.name} shows {target}, which does not exist"
            if path.parent == (DOCS / "images" / "results").resolve():
                continue  # drawn by `make results` from the recorded runs (tests/test_results_doc.py)
            assert path.parent == (DOCS / "images").resolve(), f"{page.name}: {target} is not in docs/images/"
            shown.add(path.name)
    assert shown <= rebuilt, f"pictures `make docs` does not regenerate: {sorted(shown - rebuilt)}"
    assert rebuilt <= shown, f"pictures `make docs` makes but no page shows: {sorted(rebuilt - shown)}"
    for name in build.PICTURES:
        assert (ROOT / "examples" / f"{name}.py").is_file()


def test_links_between_pages_resolve():
    for page in PAGES:
        for target in re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s#]+\.md)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).is_file(), f"{page.name} links to {target}, which does not exist"
