"""The whole-sequence ops: one `Function` per cell over all T steps, BPTT written by hand.

`forward` loops over t in numpy and keeps what backward needs; `backward` is the BPTT loop the
docs derive, from t = T down to 1, carrying dL/dh_t (and the LSTM's dL/dc_t) into the step before.
What is not recurrent is done for all steps at once: the input side x_t W + b of every step is one
matmul before the loop, and dW = sum_t x_t^T dz_t, dU = sum_t h_{t-1}^T dz_t, db = sum_t dz_t and
dx are one matmul each after it. Inside the loops each gate is its own contiguous (B, H) block
(gates first: (gates, B, H)), because numpy is several times slower per element on the strided
(B, H) column blocks of a (B, gates * H) array. Sigmoids are 1 / (1 + e^-a), with the sign of a
folded into the weights' copies: one pass fewer per step.

`truncate=k` cuts the gradient where nn.unroll detaches the state: before steps k+1, 2k+1, ...
Row vectors, as everywhere: xs (T, B, I), h (B, H), W (I, gates * H), U (H, gates * H).
"""

from __future__ import annotations

import numpy as np

from ..engine.function import Function
from ..nn.activations import ACTIVATIONS

LSTM_ORDER = [0, 1, 3, 2]  # PyTorch's i, f, g, o -> i, f, o, g here: the three sigmoids side by side


def gates_first(M: np.ndarray, gates: int, order: list[int] | None = None) -> np.ndarray:
    """M (n, gates * H) -> (gates, n, H), contiguous, the gate blocks in `order`."""
    blocks = M.reshape(M.shape[0], gates, -1).transpose(1, 0, 2)
    return np.ascontiguousarray(blocks if order is None else blocks[order])


def gates_last(M: np.ndarray, order: list[int] | None = None) -> np.ndarray:
    """The inverse of gates_first for an `order` that is its own inverse: (gates, n, H) -> (n, gates * H)."""
    blocks = M if order is None else M[order]
    return blocks.transpose(1, 0, 2).reshape(M.shape[1], -1)


def _cut(t: int, truncate: int | None) -> bool:
    """Whether the state step t (0-based) reads was detached, so no gradient flows into it from t."""
    return truncate is not None and t > 0 and t % truncate == 0


def _input_side(xs: np.ndarray, Wg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """x_t W + b of every step, gates first: (gates, T, B, H)."""
    T, B = xs.shape[:2]
    out = np.matmul(xs.reshape(T * B, -1), Wg).reshape(Wg.shape[0], T, B, -1)
    out += bg.reshape(Wg.shape[0], 1, 1, -1)
    return out


def _sigmoid_of_negated(a: np.ndarray) -> np.ndarray:
    """a <- 1 / (1 + e^a), in place: the sigmoid of -a (the weights hold the sign)."""
    np.exp(a, out=a)  # e^a = inf (a > 709 in float64) gives exactly 0 below
    a += 1.0
    return np.reciprocal(a, out=a)


def _one_gate_forward(ctx, kind, xs, h0, W, b, recurrent, activation, truncate):
    """h_t = s(x_t W + b + recurrent(h_{t-1})), t = 1..T; returns h_0 .. h_T as one (T + 1, B, H) array.
    recurrent(h, out) writes h's term into out."""
    T = xs.shape[0]
    ctx.op_name, ctx.truncate, ctx.act = f"{kind} sequence, T={T}", truncate, ACTIVATIONS[activation]
    hs = np.empty((T + 1, *h0.shape), dtype=W.dtype)
    hs[0] = h0
    xw = _input_side(xs, W[None], b)[0]
    with np.errstate(over="ignore"):
        for t in range(T):
            h = recurrent(hs[t], hs[t + 1])
            h += xw[t]
            ctx.act.inplace(h)
    return hs


def _one_gate_backward(ctx, g, hs, back, need_h0):
    """(da_t = (g_t + dh_t) s'(a_t) for every t as one (T, B, H) array, dL/dh_0 or None);
    back(da_t) is what flows into h_{t-1}."""
    da = np.empty(g.shape, dtype=hs.dtype)
    dh = None
    for t in range(len(da) - 1, -1, -1):
        d = da[t]
        if dh is None:
            d[...] = g[t]
        else:
            np.add(g[t], dh, out=d)
        d *= ctx.act.slope(hs[t + 1])
        dh = None if _cut(t, ctx.truncate) or (t == 0 and not need_h0) else back(d)
    return da, dh


def _input_grads(xs, da, W, need_x):
    """(dx or None, dW, db) from da (T, B, H) of every step: dx_t = da_t W^T, dW = sum_t x_t^T da_t."""
    flat = da.reshape(-1, da.shape[-1])
    dx = (flat @ W.T).reshape(xs.shape) if need_x else None
    return dx, xs.reshape(len(flat), -1).T @ flat, flat.sum(axis=0)


class ElmanSequence(Function):
    """h_t = s(x_t W + h_{t-1} U + b), t = 1..T; the output is h_1..h_T (T, B, H).
    Backward, t = T..1: da_t = (g_t + dh_t) s'(a_t), dh_{t-1} = da_t U^T;
    dW = sum_t x_t^T da_t, dU = sum_t h_{t-1}^T da_t, db = sum_t da_t, dx_t = da_t W^T"""
    op_name = "elman sequence"

    @staticmethod
    def forward(ctx, xs, h0, W, U, b, activation="tanh", truncate=None):
        xs = xs.astype(W.dtype, copy=False)  # the layer's dtype; the engine casts dx back
        hs = _one_gate_forward(ctx, "elman", xs, h0, W, b, lambda h, out: np.matmul(h, U, out=out),
                               activation, truncate)
        ctx.save_for_backward(xs, hs, W, U)
        return hs[1:]

    @staticmethod
    def backward(ctx, g):
        xs, hs, W, U = ctx.saved_tensors
        need = ctx.needs_input_grad
        UT = np.ascontiguousarray(U.T)  # a transposed view would cost 1.4x per step
        da, dh0 = _one_gate_backward(ctx, g, hs, lambda d: d @ UT, need[1])
        dx, dW, db = _input_grads(xs, da, W, need[0])
        dU = hs[:-1].reshape(-1, hs.shape[-1]).T @ da.reshape(-1, da.shape[-1])
        return dx, dh0, dW, dU, db


class DampenedSequence(Function):
    """h_t = s(x_t W + lam h_{t-1} + b), t = 1..T; the output is h_1..h_T (T, B, H).
    Backward, t = T..1: da_t = (g_t + dh_t) s'(a_t), dh_{t-1} = lam da_t;
    dW = sum_t x_t^T da_t, dlam = sum_t sum(da_t h_{t-1}), db = sum_t da_t, dx_t = da_t W^T"""
    op_name = "dampened sequence"

    @staticmethod
    def forward(ctx, xs, h0, W, lam, b, activation="tanh", truncate=None):
        xs = xs.astype(W.dtype, copy=False)
        hs = _one_gate_forward(ctx, "dampened", xs, h0, W, b, lambda h, out: np.multiply(h, lam, out=out),
                               activation, truncate)
        ctx.save_for_backward(xs, hs, W, lam)
        return hs[1:]

    @staticmethod
    def backward(ctx, g):
        xs, hs, W, lam = ctx.saved_tensors
        need = ctx.needs_input_grad
        da, dh0 = _one_gate_backward(ctx, g, hs, lambda d: lam * d, need[1])
        dx, dW, db = _input_grads(xs, da, W, need[0])
        dlam = np.asarray(np.vdot(da, hs[:-1]), dtype=hs.dtype).reshape(np.shape(lam))
        return dx, dh0, dW, dlam, db


class LSTMSequence(Function):
    """The LSTM over t = 1..T: z = x_t W + h_{t-1} U + b cut into i, f, g, o; c_t = f c_{t-1} + i g,
    h_t = o tanh(c_t). The output is h_1..h_T and then c_T: (T + 1, B, H).
    Backward, t = T..1 (dh_t, dc_t: what flows back from step t+1; dc_T from the output):
    dh = g_t + dh_t;  dc = dh o (1 - tanh^2 c_t) + dc_t;
    dz = [dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dh tanh(c_t) o(1-o)];
    dh_{t-1} = dz U^T, dc_{t-1} = dc f;  dW = sum_t x_t^T dz_t, dU = sum_t h_{t-1}^T dz_t, db = sum_t dz_t"""
    op_name = "lstm sequence"

    @staticmethod
    def forward(ctx, xs, h0, c0, W, U, b, truncate=None):
        xs = xs.astype(W.dtype, copy=False)  # the layer's dtype; the engine casts dx back
        T, (B, H) = xs.shape[0], h0.shape
        ctx.op_name, ctx.truncate = f"lstm sequence, T={T}", truncate
        sign = np.array([-1.0, -1.0, -1.0, 1.0], dtype=W.dtype)[:, None, None]  # i, f, o: sigmoids
        xz = _input_side(xs, gates_first(W, 4, LSTM_ORDER) * sign, gates_first(b[None], 4, LSTM_ORDER) * sign)
        Un = gates_first(U, 4, LSTM_ORDER) * sign
        act = np.empty((T, 4, B, H), dtype=W.dtype)  # i, f, o, g of every step
        hs = np.empty((T + 2, B, H), dtype=W.dtype)  # h_0 .. h_T, then c_T: hs[1:] is the output
        cs = np.empty((T + 1, B, H), dtype=W.dtype)  # c_0 .. c_T
        tcs = np.empty((T, B, H), dtype=W.dtype)     # tanh c_1 .. tanh c_T
        hs[0], cs[0] = h0, c0
        ig = np.empty((B, H), dtype=W.dtype)
        with np.errstate(over="ignore"):
            for t in range(T):
                a = np.matmul(hs[t], Un, out=act[t])
                a += xz[:, t]
                _sigmoid_of_negated(a[:3])
                i, f, o, g = a
                np.tanh(g, out=g)
                c = np.multiply(f, cs[t], out=cs[t + 1])
                c += np.multiply(i, g, out=ig)
                np.multiply(o, np.tanh(c, out=tcs[t]), out=hs[t + 1])
        hs[T + 1] = cs[T]
        ctx.save_for_backward(xs, hs, cs, tcs, act, W, U)
        return hs[1:]

    @staticmethod
    def backward(ctx, g):
        xs, hs, cs, tcs, act, W, U = ctx.saved_tensors
        need = ctx.needs_input_grad
        T, _, B, H = act.shape
        UgT = np.ascontiguousarray(gates_first(U, 4, LSTM_ORDER).transpose(0, 2, 1))  # a view: 1.4x slower
        dz = np.empty((4, T, B, H), dtype=hs.dtype)  # i, f, o, g of every step
        tmp, dc, sd, q = (np.empty(s, dtype=hs.dtype) for s in ((B, H), (B, H), (3, B, H), (3, B, H)))
        back = np.empty((4, B, H), dtype=hs.dtype)
        dh, dc_next = None, g[T]
        for t in range(T - 1, -1, -1):
            i, f, o, gg = act[t]
            tc = tcs[t]
            dh_t = g[t] if dh is None else np.add(g[t], dh, out=dh)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= o
            np.multiply(dh_t, tmp, out=dc)
            if dc_next is not None:
                dc += dc_next
            np.subtract(1.0, act[t, :3], out=sd)  # s (1 - s) of i, f, o
            sd *= act[t, :3]
            np.multiply(dc, gg, out=q[0])
            np.multiply(dc, cs[t], out=q[1])
            np.multiply(dh_t, tc, out=q[2])
            np.multiply(q, sd, out=dz[:3, t])
            np.multiply(gg, gg, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= i
            np.multiply(dc, tmp, out=dz[3, t])
            if _cut(t, ctx.truncate) or (t == 0 and not (need[1] or need[2])):
                dh = dc_next = None
                continue
            dh = np.matmul(dz[:, t], UgT, out=back).sum(axis=0)
            dc_next = dc * f
        flat = dz.reshape(4, T * B, H)
        dx = None
        if need[0]:
            WgT = gates_first(W, 4, LSTM_ORDER).transpose(0, 2, 1)
            dx = np.matmul(flat, WgT).sum(axis=0).reshape(xs.shape)
        dW = gates_last(np.matmul(xs.reshape(T * B, -1).T, flat), LSTM_ORDER)
        dU = gates_last(np.matmul(hs[:T].reshape(T * B, H).T, flat), LSTM_ORDER)
        db = gates_last(flat.sum(axis=1)[:, None], LSTM_ORDER)[0]
        return dx, dh, dc_next, dW, dU, db


class GRUSequence(Function):
    """PyTorch's GRU over t = 1..T: r = s(x W_r + h U_r + b_r), z = s(x W_z + h U_z + b_z),
    n = tanh(x W_n + b_n + r hn) with hn = h_{t-1} U_n + b_hn, h_t = (1 - z) n + z h_{t-1}.
    The output is h_1..h_T (T, B, H). Backward, t = T..1: dh = g_t + dh_t; da_n = dh (1 - z)(1 - n^2);
    da_r = da_n hn r(1-r); da_z = dh (h_{t-1} - n) z(1-z); the hidden side gets [da_r, da_z, da_n r];
    dh_{t-1} = dh z + [da_r, da_z, da_n r] U^T; dW = sum_t x_t^T [da_r, da_z, da_n], db likewise,
    dU = sum_t h_{t-1}^T [da_r, da_z, da_n r], db_hn = sum_t da_n r"""
    op_name = "gru sequence"

    @staticmethod
    def forward(ctx, xs, h0, W, U, b, b_hn, truncate=None):
        xs = xs.astype(W.dtype, copy=False)  # the layer's dtype; the engine casts dx back
        T, (B, H) = xs.shape[0], h0.shape
        ctx.op_name, ctx.truncate = f"gru sequence, T={T}", truncate
        sign = np.array([-1.0, -1.0, 1.0], dtype=W.dtype)[:, None, None]  # r, z: sigmoids
        xa = _input_side(xs, gates_first(W, 3) * sign, gates_first(b[None], 3) * sign)
        Un = gates_first(U, 3) * sign
        hs = np.empty((T + 1, B, H), dtype=W.dtype)
        rz = np.empty((T, 2, B, H), dtype=W.dtype)  # r, z of every step
        ns = np.empty((T, B, H), dtype=W.dtype)
        hns = np.empty((T, B, H), dtype=W.dtype)    # h_{t-1} U_n + b_hn
        u = np.empty((3, B, H), dtype=W.dtype)
        hs[0] = h0
        with np.errstate(over="ignore"):
            for t in range(T):
                np.matmul(hs[t], Un, out=u)
                s = np.add(xa[:2, t], u[:2], out=rz[t])
                r, z = _sigmoid_of_negated(s)
                hn = np.add(u[2], b_hn, out=hns[t])
                n = np.multiply(r, hn, out=ns[t])
                n += xa[2, t]
                np.tanh(n, out=n)
                h = np.subtract(hs[t], n, out=hs[t + 1])
                h *= z
                h += n
        ctx.save_for_backward(xs, hs, rz, ns, hns, W, U)
        return hs[1:]

    @staticmethod
    def backward(ctx, g):
        xs, hs, rz, ns, hns, W, U = ctx.saved_tensors
        need = ctx.needs_input_grad
        T, _, B, H = rz.shape
        UgT = np.ascontiguousarray(gates_first(U, 3).transpose(0, 2, 1))
        dhid = np.empty((3, T, B, H), dtype=hs.dtype)  # d loss / d (h_{t-1} U + b_hn): r, z, n
        dan = np.empty((T, B, H), dtype=hs.dtype)      # d loss / d (x W_n + b_n)
        tmp, sd, q = (np.empty(s, dtype=hs.dtype) for s in ((B, H), (2, B, H), (2, B, H)))
        back = np.empty((3, B, H), dtype=hs.dtype)
        dh = None
        for t in range(T - 1, -1, -1):
            r, z = rz[t]
            n = ns[t]
            dh_t = g[t] if dh is None else np.add(g[t], dh, out=dh)
            d = np.multiply(n, n, out=dan[t])
            np.subtract(1.0, d, out=d)
            d *= np.subtract(1.0, z, out=tmp)
            d *= dh_t
            np.subtract(1.0, rz[t], out=sd)
            sd *= rz[t]
            np.multiply(d, hns[t], out=q[0])
            np.subtract(hs[t], n, out=q[1])
            q[1] *= dh_t
            np.multiply(q, sd, out=dhid[:2, t])
            np.multiply(d, r, out=dhid[2, t])
            if _cut(t, ctx.truncate) or (t == 0 and not need[1]):
                dh = None
                continue
            dh_z = dh_t * z
            dh = np.matmul(dhid[:, t], UgT, out=back).sum(axis=0)
            dh += dh_z
        X = xs.reshape(T * B, -1)
        flat, flat_n = dhid.reshape(3, T * B, H), dan.reshape(T * B, H)
        Wg = gates_first(W, 3)
        dx = None
        if need[0]:
            dx = np.matmul(flat[:2], Wg[:2].transpose(0, 2, 1)).sum(axis=0)
            dx += flat_n @ Wg[2].T
            dx = dx.reshape(xs.shape)
        dW = np.concatenate([gates_last(np.matmul(X.T, flat[:2])), X.T @ flat_n], axis=1)
        dU = gates_last(np.matmul(hs[:T].reshape(T * B, H).T, flat))
        sums = flat.sum(axis=1)
        db = np.concatenate([sums[0], sums[1], flat_n.sum(axis=0)])
        return dx, dh, dW, dU, db, sums[2]
