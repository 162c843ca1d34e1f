"""Layers, recurrent cells, unrolling through time and losses, on the autograd core."""

from . import init
from .cells import DampenedCell, ElmanCell, GRUCell, LSTMCell, LSTMState
from .layers import Linear
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse_loss,
    softmax,
)
from .module import Module, StateDictError, parameter
from .unroll import Unrolled, detach_state, unroll

__all__ = [
    "DampenedCell", "ElmanCell", "GRUCell", "LSTMCell", "LSTMState", "Linear", "Module",
    "StateDictError", "Unrolled", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "detach_state", "init", "log_softmax", "mse_loss", "parameter", "softmax", "unroll",
    "DampenedRNN", "GRU", "LSTM", "RNN",
]

# The whole-sequence layers live with the other speed code and are built on the cells above,
# so they come last: importing them earlier would enter speed/ before nn.cells exists.
from ..speed.sequence import GRU, LSTM, RNN, DampenedRNN  # noqa: E402
