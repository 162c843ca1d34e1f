"""Graph shapes that broke other engines, gradient bookkeeping across backward calls, the
recording context (no_grad, scope, threads), deep chains, memory and dtypes."""

import contextlib
import gc
import threading
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.engine.autograd import backward, toposort

# ---- graph shapes ---------------------------------------------------------------------


def test_reuse_b_is_a_plus_a_c_is_b_plus_b():
    a = tg.Tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert c.item() == 12.0
    assert a.grad == 4.0 and b.grad == 2.0 and c.grad == 1.0


def test_zero_dim_tensor_used_many_times_gets_every_contribution():
    a = tg.Tensor(2.0, requires_grad=True)
    (a * a * a).backward()  # d a^3 = 3 a^2
    assert a.grad == 12.0 and isinstance(a.grad, np.ndarray)
    s = tg.Tensor([1.0, 2.0], requires_grad=True).sum()
    (s + s + s + s).backward()
    assert s.grad == 4.0


def test_zero_dim_parameter_broadcast_into_a_matrix_at_every_step_gets_every_contribution():
    lam = tg.Tensor(0.5, requires_grad=True)  # like the dampening factor of an unrolled cell
    h0 = np.linspace(0.1, 1.0, 6).reshape(2, 3)
    h = tg.Tensor(h0)
    for _ in range(3):
        h = (lam * h).tanh()
    h.sum().backward()
    assert isinstance(lam.grad, np.ndarray) and lam.grad.shape == ()

    def f(v):
        a = h0
        for _ in range(3):
            a = np.tanh(v * a)
        return a.sum()
    numeric = (f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6
    assert lam.grad == pytest.approx(numeric, rel=1e-7)


def test_diamond():
    a = tg.Tensor([1.5, -2.0], requires_grad=True)
    b, c = a * 2.0, a * 3.0
    d = (b * c).sum()  # 6 a^2
    d.backward()
    np.testing.assert_allclose(a.grad, 12 * a.data)
    np.testing.assert_allclose(b.grad, c.data)
    np.testing.assert_allclose(c.grad, b.data)


def test_tensor_in_both_branches_of_a_product():
    x = tg.Tensor([0.3, -1.2, 2.0], requires_grad=True)
    ((x + 1.0) * x.tanh()).sum().backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad, t + (x.data + 1) * (1 - t ** 2), rtol=1e-14)
    y = tg.Tensor([0.5, 4.0], requires_grad=True)
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad, 2 * y.data)


def test_toposort_puts_each_tensor_once_after_its_parents():
    a = tg.Tensor(1.0, requires_grad=True)
    b = a * 2.0
    c = b + a
    d = (c * b) + (c * a)
    order = toposort(d)
    assert len(order) == len({id(t) for t in order}) == 6  # a, b, c, c*b, c*a, d; no constants
    pos = {id(t): i for i, t in enumerate(order)}
    for t in order:
        assert all(pos[id(p)] < pos[id(t)] for p in t.parents if p.requires_grad)
    assert order[-1] is d
    assert backward(d) == order


def test_leaf_grads_are_their_own_arrays_not_aliases():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    b = tg.Tensor([3.0, 4.0], requires_grad=True)
    c = a + b  # add hands the same gradient array to both inputs
    c.backward(np.array([1.0, 1.0]))
    a.grad *= 5.0  # an optimizer may scale in place
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(c.grad, [1.0, 1.0])
    a.grad[...] = 0.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_backward_of_a_leaf_copies_the_given_grad():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    g = np.array([3.0, 4.0])
    x.backward(g)
    g[0] = 100.0
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ---- gradients across backward calls --------------------------------------------------


def test_repeated_backward_accumulates_on_leaves_and_retained_replaces_intermediates():
    w = tg.Tensor([1.0, -2.0], requires_grad=True)
    h = (w * 3.0).retain_grad()
    z = h * 2.0
    loss = z.sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [12.0, 12.0])  # 2 passes x 6
    np.testing.assert_array_equal(h.grad, [4.0, 4.0])    # retained: accumulates too
    np.testing.assert_array_equal(z.grad, [1.0, 1.0])    # intermediate: this pass's only
    w.grad = None
    loss.backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])


def test_accumulation_makes_a_new_array_so_old_references_keep_their_values():
    w = tg.Tensor([1.0], requires_grad=True)
    (w * 2.0).sum().backward()
    first = w.grad
    (w * 2.0).sum().backward()
    assert first[0] == 2.0 and w.grad[0] == 4.0


def test_lean_mode_keeps_only_leaves_and_retained():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    h = (w * w).retain_grad()
    z = h.tanh()
    loss = z.sum()
    loss.backward()  # fills z.grad
    assert z.grad is not None
    w.grad = h.grad = None
    loss.backward(keep_intermediate=False)
    assert z.grad is None and loss.grad is None  # stale grads from the first pass are cleared
    np.testing.assert_allclose(h.grad, 1 - np.tanh(h.data) ** 2)
    np.testing.assert_allclose(w.grad, 2 * w.data * (1 - np.tanh(h.data) ** 2))


def test_a_lean_graph_frees_what_no_backward_needs_and_keeps_what_one_does():
    x = tg.Tensor(np.linspace(-1, 1, 6).reshape(2, 3))
    w = tg.Tensor(np.linspace(0.5, 1.5, 12).reshape(3, 4), requires_grad=True)
    for lean, freed in ((False, False), (True, True)):
        with tg.lean() if lean else contextlib.nullcontext():
            xw = x @ w  # add's backward needs neither input
            s = xw + 1.0
            y = s.tanh()  # tanh's backward needs its output: kept
        values = weakref.ref(xw.data), weakref.ref(s.data), weakref.ref(y.data)
        del xw, s
        assert (values[0]() is None, values[1]() is None) == (freed, freed)
        loss = (y * y).sum()
        del y
        assert values[2]() is not None
        loss.backward()
        t = np.tanh(x.data @ w.data + 1.0)
        np.testing.assert_allclose(w.grad, x.data.T @ (2 * t * (1 - t * t)), rtol=1e-13)
        w.grad = None


def test_a_lean_graph_records_stand_ins_that_have_no_value_but_show_gradients_on_their_tensors():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    with tg.lean():
        h = w * w
        h2 = h.tanh()
        h2.name = "h2"
        loss = h2.sum() + h.sum()
    stand_in = loss.parents[0].parents[0]
    assert stand_in is not h2 and stand_in.op == "tanh" and stand_in.parents[0] is not h
    assert stand_in.name == "h2" and "no value kept" in repr(stand_in)
    assert not stand_in.has_value and h2.has_value and w.has_value
    assert stand_in.shape == h2.shape and stand_in.dtype == h2.dtype
    loss.backward()  # every tensor still held shows its gradient, as in a default graph
    np.testing.assert_array_equal(h2.grad, [1.0, 1.0])
    np.testing.assert_allclose(h.grad, 1 - np.tanh(h.data) ** 2 + 1)
    np.testing.assert_allclose(w.grad, 2 * w.data * h.grad)
    loss.backward(keep_intermediate=False)
    assert h.grad is None and h2.grad is None
    h.retain_grad()  # after h was recorded: its stand-in keeps (and accumulates) it now
    loss.backward(keep_intermediate=False)
    loss.backward(keep_intermediate=False)
    np.testing.assert_allclose(h.grad, 2 * (1 - np.tanh(h.data) ** 2 + 1))
    assert h2.grad is None
    h.grad = None  # reset on the tensor: the next pass accumulates from zero, as for a leaf
    loss.backward(keep_intermediate=False)
    np.testing.assert_allclose(h.grad, 1 - np.tanh(h.data) ** 2 + 1)

    class CutFirst(tg.Function):
        @staticmethod
        def forward(ctx, x, y): return x + y
        @staticmethod
        def backward(ctx, g): return None, g

    h.grad = None
    CutFirst.apply(h, w).sum().backward()  # h's stand-in is in this pass but gets no gradient
    assert h.grad is None


def test_a_lean_tensor_whose_array_its_first_use_saves_is_recorded_as_itself():
    w = tg.Tensor([0.5, -1.0], requires_grad=True)
    with tg.lean():
        s = w + 1.0
        y = s * s  # mul saves both inputs: a stand-in for s would free nothing
        t = y.tanh()  # tanh saves its output, not its input: y gets a stand-in
        loss = (t + s).sum()
    assert y.parents == (s, s) and loss.parents[0].parents[1] is s
    assert t.parents[0] is not y and not t.parents[0].has_value
    loss.backward()
    th = np.tanh((w.data + 1) ** 2)
    np.testing.assert_allclose(s.grad, (1 - th ** 2) * 2 * (w.data + 1) + 1, rtol=1e-13)
    np.testing.assert_allclose(w.grad, s.grad, rtol=0)


def test_lean_is_a_property_of_the_tensors_made_inside_wherever_they_are_used():
    w = tg.Tensor([0.5, -1.0], requires_grad=True)
    h = (w * 3.0).tanh()  # made outside: recorded as itself, also by ops inside lean()
    with tg.lean():
        a = h * h
    loss = (a + h).sum()  # made inside: recorded by its stand-in, also by ops outside
    assert loss.parents[0].parents[1] is h and loss.parents[0].parents[0] is not a
    assert a.parents[0] is h and not loss.parents[0].parents[0].has_value
    loss.backward()
    t = np.tanh(3 * w.data)
    np.testing.assert_allclose(w.grad, (2 * t + 1) * (1 - t * t) * 3, rtol=1e-13)
    np.testing.assert_allclose(h.grad, 2 * t + 1, rtol=1e-13)
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])


def test_lean_recording_stays_in_the_thread_that_asked_for_it():
    inside, leave, seen = threading.Event(), threading.Event(), {}

    def worker():
        with tg.lean():
            inside.set()
            leave.wait(5)
            h = tg.Tensor([1.0], requires_grad=True) * 2.0
            seen["worker"] = (h + h).parents[0].has_value

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(5)
    h = tg.Tensor([1.0], requires_grad=True) * 2.0
    here = (h + h).parents[0] is h
    leave.set()
    t.join()
    assert here and seen["worker"] is False


def test_intermediate_with_no_gradient_this_pass_shows_none():
    class CutFirst(tg.Function):
        @staticmethod
        def forward(ctx, x, y): return x + y
        @staticmethod
        def backward(ctx, g): return None, g

    x = tg.Tensor(1.0, requires_grad=True)
    y = tg.Tensor(2.0, requires_grad=True)
    m = x * 1.0
    CutFirst.apply(m, y).backward()
    assert m.grad is None and x.grad is None and y.grad == 1.0


def test_detach_shares_data_and_stops_gradient():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.op is None and d.parents == ()
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # d counts as a constant


def test_backward_returns_an_order_that_ends_at_the_root():
    x = tg.Tensor([1.0], requires_grad=True)
    y = (x * 2.0).exp().sum()
    order = backward(y, None, True)
    assert order[0] is x and order[-1] is y


# ---- the recording context ------------------------------------------------------------


def test_no_grad_records_nothing_and_nothing_requires_grad():
    x = tg.Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2.0
        z = tg.Tensor([1.0], requires_grad=True)
        assert not tg.is_grad_enabled()
        with tg.enable_grad():
            w = x * 2.0
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.op is None and y.parents == ()
    assert not z.requires_grad and w.requires_grad and w.op == "mul"


def test_no_grad_restores_the_state_after_an_exception():
    with pytest.raises(RuntimeError), tg.no_grad():
        raise RuntimeError("inside")
    assert tg.is_grad_enabled()


def test_scopes_nest_and_are_recorded_at_creation():
    x = tg.Tensor([1.0], requires_grad=True)
    with tg.scope("t=1"):
        a = x * 2.0
        with tg.scope("lstm"), tg.scope("forget gate"):
            b = a.sigmoid()
        c = b + 1.0
    d = c * 1.0
    assert a.scope == ("t=1",) and b.scope == ("t=1", "lstm", "forget gate")
    assert c.scope == ("t=1",) and d.scope == () and x.scope == ()
    with pytest.raises(ValueError), tg.scope("outer"):
        raise ValueError("boom")
    assert (x * 1.0).scope == ()


def test_scope_rejects_a_non_string_name():
    with pytest.raises(TypeError, match="scope: name must be a non-empty str"):
        with tg.scope(3):
            pass


def test_context_state_is_thread_local():
    seen = {}
    inside = threading.Event()
    leave = threading.Event()

    def worker():
        with tg.no_grad(), tg.scope("worker"):
            inside.set()
            leave.wait(5)
            seen["worker"] = (tg.is_grad_enabled(), (tg.Tensor(1.0) * 1.0).scope)

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(5)
    x = tg.Tensor([1.0], requires_grad=True)
    y = x * 2.0  # the worker is inside no_grad and a scope right now
    leave.set()
    t.join()
    assert y.requires_grad and y.scope == () and tg.is_grad_enabled()
    assert seen["worker"] == (False, ("worker",))


def test_anomaly_checks_stay_in_the_thread_that_asked_for_them():
    inside, leave = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with tg.detect_anomaly(), np.errstate(invalid="ignore"):
            inside.set()
            leave.wait(5)
            try:
                tg.Tensor([-1.0]).log()
            except tg.AnomalyError as e:
                seen["worker"] = str(e)

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(5)
    with np.errstate(invalid="ignore"):
        y = tg.Tensor([-1.0]).log()  # no checks here while the worker has them on
    leave.set()
    t.join()
    assert np.isnan(y.item())
    assert seen["worker"].startswith("log: forward produced NaN or Inf")
    with tg.detect_anomaly(), np.errstate(invalid="ignore"), pytest.raises(tg.AnomalyError):
        tg.Tensor([-1.0]).log()  # and this thread still can


# ---- size, memory, dtype --------------------------------------------------------------


def test_100000_op_chain_backprops_without_recursion():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    loss = y.sum()
    loss.backward(keep_intermediate=False)
    np.testing.assert_allclose(x.grad, [1.00001 ** 100_000] * 2, rtol=1e-9)
    assert y.grad is None
    loss.backward()  # the default mode on the same chain: the leaf accumulates
    np.testing.assert_allclose(x.grad, [2 * 1.00001 ** 100_000] * 2, rtol=1e-9)
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_graph_is_freed_when_the_output_is_dropped():
    gc.collect()
    gc.disable()  # freed by reference counting alone: no reference cycles
    try:
        w = tg.Tensor(np.ones((3, 3)), requires_grad=True)
        h = w
        for _ in range(50):
            h = (h @ w).tanh()
        loss = h.sum()
        loss.backward()
        first, last = weakref.ref(loss.parents[0].parents[0]), weakref.ref(loss)
        del h, loss
        assert first() is None and last() is None
        assert w.grad is not None and w.grad.shape == (3, 3)
    finally:
        gc.enable()


@pytest.mark.parametrize("keep", [True, False])
def test_float32_stays_float32_including_grads(keep):
    w = tg.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = tg.Tensor(np.full((4, 3), 0.5, np.float32))
    b = tg.Tensor(np.zeros(2, np.float32), requires_grad=True)
    h = ((x @ w + b) * 0.5).sigmoid() ** 2.0 - 1 / (1 + x.mean(axis=1, keepdims=True))
    loss = (h * np.ones((4, 2))).sum()  # a float64 numpy constant takes the tensor's dtype
    assert h.dtype == np.float32 and loss.dtype == np.float32
    loss.backward(keep_intermediate=keep)
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    if keep:
        assert h.grad.dtype == np.float32


def test_float32_parameter_mixed_with_float64_tensor_gets_a_float32_grad():
    w = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    v = tg.Tensor(np.array([2.0, 3.0]))  # float64
    y = (w * v).sum()
    assert y.dtype == np.float64  # numpy promotion in forward
    y.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [2.0, 3.0])


def test_float_numpy_scalars_and_arrays_keep_their_dtype():
    assert tg.Tensor(np.float32(1.5)).dtype == np.float32
    assert tg.Tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert tg.Tensor([1, 2]).dtype == np.float64 and tg.Tensor(2).dtype == np.float64


def test_needs_input_grad_tells_an_op_which_gradients_are_wanted():
    seen = []

    class Probe(tg.Function):
        @staticmethod
        def forward(ctx, x, y): return x * y
        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, g

    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    Probe.apply(w, np.array([3.0, 4.0])).sum().backward()
    Probe.apply(np.array([3.0, 4.0]), w).sum().backward()
    assert seen == [(True, False), (False, True)]
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])
    x = tg.Tensor(np.ones((3, 2)))
    (x @ w.reshape(2, 1)).sum().backward()  # the data side of a matmul needs no gradient
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, [2.0 + 3.0, 2.0 + 3.0])


def test_a_user_op_returning_a_kept_array_does_not_share_it_with_the_leaf_grad():
    kept = np.array([2.0, 3.0])

    class ScaleByKept(tg.Function):  # returns an array it keeps: the engine must not write into it
        @staticmethod
        def forward(ctx, x): return x * kept
        @staticmethod
        def backward(ctx, g): return kept if np.all(g == 1) else g * kept

    x = tg.Tensor([1.0, 1.0], requires_grad=True)
    ScaleByKept.apply(x).sum().backward()
    x.grad *= 10.0
    np.testing.assert_array_equal(kept, [2.0, 3.0])
    np.testing.assert_array_equal(x.grad, [20.0, 30.0])


def test_a_leaf_reached_by_four_paths_gets_every_contribution():
    w = tg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    x = tg.Tensor(np.array([[1.0, -1.0]]))
    y = ((x @ w) @ w.T + x @ (w * w)).sum()  # w reached by four paths, three through matmul
    y.backward()
    W, X = w.data, x.data
    ones = np.ones((1, 2))
    expected = X.T @ (ones @ W) + ones.T @ (X @ W) + 2 * W * (X.T @ ones)
    np.testing.assert_allclose(w.grad, expected, rtol=1e-14)


def test_a_view_gradient_then_a_fresh_one_add_up_without_touching_the_view():
    # a first gets a view of the stacked gradient, then new arrays (from a * 3 and a @ M): the
    # sum may be formed in a new array, never in the view (a part of the stack's gradient)
    h = tg.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    M = tg.Tensor(np.array([[1.0, -1.0], [0.5, 2.0]]))
    a = h * 1.0
    through_matmul = a @ M
    hs = tg.stack([a, a * 3.0]).retain_grad()
    loss = (hs * hs).sum() + through_matmul.sum()
    loss.backward()
    A = a.data
    np.testing.assert_allclose(hs.grad, 2 * np.stack([A, 3 * A]), rtol=1e-15)
    expected = 2 * A + 3 * (2 * 3 * A) + np.ones((1, 2)) @ M.data.T
    np.testing.assert_allclose(a.grad, expected, rtol=1e-15)
    np.testing.assert_allclose(h.grad, expected, rtol=1e-15)


def test_factories_take_tensor_keywords():
    z = tg.zeros((2, 3), requires_grad=True, name="z")
    o = tg.ones(4, dtype=np.float32)
    r1 = tg.randn((2, 2), rng=np.random.default_rng(7))
    r2 = tg.randn((2, 2), rng=np.random.default_rng(7))
    assert z.shape == (2, 3) and z.requires_grad and z.name == "z" and not z.data.any()
    assert o.dtype == np.float32 and o.shape == (4,) and np.all(o.data == 1)
    np.testing.assert_array_equal(r1.data, r2.data)
    np.testing.assert_array_equal(r1.data, np.random.default_rng(7).standard_normal((2, 2)))


def test_tensor_reports_its_op_parents_and_leafness():
    w = tg.Tensor([1.0], requires_grad=True, name="w")
    y = (w * 2.0).exp()
    assert y.op == "exp" and y.parents[0].op == "mul" and y.parents[0].parents[0] is w
    assert w.op is None and w.parents == () and w.is_leaf and not y.is_leaf
    assert "name='w'" in repr(w) and "op=exp" in repr(y)
