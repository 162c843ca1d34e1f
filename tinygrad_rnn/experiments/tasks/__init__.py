"""The classic experiments as seeded data generators, each with its paper's success criterion.

`TASKS` maps a name to its class; `get_task(name, seed=0, steps=None, **options)` builds one.
Names accept "-" for "_" (`adding-modern`).
"""

from __future__ import annotations

from typing import Any

from .adding import Adding1997, AddingModern
from .base import Batch, Evaluation, StreamTask, Task
from .chars import Chars
from .elman_letters import ElmanLetters
from .embedded_reber import EmbeddedReber
from .temporal_xor import TemporalXOR

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in
                                (TemporalXOR, ElmanLetters, EmbeddedReber, Adding1997, AddingModern, Chars)}


def get_task(name: str, seed: int = 0, steps: int | None = None, **options: Any) -> Task:
    """The task called `name`, built with its seed (data) and, where it applies, steps."""
    key = name.replace("-", "_")
    if key not in TASKS:
        raise KeyError(f"get_task: no task {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[key](seed=seed, steps=steps, **options)


__all__ = ["TASKS", "Adding1997", "AddingModern", "Batch", "Chars", "ElmanLetters", "EmbeddedReber",
           "Evaluation", "StreamTask", "Task", "TemporalXOR", "get_task"]
