"""The notebooks: examples/notebooks/*.ipynb are what examples/notebooks/build.py makes from the
`# %%` scripts, and each runs to the end in a real Jupyter kernel (nbclient + ipykernel, the
`nbtest` extra; skipped without them) in reduced mode (TG_QUICK=1): no error output, every cell
ending in a drawing shows it (image/svg+xml or text/html), every plotting cell shows an image.
The runtime of each notebook is printed on the terminal as it finishes (also under -q)."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "examples" / "notebooks"
NAMES = sorted(p.stem for p in (ROOT / "examples").glob("[0-9][0-9]_*.py"))
TIMEOUT = 240  # seconds per cell, on a loaded 2-core machine
DRAWS = re.compile(r"\b(draw|page|save)\(")  # a cell that makes a drawing or the page
PLOTS = re.compile(r"\b(plot_\w+|figure)\(")  # a cell that makes a matplotlib figure

needs_jupytext = pytest.mark.skipif(importlib.util.find_spec("jupytext") is None,
                                    reason="jupytext not installed (pip install -e '.[notebooks]')")
needs_kernel = pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("nbclient", "ipykernel")),
                                  reason="nbclient/ipykernel not installed (pip install -e '.[nbtest]')")


def _build():
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import build
    finally:
        sys.path.remove(str(NOTEBOOKS))
    return build


@needs_jupytext
def test_checked_in_notebooks_are_what_the_generator_makes_from_the_scripts():
    build = _build()
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    for name in NAMES:
        made = build.notebook_text(ROOT / "examples" / f"{name}.py")
        assert (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8") == made, \
            f"{name}.ipynb differs from examples/{name}.py: run `make notebooks`"
    assert build.main(["--check"]) == 0


def _ends_in_expression(source: str) -> bool:
    """The cell's last statement is a bare expression (not a print): Jupyter displays its value."""
    body = ast.parse(source).body
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    v = body[-1].value
    return not (isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "print")


def _display_types(cell) -> set[str]:
    return {k for o in cell.outputs if o.output_type in ("display_data", "execute_result") for k in o.data}


@pytest.fixture(scope="module")
def executed(tmp_path_factory, request):
    """Every notebook run top to bottom in a fresh python3 kernel, two at a time (two cores):
    {name: (notebook, seconds)}."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    mp = pytest.MonkeyPatch()
    mp.setenv("TG_QUICK", "1")  # the kernels inherit the environment
    mp.delenv("MPLBACKEND", raising=False)  # let ipykernel choose its inline backend
    mp.delenv("TG_OUT", raising=False)
    done = {}
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(line: str) -> None:  # on the terminal even while pytest captures output
        if capture is None:
            print(line)
            return
        with capture.global_and_fixture_disabled():
            print(line, flush=True)

    async def run(name: str, slots: asyncio.Semaphore) -> None:
        async with slots:
            nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
            cwd = tmp_path_factory.mktemp(name)
            client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", allow_errors=True,
                                             resources={"metadata": {"path": str(cwd)}})
            start = time.perf_counter()
            await client.async_execute()
            done[name] = (nb, time.perf_counter() - start)
            say(f"notebook {name}: {done[name][1]:.1f} s")

    async def run_all() -> None:
        slots = asyncio.Semaphore(2)
        await asyncio.gather(*(run(name, slots) for name in NAMES))

    start = time.perf_counter()
    try:
        asyncio.run(run_all())
    finally:
        mp.undo()
    say(f"notebooks: {time.perf_counter() - start:.1f} s in all (two kernels at a time)")
    return done


@needs_kernel
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_a_kernel_and_shows_its_pictures(executed, name):
    nb, _ = executed[name]
    code = [c for c in nb.cells if c.cell_type == "code"]
    for k, cell in enumerate(code):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name}, code cell {k}: {errors[0].ename}: {errors[0].evalue}\n{cell.source}"
        stderr = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr")
        assert "Traceback" not in stderr and "Error" not in stderr, f"{name}, code cell {k}: {stderr}"
        shown = _display_types(cell)
        if PLOTS.search(cell.source):
            assert "image/png" in shown, f"{name}, code cell {k} plots but shows no image:\n{cell.source}"
        elif DRAWS.search(cell.source) and _ends_in_expression(cell.source):
            assert shown & {"image/svg+xml", "text/html"}, \
                f"{name}, code cell {k} ends in a drawing but shows none:\n{cell.source}"


def test_the_picture_checks_have_cells_to_check():
    """The per-cell checks above are not vacuous: the scripts have plotting cells and cells that
    end in a drawing (or the page)."""
    cells = [c for name in NAMES for c in (ROOT / "examples" / f"{name}.py").read_text().split("\n# %%")
             if not c.startswith(" [markdown]")]
    assert sum(bool(PLOTS.search(c)) for c in cells) >= 5
    assert sum(bool(DRAWS.search(c)) and _ends_in_expression(c.split("\n", 1)[1]) for c in cells) >= 6
