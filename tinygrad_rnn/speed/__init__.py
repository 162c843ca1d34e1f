"""Opt-in speed, skipped on a first reading: lean graphs, fused cells and their kernels, memory retention."""

from . import memory

__all__ = ["memory"]
