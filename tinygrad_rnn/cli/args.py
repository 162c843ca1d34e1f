"""argparse types shared by the subcommands: each rejects bad text with a one-line reason."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path


def positive_int(text: str) -> int:
    """An int >= 1."""
    return _whole_number(text, 1)


def nonneg_int(text: str) -> int:
    """An int >= 0 (seeds)."""
    return _whole_number(text, 0)


def _whole_number(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {value}")
    return value


def nonneg_float(text: str) -> float:
    """A finite float >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def output_path(*suffixes: str) -> Callable[[str], Path]:
    """A file to write, whose extension is one of suffixes, in a folder that exists and is writable
    (checked before any work: the folder is not created)."""
    def check(text: str) -> Path:
        p = Path(text)
        if p.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text!r} must end in one of {', '.join(suffixes)}")
        if p.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name")
        _writable_folder(p.parent, text, missing="does not exist (create it first)")
        return p
    return check


def output_folder(text: str) -> Path:
    """A folder to write into: it exists, or it can be made inside its nearest existing ancestor."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write into {text!r}: it is a file, not a folder")
    ancestor = p.absolute()
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    _writable_folder(ancestor, text, missing="does not exist")
    return p


def _writable_folder(folder: Path, text: str, missing: str) -> None:
    folder = folder if str(folder) else Path(".")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else missing
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {folder} {what}")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {folder} is not writable")


def int_list(text: str) -> list[int]:
    """Whole numbers >= 0 separated by commas, e.g. "0,1,2"; no repeats."""
    values = [nonneg_int(part.strip()) for part in text.split(",")]
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{text!r} repeats a value")
    return values


def name_list(choices: list[str]) -> Callable[[str], list[str]]:
    """One or more of choices separated by commas, e.g. "lstm,elman"; no repeats."""
    def check(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",")]
        bad = [n for n in names if n not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(map(repr, bad))}; choose from "
                                             f"{', '.join(choices)} (several separated by commas)")
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"{text!r} repeats a name")
        return names
    return check
