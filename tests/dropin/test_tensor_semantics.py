"""PyTorch's tensor semantics, each checked against PyTorch itself where it runs:
.grad is a Tensor, in-place ops keep identity (and refuse what PyTorch refuses),
comparisons are elementwise bool tensors, size()/numel/dim, max(dim), casts, devices,
indexing where numpy and PyTorch differ, and the debugger's history across in-place updates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stepgrad as sg

torch = pytest.importorskip("torch")


def both(data: object, **kwargs: object) -> tuple[sg.Tensor, object]:
    return sg.tensor(np.array(data, dtype=np.float64), **kwargs), \
        torch.tensor(np.array(data, dtype=np.float64), **kwargs)


# -- .grad -------------------------------------------------------------------------------------
def test_grad_is_a_tensor_without_a_gradient_of_its_own() -> None:
    w = sg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    assert isinstance(w.grad, sg.Tensor) and not w.grad.requires_grad
    np.testing.assert_allclose(w.grad.norm().item(), np.linalg.norm([2.0, -4.0, 6.0]), rtol=1e-6)
    np.testing.assert_array_equal(w.grad.data, [2.0, -4.0, 6.0])
    w.grad.zero_()
    np.testing.assert_array_equal(np.asarray(w.grad), [0.0, 0.0, 0.0])
    w.grad = None
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [3.0, 3.0, 3.0])


def test_manual_update_under_no_grad_keeps_the_parameter() -> None:
    ours, theirs = both([1.0, 2.0], requires_grad=True)
    for w, lib in ((ours, sg), (theirs, torch)):
        held = w
        for _ in range(3):
            loss = (w * w).sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
        assert held is w and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(ours.data, theirs.detach().numpy())


def test_in_place_on_a_leaf_that_requires_grad_is_refused_like_pytorch() -> None:
    ours, theirs = both([1.0], requires_grad=True)
    with pytest.raises(RuntimeError) as expected:
        theirs.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation") as got:
        ours.add_(1)
    assert str(expected.value) in str(got.value)


@pytest.mark.parametrize("change", ["add_", "mul_", "iadd", "setitem", "clamp_", "copy_"])
def test_in_place_on_a_graph_node_gives_pytorchs_gradient(change: str) -> None:
    grads = []
    for lib in (sg, torch):
        a = lib.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
        b = lib.tensor(np.array([1.5, 0.25, -1.0]), requires_grad=True)
        y = a * 3
        if change == "add_":
            y.add_(b, alpha=2)
        elif change == "mul_":
            y.mul_(b)
        elif change == "iadd":
            y += b * b
        elif change == "setitem":
            y[1] = b[0] * 4
        elif change == "clamp_":
            y.clamp_(-2.0, 2.0)
        else:
            y.copy_(b * 2)
        (y * y).sum().backward()
        grads.append([np.asarray(a.grad if a.grad is not None else np.zeros(3)),
                      np.asarray(b.grad if b.grad is not None else np.zeros(3))])
    np.testing.assert_allclose(grads[0][0], grads[1][0].numpy() if hasattr(grads[1][0], "numpy")
                               else grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], np.asarray(grads[1][1]), rtol=1e-12)


def test_a_value_changed_after_a_node_used_it_is_an_error_not_a_wrong_gradient() -> None:
    a = sg.tensor([1.0, 2.0], requires_grad=True)
    y = a * 2
    z = y * y          # saved y for its backward
    y.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    w = sg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with sg.no_grad():
        w -= 1.0       # the weight the graph used is gone
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_in_place_results_keep_the_dtype_and_shape_or_say_why() -> None:
    x = sg.zeros(3)
    x += sg.tensor(np.ones(3))            # float64 into float32: cast, as PyTorch
    assert x.dtype == np.float32 and x.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x.add_(sg.ones(2, 3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        sg.tensor([1, 2]).add_(0.5)


def test_fill_zero_normal_uniform_and_requires_grad_() -> None:
    w = sg.empty(2, 3)
    assert w.fill_(2.5).tolist() == [[2.5] * 3] * 2
    w.normal_(0.0, 0.01, generator=sg.Generator().manual_seed(1))
    assert 0 < float(np.abs(w.data).max()) < 0.1
    w.uniform_(-1, 1)
    assert float(w.data.min()) >= -1 and float(w.data.max()) <= 1
    w.zero_().requires_grad_()
    assert w.requires_grad and w.sum().item() == 0
    with pytest.raises(RuntimeError, match="floating point"):
        sg.tensor([1, 2]).requires_grad_()


def test_the_debuggers_history_stays_true_across_in_place_updates() -> None:
    w = sg.tensor([1.0, 2.0], requires_grad=True, name="w")
    with sg.trace() as t:
        for _ in range(2):
            loss = (w * 3).sum()
            loss.backward()
            with sg.no_grad():
                w -= 0.5 * w.grad
            w.grad = None
    forwards = [e for e in t if e.kind == "forward" and e.op == "mul" and "w" in e.input_names]
    assert [f.inputs[0].tolist() for f in forwards] == [[1.0, 2.0], [-0.5, 0.5]]
    backwards = [e for e in t if e.kind == "backward" and e.op == "mul" and "w" in e.input_names]
    updates = [e for e in t if e.kind == "forward" and e.op == "sub"]  # the update is a step
    assert [(u.inputs[0].tolist(), u.output.tolist()) for u in updates][0] == \
        ([1.0, 2.0], [-0.5, 0.5])
    assert len(backwards) == 2 and all(b.grads[0].tolist() == [3.0, 3.0] for b in backwards)


# -- comparisons, size, reductions ---------------------------------------------------------------
def test_comparisons_are_elementwise_bool_tensors_from_either_side() -> None:
    ours, theirs = both([1.0, 2.0, 3.0])
    array = np.array([1.0, 0.0, 3.0])
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        got, want = getattr(ours, op)(array), getattr(theirs, op)(torch.tensor(array))
        assert isinstance(got, sg.Tensor) and got.dtype == np.bool_
        assert got.tolist() == want.tolist(), op
    flipped = array == ours
    assert isinstance(flipped, sg.Tensor) and flipped.tolist() == [True, False, True]
    assert (array < ours).tolist() == (ours > array).tolist()
    assert (ours == 2).sum().item() == 1
    assert (ours > 1).float().mean().item() == pytest.approx(2 / 3)
    assert len({ours, sg.tensor([1.0, 2.0, 3.0])}) == 2   # hashable by identity
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ours > 0)


def test_size_numel_dim_and_max_with_a_dimension() -> None:
    data = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    ours, theirs = both(data)
    assert ours.size() == tuple(theirs.size()) and ours.size(-1) == theirs.size(-1) == 3
    assert ours.numel() == theirs.numel() and ours.dim() == theirs.dim() == ours.ndim
    for method in ("max", "min"):
        got, want = getattr(ours, method)(1), getattr(theirs, method)(1)
        assert got.values.tolist() == want.values.tolist()
        assert got.indices.tolist() == want.indices.tolist()
        values, indices = getattr(sg, method)(ours, 0, keepdim=True)
        assert indices.tolist() == getattr(torch, method)(theirs, 0, keepdim=True)[1].tolist()
    assert ours.argmax(dim=1, keepdim=True).tolist() == theirs.argmax(dim=1, keepdim=True).tolist()
    assert ours.argmin().item() == theirs.argmin().item()
    assert ours.max().item() == 7.0   # no dim: the value, as in PyTorch


def test_reductions_take_one_rule_in_methods_and_functions() -> None:
    x = sg.tensor(np.arange(6.0).reshape(2, 3))
    expected = [[2.0, 2.0]]
    assert sg.softmax(x, dim=0).tolist() == sg.nn.functional.softmax(x, axis=0).tolist()
    assert x.softmax(axis=0).tolist() == sg.nn.functional.softmax(x, dim=0).tolist()
    for form in (x.std(1, keepdim=True).T, x.std(dim=1, keepdims=True).T,
                 sg.std(x, axis=1, keepdim=True).T):
        np.testing.assert_allclose((form * form).data, [[1.0, 1.0]])
    assert x.mean(axis=1, keepdims=True).T.tolist() == [[1.0, 4.0]] != expected
    with pytest.raises(TypeError, match="unexpected arguments"):
        x.sum(dims=1)
    assert x.sum(dtype=sg.float64).dtype == np.float64 and x.mean(1, dtype=sg.float32).dtype \
        == np.float32
    assert float(np.sum(x)) == 15.0  # numpy's np.sum(t) passes dtype=None, out=None
    assert (x == None) is False and (x != None) is True  # noqa: E711 (PyTorch's answer)


# -- dtypes and devices --------------------------------------------------------------------------
def test_casts_are_differentiable_and_integer_casts_are_constants() -> None:
    x = sg.tensor(np.array([1.5, -2.5]), requires_grad=True)
    y = x.float()
    assert y.dtype == sg.float32 and y.requires_grad and y.grad_fn is not None
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 2.0]
    assert x.long().dtype == sg.long == sg.int64 and not x.long().requires_grad
    assert x.int().dtype == sg.int32 and x.bool().dtype == sg.bool
    assert x.to(sg.float32).dtype == np.float32 and x.double() is x
    assert (x > 0).to(sg.uint8).tolist() == [1, 0]


def test_devices_are_the_cpu_and_a_gpu_is_a_clear_error() -> None:
    device = sg.device("cuda" if sg.cuda.is_available() else "cpu")
    assert str(device) == "cpu" and device == "cpu"
    x = sg.zeros(2, device=device)
    assert x.to(device) is x and x.cpu() is x and x.device == sg.device("cpu")
    assert not sg.cuda.is_available() and not sg.backends.mps.is_available()
    assert not sg.accelerator.is_available()
    with pytest.raises(RuntimeError, match="CPU only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        sg.ones(2, device="cuda:0")


# -- indexing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make_index", [
    lambda d: (1, slice(None), slice(3, 11, 2), d, slice(0, 2)),
    lambda d: (0, d),
    lambda d: (d, slice(None), 2),
    lambda d: (slice(None), 1, slice(None), d),
])
def test_indexing_matches_pytorch_where_numpy_differs(make_index: object) -> None:
    data = np.random.default_rng(0).standard_normal((2, 6, 12, 5, 3))
    ours, theirs = both(data, requires_grad=True)
    d = [0, 1, 1]
    got = ours[make_index(sg.tensor(d))]
    want = theirs[make_index(torch.tensor(d))]
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.data, want.detach().numpy())
    upstream = np.random.default_rng(1).standard_normal(got.shape)
    got.backward(upstream)
    want.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())


@pytest.mark.parametrize("expr", ["a + 1", "a * 2", "a + 1.5", "a / 2", "2 / a", "1 - a",
                                  "a * b", "b * a", "a ** 2", "m + 1", "b + m", "a + c", "b * a32"])
def test_result_dtypes_follow_pytorch_where_numpy_differs(expr: str) -> None:
    ours = dict(a=sg.tensor([1, 2]), b=sg.tensor([1.0, 2.0]), m=sg.tensor([True, False]),
                c=sg.tensor([1, 2], dtype=np.int32), a32=sg.tensor([3, 4], dtype=np.int32))
    theirs = dict(a=torch.tensor([1, 2]), b=torch.tensor([1.0, 2.0]),
                  m=torch.tensor([True, False]), c=torch.tensor([1, 2], dtype=torch.int32),
                  a32=torch.tensor([3, 4], dtype=torch.int32))
    got, want = eval(expr, ours), eval(expr, theirs)  # noqa: S307 (fixed test expressions)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.data, want.numpy())


def test_counting_into_an_integer_tensor_in_place() -> None:
    counts = sg.zeros((3, 3), dtype=sg.int32)
    for i, j in [(1, 2), (1, 2), (0, 0)]:
        counts[i, j] += 1
    assert counts.dtype == np.int32 and counts.tolist() == [[1, 0, 0], [0, 0, 2], [0, 0, 0]]


def test_assigning_a_tensor_to_data_replaces_the_values() -> None:
    ours, theirs = both([[1.0, 2.0]], requires_grad=True)
    step = np.array([[0.5, 0.5]])
    ours.data = ours.data - sg.tensor(step)          # old tutorials' manual SGD step
    theirs.data = theirs.data - torch.tensor(step)
    assert isinstance(ours.data, np.ndarray) and ours.tolist() == theirs.tolist()
    (ours * 2).sum().backward()
    assert ours.grad.tolist() == [[2.0, 2.0]]


def test_python_conversions_and_formatting_like_pytorch() -> None:
    ours, theirs = both(0.123456)
    assert f"{ours:.3f}" == f"{theirs:.3f}" == "0.123"
    assert float(ours) == pytest.approx(float(theirs)) and bool(ours) is bool(theirs) is True
    assert [10, 20, 30][sg.tensor(2)] == 30 and int(sg.tensor(7)) == 7
    with pytest.raises(TypeError, match="converted to an index"):
        [1, 2][sg.tensor(1.0)]
    with pytest.raises(TypeError, match="0-d"):
        len(ours)
    assert [row.tolist() for row in sg.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]


INPLACE_STEPS = {
    "add_": lambda y, b: y.add_(b),
    "sub_": lambda y, b: y.sub_(b, alpha=0.5),
    "mul_": lambda y, b: y.mul_(b),
    "div_": lambda y, b: y.div_(b * b + 1),
    "clamp_": lambda y, b: y.clamp_(-1.5, 1.5),
    "setitem": lambda y, b: y.__setitem__(slice(0, 2), b[1:3] * 3),
    "iadd": lambda y, b: y.__iadd__(b.exp()),
}


@given(steps=st.lists(st.sampled_from(sorted(INPLACE_STEPS)), min_size=1, max_size=5))
@settings(max_examples=40, deadline=None)
def test_any_chain_of_in_place_ops_gives_pytorchs_gradients(steps: list[str]) -> None:
    grads = []
    for lib in (sg, torch):
        a = lib.tensor(np.array([0.5, -1.0, 2.0, 0.1]), requires_grad=True)
        b = lib.tensor(np.array([1.5, 0.25, -1.0, 0.7]), requires_grad=True)
        y = a * 2
        for step in steps:
            INPLACE_STEPS[step](y, b)
        (y * y).sum().backward()
        grads.append([np.asarray(t.grad.tolist() if t.grad is not None else [0.0] * 4)
                      for t in (a, b)])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
