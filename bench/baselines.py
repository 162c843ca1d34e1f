"""Hand-written numpy forward + hand-derived BPTT: the bar the engine is measured against.

Every function takes the cell's parameters as numpy arrays and the inputs xs (T, B, I),
starts from the zero state, and returns (loss, grads) with

    loss = sum_t sum(h_t ** 2),   grads[name] = d loss / d parameter name.

Row-vector convention as in tinygrad_rnn (x_t is (B, I), h_t is (B, H), W is (I, .)).
The code is the textbook one, step by step, so that it makes the same numpy calls a
primitive-op framework must make, and nothing else: no graph, no bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Params = dict[str, np.ndarray]
Result = tuple[float, Params]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """s(a) = 1 / (1 + e^-a): the formula the engine's Sigmoid uses, so ratios measure the engine."""
    with np.errstate(over="ignore"):  # e^-a = inf for a < -709 gives exactly 0
        return 1.0 / (1.0 + np.exp(-a))


# activation name -> (s, ds/da written in terms of the output h = s(a))
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, lambda h: 1.0 - h * h),
    "sigmoid": (sigmoid, lambda h: h * (1.0 - h)),
}


def dampened(p: Params, xs: np.ndarray, activation: str = "tanh") -> Result:
    """h_t = s(x_t W + lam h_{t-1} + b); params W (I, H), b (H,), lam (scalar array)."""
    s, ds = ACTIVATIONS[activation]
    W, b, lam = p["W"], p["b"], p["lam"]
    T, B = xs.shape[:2]
    hs = [np.zeros((B, W.shape[1]), dtype=W.dtype)]  # hs[t] = h_t, hs[0] = h_0
    loss = 0.0
    for t in range(T):
        h = s(xs[t] @ W + lam * hs[-1] + b)
        hs.append(h)
        loss += float(np.sum(h * h))

    dW, db, dlam = np.zeros_like(W), np.zeros_like(b), np.zeros_like(lam)
    dh_next = np.zeros_like(hs[0])  # dL/dh_t through h_{t+1}
    for t in range(T, 0, -1):
        h = hs[t]
        da = (2.0 * h + dh_next) * ds(h)
        dW += xs[t - 1].T @ da
        db += da.sum(axis=0)
        dlam += np.sum(da * hs[t - 1])
        dh_next = lam * da
    return loss, {"W": dW, "b": db, "lam": dlam}


def elman(p: Params, xs: np.ndarray, activation: str = "tanh") -> Result:
    """h_t = s(x_t W + h_{t-1} U + b); params W (I, H), U (H, H), b (H,)."""
    s, ds = ACTIVATIONS[activation]
    W, U, b = p["W"], p["U"], p["b"]
    T, B = xs.shape[:2]
    hs = [np.zeros((B, U.shape[0]), dtype=W.dtype)]
    loss = 0.0
    for t in range(T):
        h = s(xs[t] @ W + hs[-1] @ U + b)
        hs.append(h)
        loss += float(np.sum(h * h))

    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh_next = np.zeros_like(hs[0])
    for t in range(T, 0, -1):
        h = hs[t]
        da = (2.0 * h + dh_next) * ds(h)
        dW += xs[t - 1].T @ da
        dU += hs[t - 1].T @ da
        db += da.sum(axis=0)
        dh_next = da @ U.T
    return loss, {"W": dW, "U": dU, "b": db}


def lstm(p: Params, xs: np.ndarray) -> Result:
    """LSTM, gates i, f, g, o: z = x_t W + h_{t-1} U + b; c_t = f c_{t-1} + i g; h_t = o tanh(c_t).

    Params W (I, 4H), U (H, 4H), b (4H,).
    """
    W, U, b = p["W"], p["U"], p["b"]
    T, B = xs.shape[:2]
    H = U.shape[0]
    hs = [np.zeros((B, H), dtype=W.dtype)]
    cs = [np.zeros((B, H), dtype=W.dtype)]
    gates = []  # (i, f, g, o, tanh c_t) of every step
    loss = 0.0
    for t in range(T):
        z = xs[t] @ W + hs[-1] @ U + b
        i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), sigmoid(z[:, 3 * H:])
        g = np.tanh(z[:, 2 * H:3 * H])
        c = f * cs[-1] + i * g
        tc = np.tanh(c)
        h = o * tc
        hs.append(h)
        cs.append(c)
        gates.append((i, f, g, o, tc))
        loss += float(np.sum(h * h))

    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh_next, dc_next = np.zeros_like(hs[0]), np.zeros_like(cs[0])
    dz = np.empty((B, 4 * H), dtype=W.dtype)
    for t in range(T, 0, -1):
        i, f, g, o, tc = gates[t - 1]
        dh = 2.0 * hs[t] + dh_next
        dc = dh * o * (1.0 - tc * tc) + dc_next
        dz[:, :H] = dc * g * i * (1.0 - i)                  # input gate
        dz[:, H:2 * H] = dc * cs[t - 1] * f * (1.0 - f)     # forget gate
        dz[:, 2 * H:3 * H] = dc * i * (1.0 - g * g)         # candidate
        dz[:, 3 * H:] = dh * tc * o * (1.0 - o)             # output gate
        dW += xs[t - 1].T @ dz
        dU += hs[t - 1].T @ dz
        db += dz.sum(axis=0)
        dh_next = dz @ U.T
        dc_next = dc * f
    return loss, {"W": dW, "U": dU, "b": db}


def gru(p: Params, xs: np.ndarray) -> Result:
    """GRU as in PyTorch, gates r, z, n (two n-gate biases kept apart).

    r = s(x W_r + h U_r + b_r), z = s(x W_z + h U_z + b_z), n = tanh(x W_n + b_in + r (h U_n + b_hn)),
    h_t = (1 - z) n + z h_{t-1}. Params W (I, 3H), U (H, 3H), b (3H,) (the input side, with
    the r and z biases), b_hn (H,).
    """
    W, U, b, b_hn = p["W"], p["U"], p["b"], p["b_hn"]
    T, B = xs.shape[:2]
    H = U.shape[0]
    hs = [np.zeros((B, H), dtype=W.dtype)]
    saved = []  # (r, z, n, h U_n + b_hn) of every step
    loss = 0.0
    for t in range(T):
        xw = xs[t] @ W + b
        hu = hs[-1] @ U
        r = sigmoid(xw[:, :H] + hu[:, :H])
        z = sigmoid(xw[:, H:2 * H] + hu[:, H:2 * H])
        hn = hu[:, 2 * H:] + b_hn
        n = np.tanh(xw[:, 2 * H:] + r * hn)
        h = (1.0 - z) * n + z * hs[-1]
        hs.append(h)
        saved.append((r, z, n, hn))
        loss += float(np.sum(h * h))

    dW, dU, db, db_hn = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b), np.zeros_like(b_hn)
    dh_next = np.zeros_like(hs[0])
    d_in = np.empty((B, 3 * H), dtype=W.dtype)   # d loss / d (x W + b)
    d_hid = np.empty((B, 3 * H), dtype=W.dtype)  # d loss / d (h U)
    for t in range(T, 0, -1):
        r, z, n, hn = saved[t - 1]
        h_prev = hs[t - 1]
        dh = 2.0 * hs[t] + dh_next
        dan = dh * (1.0 - z) * (1.0 - n * n)
        d_in[:, :H] = d_hid[:, :H] = dan * hn * r * (1.0 - r)
        d_in[:, H:2 * H] = d_hid[:, H:2 * H] = dh * (h_prev - n) * z * (1.0 - z)
        d_in[:, 2 * H:] = dan
        d_hid[:, 2 * H:] = dan * r
        dW += xs[t - 1].T @ d_in
        dU += h_prev.T @ d_hid
        db += d_in.sum(axis=0)
        db_hn += d_hid[:, 2 * H:].sum(axis=0)
        dh_next = dh * z + d_hid @ U.T
    return loss, {"W": dW, "U": dU, "b": db, "b_hn": db_hn}


BASELINES: dict[str, Callable[..., Result]] = {
    "dampened": dampened, "elman": elman, "lstm": lstm, "gru": gru,
}

# parameter shapes of each cell, as functions of (input size, hidden size)
SHAPES: dict[str, Callable[[int, int], dict[str, tuple[int, ...]]]] = {
    "dampened": lambda n_in, H: {"W": (n_in, H), "b": (H,), "lam": ()},
    "elman": lambda n_in, H: {"W": (n_in, H), "U": (H, H), "b": (H,)},
    "lstm": lambda n_in, H: {"W": (n_in, 4 * H), "U": (H, 4 * H), "b": (4 * H,)},
    "gru": lambda n_in, H: {"W": (n_in, 3 * H), "U": (H, 3 * H), "b": (3 * H,), "b_hn": (H,)},
}


def init_params(cell: str, input_size: int, hidden_size: int, rng: np.random.Generator,
                dtype=np.float64) -> Params:
    """Uniform(-1/sqrt(H), 1/sqrt(H)) parameters of the given shapes (lam in (0, 1))."""
    k = 1.0 / np.sqrt(hidden_size)
    shapes = SHAPES[cell](input_size, hidden_size)
    p = {name: rng.uniform(-k, k, shape).astype(dtype) for name, shape in shapes.items()}
    if "lam" in p:
        p["lam"] = np.asarray(rng.uniform(0.2, 0.8), dtype=dtype)
    return p
