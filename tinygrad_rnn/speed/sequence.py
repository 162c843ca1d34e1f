"""Whole-sequence layers `tg.nn.RNN`, `LSTM`, `GRU` and `DampenedRNN`: one op per call, for training.

    outputs, state = layer(xs, state=None, truncate=None)    # xs (T, B, I) -> outputs (T, B, H)

as torch.nn.RNN/LSTM/GRU with batch_first=False, except that the state is the cell's: a (B, H)
Tensor, or LSTMState(h, c) for the LSTM (torch puts a num_layers axis in front). Gradients
flow to xs, the initial state and the parameters; truncate=k is truncated BPTT as in nn.unroll.

A layer holds the very parameter Tensors of its primitive cell, `layer.cell`, under the same names:
the two compute the same numbers, share one state_dict layout, and a model trained with the
layer can be unrolled and drawn with its cell (`SequenceLayer.from_cell` goes the other way).
The work is speed/bptt.py's: numpy loops with the hand-derived BPTT, one graph node per call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.factory import stack
from ..engine.function import Function, ShapeError
from ..engine.tensor import Tensor
from ..nn.cells import DampenedCell, ElmanCell, GRUCell, LSTMCell, LSTMState
from ..nn.module import Module
from .bptt import DampenedSequence, ElmanSequence, GRUSequence, LSTMSequence


class SequenceLayer(Module):
    """What the layers share: the cell's parameters, checked inputs, one op over the sequence."""

    cell_type: type = ElmanCell
    op: type[Function] = ElmanSequence
    weights: tuple[str, ...] = ("W", "U", "b")  # the op's parameter inputs, in its order

    def __init__(self, cell: Any) -> None:
        if not isinstance(cell, self.cell_type):
            raise TypeError(f"{type(self).__name__}: expects a {self.cell_type.__name__} to take the "
                            f"parameters of, got {type(cell).__name__}")
        self._cell = cell  # private, so not walked: its tensors are this layer's own, below
        self.input_size, self.hidden_size, self.dtype = cell.input_size, cell.hidden_size, cell.dtype
        for key, value in vars(cell).items():
            if isinstance(value, Tensor):  # parameters, and buffers such as a fixed lam
                setattr(self, key, value)

    @classmethod
    def from_cell(cls, cell: Any) -> SequenceLayer:
        """The layer computing with `cell`'s parameter Tensors (shared, not copied)."""
        layer = cls.__new__(cls)
        SequenceLayer.__init__(layer, cell)
        return layer

    @property
    def cell(self) -> Any:
        """The primitive-op cell holding these same parameter Tensors: unroll it to see every step."""
        return self._cell

    def initial_state(self, batch_size: int) -> Any:
        """The cell's zero state for a batch."""
        return self._cell.initial_state(batch_size)

    @classmethod
    def from_torch(cls, module: Any, dtype: Any = None, **kwargs: Any) -> SequenceLayer:
        """The layer with the weights of a single-layer torch.nn.RNN/LSTM/GRU (or the torch cell)."""
        from ..nn.torch_interop import cell_from_torch
        return cls.from_cell(cell_from_torch(cls.cell_type, module, dtype, who=cls.__name__, **kwargs))

    def to_torch(self) -> Any:
        """The single-layer torch.nn.RNN/LSTM/GRU with these weights."""
        from ..nn.torch_interop import cell_to_torch
        return cell_to_torch(self._cell, layer=True, who=type(self).__name__)

    def __call__(self, xs: Any, state: Any = None, truncate: int | None = None) -> tuple[Tensor, Any]:
        return self.forward(xs, state, truncate)

    def forward(self, xs: Any, state: Any = None, truncate: int | None = None) -> tuple[Tensor, Any]:
        """(outputs h_1..h_T as one (T, B, H) Tensor, the final state)."""
        xs, parts = self._inputs(xs, state, truncate)
        out = self._apply(xs, parts, truncate)
        T = xs.shape[0]
        out.name = f"h_1..h_{T}"
        h = out[T - 1]
        h.name = f"h_{T}"
        return out, h

    def _apply(self, xs: Tensor, parts: tuple[Tensor, ...], truncate: int | None) -> Tensor:
        """The op on (xs, the state's parts, the weights); an Elman or dampened cell's activation by name."""
        options = {"activation": self._cell.activation} if hasattr(self._cell, "activation") else {}
        weights = (getattr(self, name) for name in self.weights)
        return self.op.apply(xs, *parts, *weights, truncate=truncate, **options)

    # ---- checking what comes in ------------------------------------------------------------
    def _inputs(self, xs: Any, state: Any, truncate: Any) -> tuple[Tensor, tuple[Tensor, ...]]:
        """xs as a (T, B, I) Tensor and the state's parts (zeros if None), checked."""
        who = type(self).__name__
        if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, (int, np.integer))
                                     or truncate < 1):
            raise ValueError(f"{who}: truncate must be a positive int (window length) or None, "
                             f"got {truncate!r}")
        if isinstance(xs, (list, tuple)) and any(isinstance(x, Tensor) for x in xs):
            xs = stack(list(xs))  # a sequence of (B, I) steps; their gradients flow back through the stack
        xs = xs if isinstance(xs, Tensor) else Tensor(xs, dtype=self.dtype, name="xs")
        if xs.ndim != 3 or xs.shape[2] != self.input_size or xs.shape[0] == 0:
            raise ShapeError(f"{who}: xs must have shape (T, B, input_size={self.input_size}) with T >= 1, "
                             f"got {xs.shape} (one step at a time: use {who}.cell)")
        if state is None:
            zeros = np.zeros((xs.shape[1], self.hidden_size), dtype=self.dtype)
            return xs, tuple(Tensor(zeros, name=f"{part}_0") for part in self._cell.state_parts)
        return xs, self._cell._checked(xs.data[0], state)[1]  # the state checked as the cell checks it


class DampenedRNN(SequenceLayer):
    """DampenedCell over a whole sequence: h_t = s(x_t W + lam h_{t-1} + b), one op per call."""

    cell_type, op, weights = DampenedCell, DampenedSequence, ("W", "lam", "b")

    def __init__(self, input_size: int, hidden_size: int, lam: float = 0.5, learn_lam: bool = True,
                 activation: str = "tanh", rng: Any = None, dtype: Any = np.float64) -> None:
        super().__init__(DampenedCell(input_size, hidden_size, lam, learn_lam, activation, rng, dtype))


class RNN(SequenceLayer):
    """The Elman network over a whole sequence (torch.nn.RNN): h_t = s(x_t W + h_{t-1} U + b),
    s = tanh (nonlinearity="tanh"), "relu" or "sigmoid"; one op per call."""

    cell_type, op = ElmanCell, ElmanSequence

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__(ElmanCell(input_size, hidden_size, activation=nonlinearity, rng=rng, dtype=dtype))

    @property
    def nonlinearity(self) -> str:
        return self._cell.activation


class LSTM(SequenceLayer):
    """The LSTMCell over a whole sequence (torch.nn.LSTM): z = x_t W + h_{t-1} U + b cut into i, f, g, o;
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t); one op per call. The state is LSTMState(h, c).
    forget_bias is added to b's forget block, as in LSTMCell (0 gives PyTorch's initialisation)."""

    cell_type, op = LSTMCell, LSTMSequence

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__(LSTMCell(input_size, hidden_size, forget_bias=forget_bias, rng=rng, dtype=dtype))

    def forward(self, xs: Any, state: Any = None, truncate: int | None = None) -> tuple[Tensor, LSTMState]:
        """(outputs h_1..h_T as one (T, B, H) Tensor, LSTMState(h_T, c_T))."""
        xs, parts = self._inputs(xs, state, truncate)
        T = xs.shape[0]
        hc = self._apply(xs, parts, truncate)  # h_1..h_T, then c_T
        hc.name = f"h_1..h_{T}, c_{T}"
        out, h, c = hc[:T], hc[T - 1], hc[T]
        out.name, h.name, c.name = f"h_1..h_{T}", f"h_{T}", f"c_{T}"
        return out, LSTMState(h, c)


class GRU(SequenceLayer):
    """The GRUCell over a whole sequence (torch.nn.GRU), gates r, z, n; one op per call."""

    cell_type, op, weights = GRUCell, GRUSequence, ("W", "U", "b", "b_hn")

    def __init__(self, input_size: int, hidden_size: int, rng: Any = None, dtype: Any = np.float64) -> None:
        super().__init__(GRUCell(input_size, hidden_size, rng=rng, dtype=dtype))


LAYERS: dict[str, type[SequenceLayer]] = {"dampened": DampenedRNN, "elman": RNN, "lstm": LSTM, "gru": GRU}
