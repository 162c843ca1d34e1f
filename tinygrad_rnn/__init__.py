"""tinygrad_rnn: a numpy autograd micro-framework for seeing backpropagation through time."""

from . import nn, optim, speed, viz
from .engine.context import (
    AnomalyError,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    scope,
    set_grad_enabled,
)
from .engine.factory import add, concat, ones, randn, stack, zeros
from .engine.function import Function, ShapeError
from .engine.tensor import Tensor
from .gradcheck import GradcheckError, gradcheck
from .serialize import CheckpointError, load, save
from .speed.lean import lean

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "Function", "GradcheckError", "ShapeError", "Tensor", "add", "concat",
    "detect_anomaly", "enable_grad", "gradcheck", "is_grad_enabled", "lean", "no_grad", "ones",
    "randn", "scope", "set_grad_enabled", "stack", "zeros",
    "CheckpointError", "load", "nn", "optim", "save", "speed", "viz",
]
