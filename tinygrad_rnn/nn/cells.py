"""The recurrent cells (dampened, Elman, LSTM, GRU), each built only from the engine's primitive ops.

Row vectors: x_t is (B, I), h_t is (B, H). Every step runs inside a scope named after the
cell ("dampened", "elman", "lstm", "gru"); the LSTM and GRU gates get scopes of their own, so
a drawn graph reads like the usual walkthrough of the equations.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..engine.context import ShapeError, scope
from ..engine.factory import add
from ..engine.tensor import Tensor, as_tensor
from . import activations, init
from .module import Module, parameter


class LSTMState(NamedTuple):
    """The LSTM's state: hidden output h and cell state c, both (B, H)."""

    h: Tensor
    c: Tensor


def _activation(name: str, cell: str) -> Any:
    return activations.activation(name, cell).op


class _Cell(Module):
    """What all cells share: sizes, dtype, zero initial state, checked step inputs, PyTorch interop."""

    state_parts: tuple[str, ...] = ("h",)  # what the state holds, in order (the LSTM: h and c)

    def __init__(self, input_size: int, hidden_size: int, dtype: Any) -> None:
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"{type(self).__name__}: input_size and hidden_size must be >= 1, "
                             f"got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.dtype = int(input_size), int(hidden_size), np.dtype(dtype)

    def _zeros(self, batch_size: int) -> Tensor:
        return Tensor(np.zeros((batch_size, self.hidden_size), dtype=self.dtype))

    def initial_state(self, batch_size: int) -> Any:
        """h_0 = 0, of shape (batch_size, H)."""
        return self._zeros(batch_size)

    def _checked(self, x: Any, state: Any) -> tuple[Tensor, tuple[Tensor, ...]]:
        """(x_t, the state's parts) for one step, checked: x_t (B, I), the state one (B, H) float Tensor
        per name in state_parts (arrays become constants of the cell's dtype). Anything else raises a
        TypeError or ShapeError saying what was expected."""
        x = as_tensor(x, self.dtype)
        shape = x.shape
        if len(shape) != 2 or shape[1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: x_t must have shape (B, input_size={self.input_size}), "
                             f"got {shape}")
        parts = (state,) if len(self.state_parts) == 1 else state
        if isinstance(parts, tuple) and len(parts) == len(self.state_parts):  # the usual case, kept cheap
            want = (shape[0], self.hidden_size)
            for p in parts:
                if not (isinstance(p, Tensor) and p.shape == want and p.dtype.kind == "f"):
                    break
            else:
                return x, parts
        return x, self._state_or_error(state, shape)

    def _state_or_error(self, state: Any, x_shape: tuple[int, ...]) -> tuple[Tensor, ...]:
        """The state's parts with arrays made constants, or the error saying what is wrong with them."""
        who, names = type(self).__name__, self.state_parts
        single = len(names) == 1
        if not (isinstance(state, (Tensor, np.ndarray)) if single else
                isinstance(state, (tuple, list)) and len(state) == len(names)):
            want = (f"one Tensor {names[0]} of shape" if single else
                    f"a pair ({', '.join(names)}) such as LSTMState, each of shape")
            got = f"{len(state)} items" if isinstance(state, (tuple, list)) else f"a {type(state).__name__}"
            raise TypeError(f"{who}: the state must be {want} (B, hidden_size={self.hidden_size}); got {got}")
        parts = tuple(as_tensor(p, self.dtype) if isinstance(p, np.ndarray) else p
                      for p in ((state,) if single else state))
        want_shape = (x_shape[0], self.hidden_size)
        for name, part in zip(names, parts):
            if not isinstance(part, Tensor):
                raise TypeError(f"{who}: state {name} must be a Tensor of shape {want_shape}, "
                                f"got a {type(part).__name__}")
            if part.shape != want_shape:
                raise ShapeError(f"{who}: state {name} must have shape (B, hidden_size) = {want_shape} "
                                 f"for an x_t of shape {x_shape}, got {part.shape}")
            if part.dtype.kind != "f":
                raise TypeError(f"{who}: state {name} must be floating-point (the cell is {self.dtype}), "
                                f"got dtype {part.dtype}")
        return parts

    @classmethod
    def from_torch(cls, module: Any, dtype: Any = None, **cell_kwargs: Any) -> _Cell:
        """A cell with the weights of a torch cell or a single-layer unidirectional torch RNN/LSTM/GRU.

        dtype defaults to torch's; cell_kwargs go to the cell's constructor.
        """
        from .torch_interop import cell_from_torch
        return cell_from_torch(cls, module, dtype, **cell_kwargs)

    def to_torch(self, layer: bool = False) -> Any:
        """The torch module (torch.nn.*Cell, or torch.nn.RNN/LSTM/GRU if layer=True) with these weights."""
        from .torch_interop import cell_to_torch
        return cell_to_torch(self, layer)


class DampenedCell(_Cell):
    """The naive recurrent unit: h_t = s(x_t W + lam * h_{t-1} + b), lam a scalar."""

    def __init__(self, input_size: int, hidden_size: int, lam: float = 0.5, learn_lam: bool = True,
                 activation: str = "tanh", rng: Any = None, dtype: Any = np.float64) -> None:
        super().__init__(input_size, hidden_size, dtype)
        rng = init._rng(rng)
        self.activation, self._s = activation, _activation(activation, "DampenedCell")
        self.W = parameter(init.torch_default((input_size, hidden_size), hidden_size, rng, dtype))
        self.b = parameter(init.torch_default(hidden_size, hidden_size, rng, dtype))
        lam_value = np.asarray(lam, dtype=dtype)
        self.lam = parameter(lam_value) if learn_lam else Tensor(lam_value)  # fixed: a buffer

    def __call__(self, x: Any, h: Tensor) -> Tensor:
        x, (h,) = self._checked(x, h)
        with scope("dampened"):
            return self._s(add(x @ self.W, self.lam * h, self.b))


class ElmanCell(_Cell):
    """Elman (1990): h_t = s(x_t W + h_{t-1} U + b)."""

    def __init__(self, input_size: int, hidden_size: int, activation: str = "tanh", rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__(input_size, hidden_size, dtype)
        rng = init._rng(rng)
        self.activation, self._s = activation, _activation(activation, "ElmanCell")
        self.W = parameter(init.torch_default((input_size, hidden_size), hidden_size, rng, dtype))
        self.U = parameter(init.torch_default((hidden_size, hidden_size), hidden_size, rng, dtype))
        self.b = parameter(init.torch_default(hidden_size, hidden_size, rng, dtype))

    def __call__(self, x: Any, h: Tensor) -> Tensor:
        x, (h,) = self._checked(x, h)
        with scope("elman"):
            return self._s(add(x @ self.W, h @ self.U, self.b))


class LSTMCell(_Cell):
    """LSTM with forget gate: z = x_t W + h_{t-1} U + b split into i, f, g, o;
    c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g);  h_t = sigmoid(o) * tanh(c_t).

    Weights start U(+-1/sqrt(H)) as in PyTorch; forget_bias is added to the forget block of b
    (Gers et al. 2000: start by remembering). forget_bias=0 gives PyTorch's initialisation.
    """

    state_parts = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__(input_size, hidden_size, dtype)
        rng, H = init._rng(rng), hidden_size
        self.W = parameter(init.torch_default((input_size, 4 * H), H, rng, dtype))
        self.U = parameter(init.torch_default((H, 4 * H), H, rng, dtype))
        b = init.torch_default(4 * H, H, rng, dtype)
        b[H:2 * H] += forget_bias
        self.b = parameter(b)

    def initial_state(self, batch_size: int) -> LSTMState:
        """(h_0, c_0) = (0, 0), each (batch_size, H)."""
        return LSTMState(self._zeros(batch_size), self._zeros(batch_size))

    def __call__(self, x: Any, state: tuple[Tensor, Tensor]) -> LSTMState:
        x, (h, c) = self._checked(x, state)
        H = self.hidden_size
        with scope("lstm"):
            z = add(x @ self.W, h @ self.U, self.b)
            with scope("input gate"):
                i = z[..., :H].sigmoid()
            with scope("forget gate"):
                f = z[..., H:2 * H].sigmoid()
            with scope("candidate"):
                g = z[..., 2 * H:3 * H].tanh()
            with scope("output gate"):
                o = z[..., 3 * H:].sigmoid()
            with scope("cell state"):
                c = f * c + i * g
            with scope("hidden"):
                h = o * c.tanh()
        z.name, i.name, f.name, g.name, o.name = "z", "i", "f", "g", "o"
        return LSTMState(h, c)


class GRUCell(_Cell):
    """GRU with PyTorch's equations, gates r, z, n:
    r = sigmoid(x W_r + h U_r + b_r);  z = sigmoid(x W_z + h U_z + b_z);
    n = tanh(x W_n + b_n + r * (h U_n + b_hn));  h_t = (1 - z) * n + z * h_{t-1}.

    W (I, 3H), U (H, 3H), b (3H,) and b_hn (H,): the n-gate's hidden bias sits inside r * (...),
    so it cannot be merged into b.
    """

    def __init__(self, input_size: int, hidden_size: int, rng: Any = None, dtype: Any = np.float64) -> None:
        super().__init__(input_size, hidden_size, dtype)
        rng, H = init._rng(rng), hidden_size
        self.W = parameter(init.torch_default((input_size, 3 * H), H, rng, dtype))
        self.U = parameter(init.torch_default((H, 3 * H), H, rng, dtype))
        self.b = parameter(init.torch_default(3 * H, H, rng, dtype))
        self.b_hn = parameter(init.torch_default(H, H, rng, dtype))

    def __call__(self, x: Any, h: Tensor) -> Tensor:
        x, (h,) = self._checked(x, h)
        H = self.hidden_size
        with scope("gru"):
            a = x @ self.W + self.b  # input part of all three gates
            u = h @ self.U                          # hidden part of all three gates
            with scope("reset gate"):
                r = (a[..., :H] + u[..., :H]).sigmoid()
            with scope("update gate"):
                z = (a[..., H:2 * H] + u[..., H:2 * H]).sigmoid()
            with scope("candidate"):
                n = (a[..., 2 * H:] + r * (u[..., 2 * H:] + self.b_hn)).tanh()
            with scope("hidden"):
                h = (1.0 - z) * n + z * h
        r.name, z.name, n.name = "r", "z", "n"
        return h


CELLS: dict[str, type[_Cell]] = {
    "dampened": DampenedCell, "elman": ElmanCell, "lstm": LSTMCell, "gru": GRUCell}
