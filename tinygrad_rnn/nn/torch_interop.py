"""Weights to and from PyTorch. PyTorch is imported only here, and only when called.

The cells map to torch.nn.RNNCell/LSTMCell/GRUCell, the whole-sequence layers (speed/sequence.py,
built on the cells) to single-layer torch.nn.RNN/LSTM/GRU; either side reads both torch forms.

Layout: torch keeps weight_ih (gates*H, I), weight_hh (gates*H, H) and two biases; ours is
W = weight_ih.T, U = weight_hh.T, b = bias_ih + bias_hh (same gate order: LSTM i, f, g, o;
GRU r, z, n). The GRU's n-gate hidden bias stays apart as b_hn, because r multiplies it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cells import ElmanCell, GRUCell, LSTMCell

# ours -> (torch cell class, torch layer class, number of gate blocks)
_KINDS = {ElmanCell: ("RNNCell", "RNN", 1), LSTMCell: ("LSTMCell", "LSTM", 4), GRUCell: ("GRUCell", "GRU", 3)}


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:
        raise ImportError("PyTorch interop needs torch: pip install torch (tinygrad_rnn itself does "
                          "not need it)") from e
    return torch


def _kind(cls: type, who: str) -> tuple[str, str, int]:
    for ours, kind in _KINDS.items():
        if issubclass(cls, ours):
            return kind
    raise TypeError(f"{who} has no PyTorch counterpart; only ElmanCell and RNN, LSTMCell and LSTM, "
                    "GRUCell and GRU convert")


def _weights(module: Any, cls: type, who: str) -> dict[str, np.ndarray]:
    """weight_ih, weight_hh, bias_ih, bias_hh (zeros if bias=False) of a torch cell or 1-layer RNN."""
    torch = _torch()
    cell_name, layer_name, gates = _kind(cls, who)
    cell_t, layer_t = getattr(torch.nn, cell_name), getattr(torch.nn, layer_name)
    if isinstance(module, layer_t):
        problems = []
        if module.num_layers != 1:
            problems.append(f"num_layers={module.num_layers}")
        if module.bidirectional:
            problems.append("bidirectional=True")
        if getattr(module, "proj_size", 0):
            problems.append(f"proj_size={module.proj_size}")
        if problems:
            raise ValueError(f"{who}.from_torch: only a single-layer unidirectional torch.nn."
                             f"{layer_name} converts; this one has {', '.join(problems)}")
        suffix = "_l0"
    elif isinstance(module, cell_t):
        suffix = ""
    else:
        raise TypeError(f"{who}.from_torch: expects a torch.nn.{cell_name} or a single-layer "
                        f"torch.nn.{layer_name}, got {type(module).__name__}")
    out = {}
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        p = getattr(module, name + suffix, None)
        out[name] = None if p is None else p.detach().cpu().numpy().copy()
    for name in ("bias_ih", "bias_hh"):
        if out[name] is None:
            out[name] = np.zeros(gates * module.hidden_size, dtype=out["weight_ih"].dtype)
    out["nonlinearity"] = getattr(module, "nonlinearity", "tanh")
    return out


def cell_from_torch(cls: type, module: Any, dtype: Any = None, who: str | None = None,
                    **cell_kwargs: Any) -> Any:
    """A cls (ElmanCell, LSTMCell or GRUCell) holding the torch module's weights; dtype follows torch's.
    `who` names the caller in errors (a layer class built on the cell); the cell's name by default."""
    w = _weights(module, cls, who or cls.__name__)
    dtype = np.dtype(dtype or w["weight_ih"].dtype)
    H, n_in = w["weight_hh"].shape[1], w["weight_ih"].shape[1]
    kwargs = dict(cell_kwargs)
    if issubclass(cls, ElmanCell):
        kwargs["activation"] = w["nonlinearity"]
    if issubclass(cls, LSTMCell):
        kwargs["forget_bias"] = 0.0
    cell = cls(n_in, H, rng=0, dtype=dtype, **kwargs)
    state = {"W": w["weight_ih"].T, "U": w["weight_hh"].T}
    if issubclass(cls, GRUCell):
        state["b"] = np.concatenate([w["bias_ih"][:2 * H] + w["bias_hh"][:2 * H], w["bias_ih"][2 * H:]])
        state["b_hn"] = w["bias_hh"][2 * H:]
    else:
        state["b"] = w["bias_ih"] + w["bias_hh"]
    cell.load_state_dict(state)
    return cell


def cell_to_torch(cell: Any, layer: bool = False, who: str | None = None) -> Any:
    """The torch cell (or, with layer=True, single-layer torch RNN/LSTM/GRU) with cell's weights.

    Our single bias goes to bias_ih; bias_hh is zero (except the GRU's n block, which gets b_hn).
    `who` names the caller in errors; the cell's class by default.
    """
    torch = _torch()
    who = who or type(cell).__name__
    cell_name, layer_name, _ = _kind(type(cell), who)
    kwargs = {}
    if isinstance(cell, ElmanCell):
        if cell.activation not in ("tanh", "relu"):
            raise ValueError(f"{who}.to_torch: torch RNNs support tanh or relu, not {cell.activation!r}")
        kwargs["nonlinearity"] = cell.activation
    dtype = getattr(torch, cell.dtype.name)
    H = cell.hidden_size
    module = getattr(torch.nn, layer_name if layer else cell_name)(cell.input_size, H, dtype=dtype, **kwargs)
    bias_hh = np.zeros_like(cell.b.data)
    if isinstance(cell, GRUCell):
        bias_hh[2 * H:] = cell.b_hn.data
    suffix = "_l0" if layer else ""
    values = {"weight_ih": cell.W.data.T, "weight_hh": cell.U.data.T, "bias_ih": cell.b.data,
              "bias_hh": bias_hh}
    with torch.no_grad():
        for name, value in values.items():
            getattr(module, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return module
