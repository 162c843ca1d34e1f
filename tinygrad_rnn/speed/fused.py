"""Opt-in fused cells: one step of a cell as one `Function` with a hand-derived backward.

`FusedLSTMCell` (and Elman, GRU, dampened: `make_cell(kind, ..., fused=True)`) run these instead of a dozen
primitive ops per step: the same numbers (to rounding), a graph with one node per step
instead of the readable one, and far less engine overhead for long or small sequences.
Backwards skip the matmuls for inputs that want no gradient (x, and h_0 when it is zeros).
The LSTM's step returns h and c stacked in one (2, B, H) array; the cell hands out the two
as contiguous views (two getitem ops) and the next step reads those, so h_t.grad is
the whole dL/dh_t, as with the primitive cell (gradient-flow plots work alike). c_t.grad is
the part that flows through later steps: h_t = o tanh(c_t) happens inside the fused op.

Row vectors throughout: x (B, I), h and c (B, H); activations overwrite the pre-activation
array they are given (sigmoid as in ops.Sigmoid: 1 / (1 + e^-a), in place).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.context import scope
from ..engine.function import Function
from ..engine.ops import GetItem
from ..engine.tensor import Tensor
from ..nn.cells import CELLS, DampenedCell, ElmanCell, GRUCell, LSTMCell, LSTMState


# The derivatives from the output z, as one new array that callers multiply by g in place.
def tanh_grad(z: np.ndarray) -> np.ndarray:
    """1 - z^2 for z = tanh x."""
    d = z * z
    return np.subtract(1.0, d, out=d) if isinstance(d, np.ndarray) else 1.0 - d


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """z (1 - z) for z = sigmoid x."""
    d = 1.0 - z
    d *= z
    return d


def sigmoid_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out <- 1 / (1 + e^-x) in 4 passes without temporaries (out may be x: in place)."""
    np.negative(x, out=out)
    with np.errstate(over="ignore"):  # e^-x = inf (x < -709 in float64) gives exactly 0
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


# Activations overwrite their argument (a fresh pre-activation array): no allocation per step.
def _tanh(a: np.ndarray) -> np.ndarray:
    return np.tanh(a, out=a)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return sigmoid_into(a, a)


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0, out=a)


def _relu_prime(h: np.ndarray) -> np.ndarray:
    return (h > 0).astype(h.dtype)


# activation name -> (s, ds/da in terms of the output h = s(a))
_ACTIVATIONS = {"tanh": (_tanh, tanh_grad), "sigmoid": (_sigmoid, sigmoid_grad),
                "relu": (_relu, _relu_prime)}


class DampenedStep(Function):
    """h = s(x W + lam h_prev + b);  da = g s'(a): dx = da W^T, dh_prev = lam da, dW = x^T da,
    dlam = sum(da * h_prev), db = sum_batch da"""
    op_name = "dampened step (fused)"
    __slots__ = ("ds",)  # the activation's derivative, without a __dict__ per step

    @staticmethod
    def forward(ctx, x, h, W, lam, b, activation="tanh"):
        s, ctx.ds = _ACTIVATIONS[activation]
        a = x @ W
        a += b
        a += lam * h
        out = s(a)
        ctx.save_for_backward(x, h, W, lam, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, h, W, lam, out = ctx.saved_tensors
        need = ctx.needs_input_grad
        da = ctx.ds(out)
        da *= g
        return (da @ W.T if need[0] else None, lam * da if need[1] else None, x.T @ da,
                np.full(np.shape(lam), np.sum(da * h), dtype=da.dtype), da.sum(axis=0))


class ElmanStep(Function):
    """h = s(x W + h_prev U + b);  da = g s'(a): dx = da W^T, dh_prev = da U^T, dW = x^T da,
    dU = h_prev^T da, db = sum_batch da"""
    op_name = "elman step (fused)"
    __slots__ = ("ds",)  # the activation's derivative, without a __dict__ per step

    @staticmethod
    def forward(ctx, x, h, W, U, b, activation="tanh"):
        s, ctx.ds = _ACTIVATIONS[activation]
        a = x @ W
        a += h @ U
        a += b
        out = s(a)
        ctx.save_for_backward(x, h, W, U, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, h, W, U, out = ctx.saved_tensors
        need = ctx.needs_input_grad
        da = ctx.ds(out)
        da *= g
        return (da @ W.T if need[0] else None, da @ U.T if need[1] else None,
                x.T @ da, h.T @ da, da.sum(axis=0))


def _lstm_forward(x, h, c, W, U, b):
    """(out = [h_t, c_t] stacked (2, B, H), activations [i, f, g, o] (4, B, H), tanh c_t)."""
    H = h.shape[-1]
    z = x @ W
    z += h @ U
    z += b
    # each gate into its own contiguous block: on (B, H) slices of z every later op (and all of
    # the backward) would take numpy's strided path, about 2.5x slower per call at (32, 128)
    gates = z.reshape(-1, 4, H).transpose(1, 0, 2)  # (4, B, H): views of z's i, f, g, o blocks
    act = np.empty(gates.shape, dtype=z.dtype)
    sigmoid_into(gates[:2], act[:2])  # i and f in one call
    np.tanh(gates[2], out=act[2])
    sigmoid_into(gates[3], act[3])
    i, f, gg, o = act
    out = np.empty((2, *h.shape), dtype=z.dtype)  # h and c each contiguous: h @ U next step
    h_new, c_new = out
    np.multiply(f, c, out=c_new)
    c_new += i * gg
    tc = np.tanh(c_new)
    np.multiply(o, tc, out=h_new)
    return out, act, tc


def _lstm_dz(g, c, act, tc):
    """(dz (B, 4H), dc) of one LSTM step from g = [dh_t, dc_t], the gradient of its output."""
    H = tc.shape[-1]
    i, f, gg, o = act
    dh, dc_in = g[0], g[1]
    dc = dh * o * tanh_grad(tc) + dc_in
    dz = np.empty((tc.shape[0], 4 * H), dtype=tc.dtype)
    np.multiply(dc * gg, sigmoid_grad(i), out=dz[:, :H])
    np.multiply(dc * c, sigmoid_grad(f), out=dz[:, H:2 * H])
    np.multiply(dc * i, tanh_grad(gg), out=dz[:, 2 * H:3 * H])
    np.multiply(dh * tc, sigmoid_grad(o), out=dz[:, 3 * H:])
    return dz, dc


class LSTMStep(Function):
    """[h, c] = LSTM step, gates i, f, g, o of z = x W + h_prev U + b;  c = f c_prev + i g,
    h = o tanh(c). Backward: dc = dh o (1 - tanh^2 c) + dc_in; dz = [dc g i(1-i), dc c_prev f(1-f),
    dc i (1-g^2), dh tanh(c) o(1-o)]; dx = dz W^T, dh_prev = dz U^T, dc_prev = dc f, dW = x^T dz,
    dU = h_prev^T dz, db = sum_batch dz"""
    op_name = "lstm step (fused)"

    @staticmethod
    def forward(ctx, x, h, c, W, U, b):
        out, act, tc = _lstm_forward(x, h, c, W, U, b)
        ctx.save_for_backward(x, h, c, W, U, act, tc)
        return out

    @staticmethod
    def backward(ctx, g):
        x, h, c, W, U, act, tc = ctx.saved_tensors
        need = ctx.needs_input_grad
        dz, dc = _lstm_dz(g, c, act, tc)
        f = act[1]
        return (dz @ W.T if need[0] else None, dz @ U.T if need[1] else None,
                dc * f if need[2] else None, x.T @ dz, h.T @ dz, dz.sum(axis=0))


class _Half(GetItem):
    """z = x[0] or x[1] (a view);  dz/dx = g placed there. GetItem without its index
    inspection: h and c of the LSTM step's stacked output."""
    op_name = "getitem"

    @staticmethod
    def forward(ctx, x, second):
        ctx.index, ctx.shape = (1 if second else 0), x.shape
        return x[ctx.index]


class GRUStep(Function):
    """h = (1 - z) n + z h_prev with r = s(a_r), z = s(a_z), n = tanh(x W_n + b_n + r hn),
    hn = h_prev U_n + b_hn (PyTorch's GRU). Backward: da_n = dh (1 - z)(1 - n^2),
    da_z = dh (h_prev - n) z(1-z), da_r = da_n hn r(1-r); the hidden side of n gets da_n r;
    dh_prev = dh z + [da_r, da_z, da_n r] U^T"""
    op_name = "gru step (fused)"

    @staticmethod
    def forward(ctx, x, h, W, U, b, b_hn):
        H = h.shape[-1]
        a = x @ W
        a += b
        u = h @ U
        rz = np.empty((2, *h.shape), dtype=a.dtype)  # r and z contiguous: see _lstm_forward
        np.add(a[:, :H], u[:, :H], out=rz[0])
        np.add(a[:, H:2 * H], u[:, H:2 * H], out=rz[1])
        r, z = _sigmoid(rz)
        hn = u[:, 2 * H:] + b_hn
        n = r * hn
        n += a[:, 2 * H:]
        np.tanh(n, out=n)
        out = h - n
        out *= z
        out += n
        ctx.save_for_backward(x, h, W, U, rz, n, hn)
        return out

    @staticmethod
    def backward(ctx, g):
        x, h, W, U, rz, n, hn = ctx.saved_tensors
        need = ctx.needs_input_grad
        H = h.shape[-1]
        r, z = rz
        d_in = np.empty((g.shape[0], 3 * H), dtype=g.dtype)   # d loss / d (x W + b)
        dan = g * (1.0 - z)
        dan *= tanh_grad(n)
        d_in[:, 2 * H:] = dan
        np.multiply(dan * hn, sigmoid_grad(r), out=d_in[:, :H])
        np.multiply(g * (h - n), sigmoid_grad(z), out=d_in[:, H:2 * H])
        d_hid = d_in.copy()                                   # d loss / d (h U)
        dan *= r
        d_hid[:, 2 * H:] = dan
        dh = None
        if need[1]:
            dh = d_hid @ U.T
            dh += g * z
        return (d_in @ W.T if need[0] else None, dh, x.T @ d_in, h.T @ d_hid,
                d_in.sum(axis=0), dan.sum(axis=0))


# ---- the fused cells: the same parameters and state_dict as the primitive cells, one op per step --

class FusedDampenedCell(DampenedCell):
    """DampenedCell whose step is one op (DampenedStep): same parameters, same numbers."""

    def __call__(self, x: Any, h: Tensor) -> Tensor:
        x, (h,) = self._checked(x, h)
        with scope("dampened"):
            return DampenedStep.apply(x, h, self.W, self.lam, self.b, activation=self.activation)


class FusedElmanCell(ElmanCell):
    """ElmanCell whose step is one op (ElmanStep)."""

    def __call__(self, x: Any, h: Tensor) -> Tensor:
        x, (h,) = self._checked(x, h)
        with scope("elman"):
            return ElmanStep.apply(x, h, self.W, self.U, self.b, activation=self.activation)


class FusedLSTMCell(LSTMCell):
    """LSTMCell whose step is one op (LSTMStep); h and c are the two halves of its output."""

    def __call__(self, x: Any, state: tuple[Tensor, Tensor]) -> LSTMState:
        x, (h, c) = self._checked(x, state)
        with scope("lstm"):
            hc = LSTMStep.apply(x, h, c, self.W, self.U, self.b)
            # the next step reads h and c through these two views, so each of them, like h_t and
            # c_t of the primitive cell, receives the whole gradient dL/dh_t, dL/dc_t
            return LSTMState(_Half.apply(hc, second=False), _Half.apply(hc, second=True))


class FusedGRUCell(GRUCell):
    """GRUCell whose step is one op (GRUStep)."""

    def __call__(self, x: Any, h: Tensor) -> Tensor:
        x, (h,) = self._checked(x, h)
        with scope("gru"):
            return GRUStep.apply(x, h, self.W, self.U, self.b, self.b_hn)


FUSED_CELLS: dict[str, type] = {"dampened": FusedDampenedCell, "elman": FusedElmanCell,
                                "lstm": FusedLSTMCell, "gru": FusedGRUCell}


def make_cell(kind: str, input_size: int, hidden_size: int, fused: bool = False, **kwargs: Any) -> Any:
    """The cell called `kind` (dampened, elman, lstm, gru), fused or primitive; kwargs to its constructor."""
    table = FUSED_CELLS if fused else CELLS
    if kind not in table:
        raise ValueError(f"make_cell: unknown cell {kind!r}; choose from {', '.join(table)}")
    return table[kind](input_size, hidden_size, **kwargs)
