"""Seeing backprop through time: the unrolled graph drawn, gradients through time plotted."""

from .animate import animate
from .bystep import StepGradients, grad_by_step, plot_grad_by_step
from .gradflow import grad_flow, plot_grad_flow, plot_grad_heatmap
from .graph import Drawing, Edge, Group, draw, find, named_tensors, walk
from .inline import Page, figure, page
from .layout import LayoutCost
from .render import RenderError, find_renderer, render
from .spectrum import JacobianSpectrum, jacobian_spectrum, plot_jacobian_spectrum

__all__ = [
    "Drawing", "Edge", "Group", "Page", "JacobianSpectrum", "LayoutCost", "RenderError", "StepGradients",
    "animate", "draw", "figure", "find", "find_renderer", "grad_by_step", "grad_flow", "jacobian_spectrum",
    "named_tensors", "page", "plot_grad_by_step", "plot_grad_flow", "plot_grad_heatmap",
    "plot_jacobian_spectrum", "render", "walk",
]
