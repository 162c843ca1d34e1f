"""Optimisers and clipping: the update rules by hand, and step for step against torch.optim."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.optim import SGD, Adagrad, Adam, clip_grad_norm, clip_grad_value

A = np.array([[3.0, 0.5], [0.5, 1.0]])     # a fixed quadratic f(p) = 1/2 p^T A p - c^T p, gradient A p - c
C = np.array([1.0, -2.0])
P0 = np.array([0.7, -0.3])


def _quadratic(p):
    return 0.5 * ((p @ tg.Tensor(A)) * p).sum() - (p * tg.Tensor(C)).sum()


def _run_ours(make_opt, steps):
    p = tg.Tensor(P0.copy(), requires_grad=True)
    opt = make_opt([p])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        _quadratic(p).backward()
        opt.step()
        path.append(p.data.copy())
    return np.array(path)


def test_sgd_with_momentum_by_hand():
    lr, mu = 0.1, 0.9
    p, v, want = P0.copy(), None, []
    for _ in range(4):
        g = A @ p - C
        v = g if v is None else mu * v + g
        p = p - lr * v
        want.append(p)
    np.testing.assert_allclose(_run_ours(lambda ps: SGD(ps, lr, momentum=mu), 4), want, rtol=1e-14)


def test_adam_first_step_moves_each_coordinate_by_lr():
    # with bias correction, step 1 is lr * g / (|g| + eps'): a move of ~lr against the gradient's sign
    path = _run_ours(lambda ps: Adam(ps, lr=0.01), 1)
    g = A @ P0 - C
    np.testing.assert_allclose(path[0], P0 - 0.01 * np.sign(g), rtol=1e-6)


def test_adagrad_by_hand():
    lr, eps = 0.5, 1e-10
    p, s, want = P0.copy(), 0.0, []
    for _ in range(3):
        g = A @ p - C
        s = s + g * g
        p = p - lr * g / (np.sqrt(s) + eps)
        want.append(p)
    np.testing.assert_allclose(_run_ours(lambda ps: Adagrad(ps, lr=lr), 3), want, rtol=1e-14)


@pytest.mark.parametrize("name, ours, theirs", [
    ("sgd", lambda ps: SGD(ps, 0.1), lambda o, ps: o.SGD(ps, 0.1)),
    ("momentum", lambda ps: SGD(ps, 0.05, momentum=0.9), lambda o, ps: o.SGD(ps, 0.05, momentum=0.9)),
    ("adam", lambda ps: Adam(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-6),
     lambda o, ps: o.Adam(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-6)),
    ("adagrad", lambda ps: Adagrad(ps, lr=0.3), lambda o, ps: o.Adagrad(ps, lr=0.3)),
])
def test_same_path_as_torch_optim(name, ours, theirs):
    torch = pytest.importorskip("torch")
    steps = 6
    p = torch.tensor(P0.copy(), requires_grad=True)
    opt = theirs(torch.optim, [p])
    want = []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * p @ torch.tensor(A) @ p - torch.tensor(C) @ p
        loss.backward()
        opt.step()
        want.append(p.detach().numpy().copy())
    np.testing.assert_allclose(_run_ours(ours, steps), want, rtol=1e-13, atol=1e-15, err_msg=name)


def test_step_skips_parameters_without_gradient_and_never_writes_into_arrays():
    data = np.ones(3)
    data.setflags(write=False)            # a read-only array: updates must make new arrays
    p = tg.Tensor(data, requires_grad=True)
    q = tg.Tensor(np.ones(2), requires_grad=True)
    p.grad = np.broadcast_to(np.array(2.0), (3,))   # a read-only broadcast view, as the engine may give
    opt = Adam([p, q], lr=0.1)
    opt.step()
    assert np.array_equal(data, np.ones(3)) and np.allclose(p.data, 0.9)
    assert np.array_equal(q.data, np.ones(2))
    SGD([p], 0.1, momentum=0.5).step()
    clip_grad_norm([p], 1.0)
    clip_grad_value([p], 0.5)


def test_clip_grad_norm_is_global_and_returns_the_norm_before():
    a, b = tg.Tensor(np.zeros(2), requires_grad=True), tg.Tensor(np.zeros(1), requires_grad=True)
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    total = clip_grad_norm([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.r_[a.grad, b.grad], np.array([3.0, 0.0, 4.0]) / 5.0, rtol=1e-6)
    assert clip_grad_norm([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(np.r_[a.grad, b.grad], np.array([3.0, 0.0, 4.0]) / 5.0, rtol=1e-6)  # untouched


def test_clip_grad_norm_and_value_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 2)) * 4, rng.standard_normal(5)]
    ours = [tg.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        o.grad, t.grad = g.copy(), torch.tensor(g)
    want = torch.nn.utils.clip_grad_norm_(theirs, 2.0).item()
    assert clip_grad_norm(ours, 2.0) == pytest.approx(want, rel=1e-14)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-14)
    clip_grad_value(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.grad, t.grad.numpy())


def test_optimizer_arguments_are_checked():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], 0.1)
    with pytest.raises(TypeError, match="not a Tensor"):
        Adam([np.zeros(2)])
    p = tg.Tensor(np.zeros(1), requires_grad=True)
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], 0.1)
    p.grad = np.array([3.0])
    assert clip_grad_norm(p, 1.0) == 3.0     # a single tensor is accepted, as in PyTorch
    with pytest.raises(ValueError, match="betas"):
        Adam([tg.Tensor(np.zeros(1), requires_grad=True)], betas=(1.0, 0.9))


def test_training_an_elman_cell_reduces_the_loss():
    rng = np.random.default_rng(0)
    cell = tg.nn.ElmanCell(1, 8, rng=rng)
    head = tg.nn.Linear(8, 1, rng=rng)
    xs = rng.standard_normal((6, 16, 1))
    target = xs.sum(axis=0) * 0.3            # the running sum, read at the end
    opt = Adam(cell.parameters() + head.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        hs, _ = tg.nn.unroll(cell, xs)
        loss = tg.nn.mse_loss(head(hs[-1]), target)
        loss.backward(keep_intermediate=False)
        clip_grad_norm(cell.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.parametrize("make_opt", [lambda ps: Adam(ps, lr=1e-3), lambda ps: Adagrad(ps, lr=1e-3),
                                      lambda ps: SGD(ps, lr=1.0, momentum=0.9)])
def test_float16_parameters_keep_float32_state_and_move_as_in_float32(make_opt):
    # Adam's g^2 (1e-8) and eps underflowed in float16: a 1e-4 gradient moved 1 -> -10.9 in one step
    p16 = tg.Tensor(np.ones(3, dtype=np.float16), requires_grad=True)
    p32 = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    o16, o32 = make_opt([p16]), make_opt([p32])
    for _ in range(5):
        p16.grad, p32.grad = np.full(3, 1e-4, np.float16), np.full(3, np.float16(1e-4), np.float32)
        o16.step()
        o32.step()
        assert p16.dtype == np.float16
        np.testing.assert_allclose(p16.data, p32.data.astype(np.float16), rtol=1e-3)
    assert 0.99 < p16.data[0] < 1.0
    assert all(a.dtype == np.float32 for a in o16.state[id(p16)].values() if isinstance(a, np.ndarray))


def test_a_grad_of_another_shape_is_refused_not_broadcast_into_the_parameter():
    for opt in (SGD, Adam, Adagrad):
        p = tg.Tensor(np.zeros(3), requires_grad=True, name="w")
        p.grad = np.ones((2, 3))     # numpy would have made p.data (2, 3)
        with pytest.raises(ValueError, match=rf"{opt.__name__}.step: parameter 0 \('w'\) has shape \(3,\) "
                                             r"but .grad has shape \(2, 3\)"):
            opt([p], lr=0.1).step()
        assert p.shape == (3,) and (p.data == 0).all()


@pytest.mark.parametrize("bound", [-1.0, -1e-9, float("nan"), "1", None])
def test_clipping_refuses_a_negative_or_non_numeric_bound(bound):
    p = tg.Tensor(np.zeros(2), requires_grad=True)
    p.grad = np.array([0.5, -2.0])
    with pytest.raises(ValueError, match="clip_grad_value: clip_value must be a number >= 0"):
        clip_grad_value([p], bound)      # -1 used to set every gradient to -1
    with pytest.raises(ValueError, match="clip_grad_norm: max_norm must be a number >= 0"):
        clip_grad_norm([p], bound)       # -1 used to flip them
    np.testing.assert_array_equal(p.grad, [0.5, -2.0])
    clip_grad_value([p], 0)              # 0 is a bound (PyTorch accepts it)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])
