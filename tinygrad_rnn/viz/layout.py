"""What a drawing will cost Graphviz to lay out, known before it runs.

Nodes and edges cost little; what makes `dot` slow is long edges: an edge from a node outside the
time steps into a step (a shared parameter drawn once and read by every step), or between steps
more than one apart. dot's crossing minimisation then works on T such edges crossing each other,
and its time grows far faster than T (the Elman network with one box per step: 40 steps 6 s, 100
steps 2 min, with W, U, b drawn once). Drawing each parameter again inside each step, as a small
reference, leaves no long edges, and the time grows with the node count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STEP = re.compile(r"^t=(-?\d+)$")
# Fitted to `tinygrad-rnn graph --cell elman` runs with the bundled renderer (graphviz-pure 0.2, 2 cores;
# collapsed and every-op, parameters once and per step, T = 20..100):
# seconds ~ a * (nodes + edges) ** 1.5 + b * long_edges ** 3.4. Within a factor of two of the runs.
_A, _B = 7.5e-5, 6e-7


def step_of(path: tuple[str, ...]) -> int | None:
    """The step number of a scope path: n for the first "t=<n>" in it, else None."""
    for s in path:
        m = _STEP.match(s)
        if m:
            return int(m.group(1))
    return None


@dataclass(frozen=True)
class LayoutCost:
    """nodes, edges, and long edges (into or out of a step from outside the steps, or across more
    than one step); seconds: the estimated layout time with the bundled renderer."""

    nodes: int
    edges: int
    long_edges: int

    @property
    def seconds(self) -> float:
        return _A * (self.nodes + self.edges) ** 1.5 + _B * self.long_edges ** 3.4

    def scaled(self, r: float) -> LayoutCost:
        """The cost of the same graph over r times as many steps (everything grows with T)."""
        return LayoutCost(round(self.nodes * r), round(self.edges * r), round(self.long_edges * r))

    def __str__(self) -> str:
        return (f"{self.nodes} nodes, {self.edges} edges, {self.long_edges} long edges: "
                f"~{self.seconds:.1f} s to lay out")


def is_long(a: int | None, b: int | None) -> bool:
    """An edge between steps a and b (None: outside the steps) is long if exactly one end is in a
    step, or the steps are more than one apart."""
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > 1


def layout_cost(steps: dict[str, int | None], edges: list[tuple[str, str]]) -> LayoutCost:
    """The cost of a drawing whose node ids map to their step (`steps`) with these (src, dst) edges."""
    long_edges = sum(is_long(steps[s], steps[d]) for s, d in edges)
    return LayoutCost(len(steps), len(edges), long_edges)
