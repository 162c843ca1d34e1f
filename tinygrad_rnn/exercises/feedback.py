"""What the checker tells a student: a wrong answer names the quantity, the element, the expected and
the received value, and a hint drawn from what the received value looks like."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

RTOL, ATOL = 1e-6, 1e-9  # a hand-written gradient in float64 agrees with the engine's to rounding


class WrongAnswer(Exception):
    """The student's answer differs from the engine's; str() is the feedback to print."""


def close(got: Any, expected: Any) -> bool:
    """Same shape and allclose to the checker's tolerances."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=RTOL, atol=ATOL))


def as_array(value: Any, what: str) -> np.ndarray:
    """The student's value as a float array, or a WrongAnswer saying what came back instead."""
    if value is None:
        raise WrongAnswer(f"{what}: got None. Did you forget to `return` it?")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{what}: expected an array of numbers, got a {type(value).__name__}") from None


def mismatch(what: str, got: Any, expected: Any) -> str | None:
    """None when got matches expected; else 'what: element (i, j): expected .., got ..'."""
    got, expected = as_array(got, what), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return f"{what}: expected shape {expected.shape}, got shape {got.shape}"
    if close(got, expected):
        return None
    bad = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    k = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
    where = f"element {k}" if k else "value"
    return f"{what}: {where}: expected {expected[k]:.6g}, got {got[k]:.6g}"


Hint = tuple[str, Callable[[], Any]]  # (what to say, the value a student with that mistake gets)


def diagnose(got: Any, hints: Sequence[Hint]) -> str | None:
    """The first hint whose typical wrong value equals got (each candidate is computed lazily)."""
    got = np.asarray(got, dtype=float)
    for text, candidate in hints:
        try:
            value = np.asarray(candidate(), dtype=float)
        except (ValueError, IndexError):  # shapes that do not fit this candidate
            continue
        if value.shape == got.shape and close(got, value):
            return text
    return None


def verdict(what: str, got: Any, expected: Any, hints: Sequence[Hint] = (), context: str = "") -> None:
    """Raise WrongAnswer (mismatch, then context, then the matching hint) unless got == expected."""
    problem = mismatch(what, got, expected)
    if problem is None:
        return
    hint = diagnose(got, list(hints) + [("sign error: your value is the negative of the right one",
                                         lambda: -np.asarray(expected, dtype=float))])
    lines = [problem] + ([context] if context else []) + ([f"hint: {hint}"] if hint else [])
    raise WrongAnswer("\n".join(lines))
