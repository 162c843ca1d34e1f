"""Optimisers (PyTorch's update rules, step for step) and gradient clipping.

Updates assign new arrays to `p.data` and `p.grad` instead of writing into them: an array a
Tensor was made from, or a gradient that is a broadcast view, is never modified. The update and
the optimizer's state are computed in float32 at least: in float16, Adam's g^2 and eps underflow.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .engine.tensor import Tensor


def _param_list(params: Iterable[Tensor] | Tensor, who: str) -> list[Tensor]:
    params = [params] if isinstance(params, Tensor) else list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameter {i} is a {type(p).__name__}, not a Tensor")
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{who}: a parameter appears more than once in the list; it would be "
                         "updated twice per step")
    return params


class Optimizer:
    """Holds the parameters; `step()` updates those that have a gradient."""

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        _check_bound(lr, type(self).__name__, "learning rate lr")
        self.params = _param_list(params, type(self).__name__)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list (pass module.parameters())")
        self.lr = lr
        self.state: dict[int, dict[str, np.ndarray]] = {id(p): {} for p in self.params}

    def zero_grad(self) -> None:
        """Forget the gradients (set to None, as PyTorch does by default)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update of every parameter whose .grad is set (a .grad of another shape is refused)."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            who = f"{type(self).__name__}.step: parameter {i}" + (f" ({p.name!r})" if p.name else "")
            try:
                g = np.asarray(p.grad)
            except ValueError as e:  # a ragged list
                raise TypeError(f"{who}: .grad is not an array: {e}") from None
            if g.dtype.kind not in "fiub":
                raise TypeError(f"{who}: .grad has dtype {g.dtype}; it must hold real numbers")
            if g.shape != p.shape:  # numpy would broadcast p.data to the gradient's shape
                raise ValueError(f"{who} has shape {p.shape} but .grad has shape {g.shape}; give it a "
                                 "gradient of its own shape")
            work = np.promote_types(p.dtype, np.float32)  # float16 state would underflow
            g = g.astype(work, copy=False)
            p.data = (p.data.astype(work, copy=False) - self._update(p, g, self.state[id(p)])).astype(
                p.dtype, copy=False)

    def _update(self, p: Tensor, g: np.ndarray, state: dict) -> np.ndarray:
        raise NotImplementedError


class SGD(Optimizer):
    """v <- momentum * v + g (v = g at the first step);  p <- p - lr * v  (plain SGD if momentum = 0)."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        if momentum < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {momentum}")
        self.momentum = momentum

    def _update(self, p, g, state):
        if self.momentum:
            v = state.get("v")
            state["v"] = v = g.copy() if v is None else self.momentum * v + g
            g = v
        return self.lr * g


class Adam(Optimizer):
    """Kingma & Ba (2015): m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        self.betas, self.eps = tuple(betas), eps

    def _update(self, p, g, state):
        b1, b2 = self.betas
        t = state["t"] = state.get("t", 0) + 1
        m = state.get("m", 0.0)
        m = state["m"] = m + (1 - b1) * (g - m)  # = b1 m + (1-b1) g, in PyTorch's rounding
        v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + self.eps
        return (self.lr / (1 - b1 ** t)) * m / denom


class Adagrad(Optimizer):
    """Duchi et al. (2011): s <- s + g^2;  p <- p - lr * g / (sqrt(s) + eps)."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.eps = eps

    def _update(self, p, g, state):
        s = state["s"] = state.get("s", 0.0) + g * g
        return self.lr * g / (np.sqrt(s) + self.eps)


def clip_grad_norm(params: Iterable[Tensor] | Tensor, max_norm: float) -> float:
    """Pascanu et al. (2013): if ||g|| > max_norm over all gradients together, scale them all by
    max_norm / (||g|| + 1e-6). Returns ||g|| before clipping."""
    _check_bound(max_norm, "clip_grad_norm", "max_norm")
    grads = [p for p in _param_list(params, "clip_grad_norm") if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64))) for p in grads)))
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in grads:
            p.grad = (p.grad * coef).astype(p.grad.dtype, copy=False)
    return total


def clip_grad_value(params: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value] (min-char-rnn's clip)."""
    _check_bound(clip_value, "clip_grad_value", "clip_value")
    for p in _param_list(params, "clip_grad_value"):
        if p.grad is not None:
            p.grad = np.clip(p.grad, -clip_value, clip_value)


def _check_bound(value: float, fn: str, name: str) -> None:
    """A learning rate or clipping bound must be a number >= 0 (a negative bound would flip or pin
    every gradient)."""
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (number and value >= 0):  # NaN fails value >= 0 too
        raise ValueError(f"{fn}: {name} must be a number >= 0, got {value!r}")
