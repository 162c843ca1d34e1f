"""tinygrad_rnn: a numpy autograd micro-framework for seeing backpropagation through time."""

from . import memory, nn, optim, viz
from .context import AnomalyError, detect_anomaly, enable_grad, is_grad_enabled, lean, no_grad, scope
from .factory import ones, randn, zeros
from .function import Function, ShapeError
from .gradcheck import GradcheckError, gradcheck
from .ops import concat, stack
from .serialize import load, save
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "Function", "GradcheckError", "ShapeError", "Tensor", "concat",
    "detect_anomaly", "enable_grad", "gradcheck", "is_grad_enabled", "lean", "no_grad", "ones",
    "randn", "scope", "stack", "zeros",
    "load", "memory", "nn", "optim", "save", "viz",
]
