"""Seeing backprop through time: the unrolled graph drawn, gradients through time plotted."""

from .gradflow import grad_flow, plot_grad_flow, plot_grad_heatmap
from .graph import Drawing, Edge, Group, draw, named_tensors, walk
from .render import RenderError, find_renderer, render
from .spectrum import JacobianSpectrum, jacobian_spectrum

__all__ = [
    "Drawing", "Edge", "Group", "JacobianSpectrum", "RenderError", "draw", "find_renderer",
    "grad_flow", "jacobian_spectrum", "named_tensors", "plot_grad_flow", "plot_grad_heatmap",
    "render", "walk",
]
