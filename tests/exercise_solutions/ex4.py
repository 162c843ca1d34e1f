"""Reference solution of exercise 4 (one LSTM step backward, gate by gate)."""

import numpy as np


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def step_forward(x, h_prev, c_prev, W, U, b):
    H = h_prev.shape[1]
    z = x @ W + h_prev @ U + b
    i, f = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H])
    g, o = np.tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (i, f, g, o)


def step_backward(x, h_prev, c_prev, W, U, b, dh, dc):
    h, c, (i, f, g, o) = step_forward(x, h_prev, c_prev, W, U, b)
    tc = np.tanh(c)
    do = dh * tc
    dc_t = dc + dh * o * (1 - tc ** 2)
    di, df, dg = dc_t * g, dc_t * c_prev, dc_t * i
    dc_prev = dc_t * f
    dz = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
    return dz, dc_prev
