"""Exercise 1: the backward of an op. tanh, then sigmoid, as `tg.Function`s.

Checked on fixed inputs against the derivative (which element, expected vs got, a hint), then with
`check_op`: hypothesis-drawn shapes and values, gradients against central finite differences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .feedback import WrongAnswer, verdict
from .runner import StudentError, need, student_call, where

TITLE = "The backward of an op: tanh, then sigmoid via tg.Function"

STUB = '''"""Exercise 1: the backward of an op.

An op is a `tg.Function`: forward(ctx, a) gets numpy arrays and returns the output array;
backward(ctx, g) gets g = dL/dy (same shape as y) and returns dL/da = g * dy/da.
Save what backward needs with ctx.save_for_backward(...); read it back with ctx.saved_tensors.

1. Tanh: y = tanh(a). Its forward is written. Write backward, using the saved output y:
   dy/da = 1 - tanh(a)^2 = 1 - y^2.
2. Sigmoid: y = 1 / (1 + exp(-a)). Write forward and backward: dy/da = y (1 - y).

Check with:  tinygrad-rnn exercise check 1 THIS_FILE
"""

import numpy as np

import tinygrad_rnn as tg


class Tanh(tg.Function):
    @staticmethod
    def forward(ctx, a):
        y = np.tanh(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        raise NotImplementedError("Tanh.backward: return dL/da")


class Sigmoid(tg.Function):
    @staticmethod
    def forward(ctx, a):
        raise NotImplementedError("Sigmoid.forward: compute y and save what backward needs")

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("Sigmoid.backward: return dL/da")
'''

_A = np.array([[0.5, -1.2, 2.0], [-0.3, 0.9, -2.4]])  # the fixed input
_G = np.array([[0.7, -1.3, 0.4], [1.1, 0.6, -0.8]])   # dL/dy: not all ones, so forgetting g shows


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _op_hints(y: np.ndarray, d: np.ndarray, a: np.ndarray, name: str) -> list:
    """Typical wrong backwards of y = op(a) with dL/dy = _G and the right local derivative d."""
    g = _G
    hints = [
        ("you returned dL/dy unchanged: multiply it by the local derivative dy/da", lambda: g),
        ("you returned the local derivative dy/da alone: multiply it by g = dL/dy (the chain rule)",
         lambda: d),
        ("your gradient is off by a factor of the output y: check where y appears in dy/da",
         lambda: g * d * y),
        ("your gradient is off by a factor of the output y: check where y appears in dy/da",
         lambda: g * d / y),
    ]
    if name == "Tanh":
        hints += [("you used the input a where the output y belongs: tanh'(a) = 1 - tanh(a)^2 = 1 - y^2",
                   lambda: g * (1 - a ** 2)),
                  ("sign error in the derivative: tanh'(a) = 1 - y^2, not y^2 - 1", lambda: g * (y ** 2 - 1)),
                  ("the derivative of tanh is 1 - y^2, not 1 - y", lambda: g * (1 - y))]
    else:
        hints += [("you used the input a where the output y belongs: sigmoid'(a) = y (1 - y)",
                   lambda: g * a * (1 - a)),
                  ("off by a factor (1 - y): sigmoid'(a) = y (1 - y)", lambda: g * y),
                  ("off by a factor y: sigmoid'(a) = y (1 - y)", lambda: g * (1 - y)),
                  ("that is tanh's derivative; sigmoid'(a) = y (1 - y)", lambda: g * (1 - y ** 2))]
    return hints


def _check_one(path: Path, op: Any, name: str, reference: Any) -> None:
    import tinygrad_rnn as tg
    if not (isinstance(op, type) and issubclass(op, tg.Function)):
        raise StudentError(f"{name} must be a subclass of tg.Function (got {type(op).__name__})")
    a = tg.Tensor(_A.copy(), requires_grad=True, name="a")
    out = student_call(path, op.apply, a, what=f"{name}.forward")
    y = reference(_A)
    verdict(f"{name}.forward(a)", out.data, y)
    student_call(path, out.backward, tg.Tensor(_G), what=f"{name}.backward")
    if a.grad is None:
        raise WrongAnswer(f"{name}.backward: input a got no gradient: return dL/da (one array per input)")
    d = 1 - y ** 2 if name == "Tanh" else y * (1 - y)
    verdict(f"{name}.backward, gradient of input 0 (a) at a = {_A.tolist()}, dL/dy = {_G.tolist()}",
            a.grad, _G * d, _op_hints(y, d, _A, name))
    _property(path, op, name, reference)


def _property(path: Path, op: Any, name: str, reference: Any) -> None:
    """check_op over hypothesis-drawn shapes and values (skipped, with a note, without hypothesis)."""
    import tinygrad_rnn as tg
    try:
        from ..testing import check_op
    except ImportError:  # hypothesis is a test dependency: fall back to a few fixed shapes
        rng = np.random.default_rng(0)
        for shape in [(), (1,), (4,), (2, 3, 2)]:
            try:
                tg.gradcheck(op.apply, [rng.uniform(-2, 2, shape)])
            except AssertionError as e:
                raise WrongAnswer(f"{name}, input of shape {shape}: {e}") from None
            except Exception as e:
                raise StudentError(f"{name} raised on an input of shape {shape}: {where(e, path)}") from None
        return
    try:
        check_op(op, reference, domain=(-3.0, 3.0), max_examples=25)
    except AssertionError as e:  # GradcheckError included: the smallest failing draw hypothesis found
        raise WrongAnswer(f"{name}: check_op found inputs where your op is wrong:\n{e}") from None
    except Exception as e:
        raise StudentError(f"{name} raised under check_op: {where(e, path)}") from None

def check(ns: dict[str, Any], path: Path) -> list[str]:
    """Raise WrongAnswer or StudentError at the first problem; return what passed."""
    _check_one(path, need(ns, "Tanh", path), "Tanh", np.tanh)
    _check_one(path, need(ns, "Sigmoid", path), "Sigmoid", _sigmoid)
    return ["Tanh: forward and backward match the derivative and finite differences",
            "Sigmoid: forward and backward match the derivative and finite differences"]
