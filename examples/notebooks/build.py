"""The notebooks, made from the examples: examples/NN_name.py (`# %%` cells, the one source of truth)
-> examples/notebooks/NN_name.ipynb, through jupytext (`pip install -e '.[notebooks]'`).

    python examples/notebooks/build.py           # write every notebook (make notebooks)
    python examples/notebooks/build.py --check   # exit 1 naming each notebook that is not up to date

The notebooks hold no outputs and fixed cell ids, so the same scripts always make the same files.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def scripts() -> list[Path]:
    return sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))


def notebook_text(script: Path) -> str:
    """The .ipynb text of one `# %%` script: its cells, no outputs, ids "NN-cell-k"."""
    import jupytext
    import nbformat
    nb = jupytext.read(script, fmt="py:percent")
    nb.metadata = {"kernelspec": dict(KERNEL), "language_info": {"name": "python"}}
    for k, cell in enumerate(nb.cells):
        cell.id = f"{script.stem[:2]}-cell-{k}"  # nbformat would draw random ones
        cell.metadata = {}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return nbformat.writes(nb, version=4) + "\n"


def _write(path: Path, text: str) -> None:
    """Via a temporary file in the same folder and os.replace: never a half-written notebook."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for script in scripts():
        path = HERE / f"{script.stem}.ipynb"
        text = notebook_text(script)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            _write(path, text)
            print("wrote", path.relative_to(EXAMPLES.parent))
    extra = sorted({p.stem for p in HERE.glob("*.ipynb")} - {s.stem for s in scripts()})
    if stale or extra:
        print("not made from examples/*.py: " + ", ".join(stale + [f"{e}.ipynb" for e in extra])
              + " (run `make notebooks`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
