"""torch.autograd: grad, hooks, retain_grad, grad modes, a PyTorch-style custom Function
whose node the debugger sees, and the engine bugs issue 11 found."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")


def test_autograd_grad_returns_gradients_and_touches_no_grad() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    w = sg.tensor([3.0, -1.0], requires_grad=True)
    h = x * w
    y = (h * h).sum()
    gx, gh = sg.autograd.grad(y, [x, h])
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    th = tx * torch.tensor([3.0, -1.0])
    tgx, tgh = torch.autograd.grad((th * th).sum(), [tx, th])
    assert gx.tolist() == tgx.tolist() and gh.tolist() == tgh.tolist()
    assert x.grad is None and w.grad is None
    unused = sg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        sg.autograd.grad(y, [unused])
    assert sg.autograd.grad(y, [unused], allow_unused=True) == (None,)


def test_backward_with_inputs_fills_only_those() -> None:
    a = sg.tensor([1.0], requires_grad=True)
    b = sg.tensor([2.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [2.0] and b.grad is None


def test_hooks_see_and_replace_gradients_like_pytorch() -> None:
    seen: dict[str, list] = {"ours": [], "theirs": []}
    grads = {}
    for lib, key in ((sg, "ours"), (torch, "theirs")):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = x * 2
        h.register_hook(lambda g, key=key: seen[key].append(g.tolist()))
        handle = x.register_hook(lambda g: g * 10)
        (h * h + x).sum().backward()   # x used twice: its hook sees the total once
        grads[key] = x.grad.tolist()
        handle.remove()
        x.grad = None
        (x * 1).sum().backward()
        grads[key + " after remove"] = x.grad.tolist()
    assert seen["ours"] == seen["theirs"]
    assert grads["ours"] == grads["theirs"]
    assert grads["ours after remove"] == grads["theirs after remove"] == [1.0, 1.0, 1.0]


def test_retain_grad_keeps_a_non_leaf_gradient() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    y = x * 3
    (y * y).sum().backward()
    assert y.grad is None   # not retained: as in PyTorch


def test_grad_modes_as_blocks_and_decorators() -> None:
    x = sg.tensor([1.0], requires_grad=True)
    with sg.inference_mode():
        assert not (x * 2).requires_grad
        with sg.enable_grad():
            assert (x * 2).requires_grad
    with sg.set_grad_enabled(False):
        assert not sg.is_grad_enabled()
    assert sg.is_grad_enabled()

    @sg.no_grad()
    def evaluate(depth: int) -> bool:
        return evaluate(depth - 1) if depth else (x * 2).requires_grad

    assert evaluate(3) is False and (x * 2).requires_grad

    @sg.no_grad
    def bare() -> bool:
        return (x * 2).requires_grad

    assert bare() is False and sg.is_grad_enabled()


class Cube(sg.autograd.Function):
    @staticmethod
    def forward(ctx: object, x: sg.Tensor, scale: float) -> sg.Tensor:
        assert ctx.needs_input_grad == (True, False)  # one flag per argument
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx: object, grad_output: sg.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x ** 2 * ctx.scale, None


def test_a_pytorch_style_custom_function_is_one_node_the_debugger_sees() -> None:
    x = sg.tensor([1.0, -2.0], requires_grad=True, name="x")
    with sg.trace() as t:
        y = Cube.apply(x, 0.5)
        y.sum().backward()
    assert x.grad.tolist() == [1.5, 6.0]
    forward_ops = [e.op for e in t if e.kind == "forward"]
    backward_ops = [e.op for e in t if e.kind == "backward"]
    assert forward_ops == ["Cube", "sum"] and backward_ops == ["sum", "Cube"]
    cube = next(e for e in t if e.kind == "backward" and e.op == "Cube")
    assert cube.grads[0].tolist() == [1.5, 6.0]
    from stepgrad.debug.source import op_source

    lines, _, file = op_source("Cube", "backward")
    assert "ctx.saved_tensors" in "".join(lines) and file.endswith("test_autograd_api.py")


# -- bugs found by issue 11 --------------------------------------------------------------------
def test_permute_with_negative_axes_sends_the_gradient_back() -> None:
    x = sg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    t = torch.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    up = np.random.default_rng(0).standard_normal((4, 2, 3))
    x.permute(-1, 0, -2).backward(up)
    t.permute(-1, 0, -2).backward(torch.tensor(up))
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())


def test_reducing_a_0d_tensor_over_dim_0_and_empty_matmul() -> None:
    x = sg.tensor(3.0, requires_grad=True)
    x.sum(0).backward()
    x.mean(-1).backward()
    assert x.grad.item() == 2.0
    v = sg.zeros(0, requires_grad=True)
    m = sg.ones(0, 8, requires_grad=True)
    out = v @ m
    assert out.shape == (8,) and out.tolist() == [0.0] * 8
    out.sum().backward()
    assert v.grad.shape == (0,) and m.grad.shape == (0, 8)


@pytest.mark.filterwarnings("ignore:.*encountered in power:RuntimeWarning")  # numpy's forward
@pytest.mark.parametrize(("base", "exponent"), [(0.0, 0.0), (0.0, -1.0), (-2.0, 0.5),
                                                (-2.0, 2.0), (0.0, 2.0), (3.0, 0.0)])
def test_pow_edges_match_pytorch(base: float, exponent: float) -> None:
    a, b = sg.tensor(base, requires_grad=True), sg.tensor(exponent, requires_grad=True)
    ta = torch.tensor(base, dtype=torch.float32, requires_grad=True)
    tb = torch.tensor(exponent, dtype=torch.float32, requires_grad=True)
    (a ** b).backward()
    (ta ** tb).backward()
    np.testing.assert_array_equal([a.grad.item(), b.grad.item()], [ta.grad.item(), tb.grad.item()])
