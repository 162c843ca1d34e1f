"""Opt-in speed, skipped on a first reading: lean graphs, the whole-sequence layers and their
hand-written BPTT (sequence.py, bptt.py), memory retention."""

from . import memory

__all__ = ["memory"]
