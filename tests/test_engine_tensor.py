"""The Tensor API: attributes, operators, methods, dtypes, gradient accumulation, and error
messages that teach (they name the op, the shapes and the user's line)."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import stepgrad as sg

HERE = os.path.basename(__file__)


def next_line() -> int:
    """The line number after the caller's line (where the failing statement is)."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_attributes() -> None:
    x = sg.tensor([[1.0, 2.0, 3.0]], requires_grad=True, name="x")
    assert isinstance(x.data, np.ndarray) and x.grad is None
    assert (x.shape, x.dtype, x.ndim, x.numel(), len(x)) == ((1, 3), np.float32, 2, 3, 1)
    assert x.size() == x.shape == sg.Size([1, 3]) and x.size(1) == x.size(-1) == 3
    assert (x.dim(), x.nelement(), x.shape.numel()) == (2, 3, 3)
    assert x.requires_grad and x.is_leaf and x.name == "x"
    x.name = "renamed"
    assert x.name == "renamed" and "renamed" in repr(x)
    (x * 2).sum().backward()
    assert isinstance(x.grad, sg.Tensor) and x.grad.shape == x.shape
    assert not x.grad.requires_grad and x.grad.grad is None
    assert isinstance(np.asarray(x.grad), np.ndarray)
    y = x * 2
    assert not y.is_leaf and y.requires_grad and y.name.startswith("mul_")
    assert not sg.tensor([1.0]).requires_grad
    assert sg.tensor(1.0).name.startswith("t")


def test_item_numpy_detach_tolist() -> None:
    x = sg.tensor([[2.5]], requires_grad=True)
    assert x.item() == 2.5 and isinstance(x.item(), float)
    assert x.numpy() is x.data.base  # .data is a view (TensorData) of the very array
    assert x.tolist() == [[2.5]]
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.data, x.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.5]])  # nothing flowed through the detached copy
    with pytest.raises(ValueError, match=r"only one-element tensors .* shape \(2,\)"):
        sg.tensor([1.0, 2.0]).item()


def test_operators_and_reflected_forms() -> None:
    a_np, b_np = np.array([1.0, 2.0, 4.0]), np.array([0.5, -1.0, 2.0])
    a, b = sg.tensor(a_np), sg.tensor(b_np)
    cases = {
        "a + b": (a + b, a_np + b_np), "a - b": (a - b, a_np - b_np),
        "a * b": (a * b, a_np * b_np), "a / b": (a / b, a_np / b_np),
        "a ** b": (a**b, a_np**b_np), "a @ b": (a @ b, a_np @ b_np), "-a": (-a, -a_np),
        "2 + a": (2 + a, 2 + a_np), "2 - a": (2 - a, 2 - a_np), "2 * a": (2 * a, 2 * a_np),
        "2 / a": (2 / a, 2 / a_np), "2 ** a": (2**a, 2**a_np), "a ** 2": (a**2, a_np**2),
        "np @ a": (b_np @ a, b_np @ a_np), "np - a": (b_np - a, b_np - a_np),
        "np * a": (b_np * a, b_np * a_np),  # numpy defers to Tensor's reflected operator
    }
    for label, (ours, expected) in cases.items():
        assert isinstance(ours, sg.Tensor), label
        np.testing.assert_allclose(ours.data, expected, err_msg=label)
    assert isinstance(a > 1, sg.Tensor) and (a > 1).tolist() == [False, True, True]


def test_operators_gradients() -> None:
    a = sg.tensor([1.0, 2.0], requires_grad=True)
    b = sg.tensor([3.0, 4.0], requires_grad=True)
    (a * b + a / b - b**2 + 2**a - (-a) @ b).sum().backward()  # the dot product is broadcast
    an, bn = np.array([1.0, 2.0]), np.array([3.0, 4.0])        # to both elements: counted twice
    np.testing.assert_allclose(a.grad, bn + 1 / bn + 2**an * np.log(2) + 2 * bn, rtol=1e-5)
    np.testing.assert_allclose(b.grad, an - an / bn**2 - 2 * bn + 2 * an, rtol=1e-5)


def test_getitem_basic_int_arrays_with_repeats_and_masks() -> None:
    data = np.arange(12.0).reshape(3, 4)
    x = sg.tensor(data, requires_grad=True)
    np.testing.assert_array_equal(x[1:, ::2].data, data[1:, ::2])
    np.testing.assert_array_equal(x[-1].data, data[-1])
    np.testing.assert_array_equal(x[[2, 0, 2]].data, data[[2, 0, 2]])
    mask = data % 3 == 0
    np.testing.assert_array_equal(x[mask].data, data[mask])
    np.testing.assert_array_equal(x[x > 5].data, data[data > 5])
    (x[1:, ::2].sum() + x[np.array([2, 0, 2, 2])].sum() + x[mask].sum()).backward()
    expected = np.zeros((3, 4))
    expected[1:, ::2] += 1
    expected[2] += 3   # row 2 picked three times
    expected[0] += 1
    expected[mask] += 1
    np.testing.assert_array_equal(x.grad, expected)


def test_elementwise_methods() -> None:
    data = np.array([[0.5, 1.0], [2.0, 4.0]])
    x = sg.tensor(data)
    expected = {"exp": np.exp(data), "log": np.log(data), "sqrt": np.sqrt(data),
                "abs": np.abs(data), "tanh": np.tanh(data), "sigmoid": 1 / (1 + np.exp(-data)),
                "relu": np.maximum(data - 1, 0)}
    for method, values in expected.items():
        ours = getattr(x - 1 if method == "relu" else x, method)()
        np.testing.assert_allclose(ours.data, values, err_msg=method)


def test_reductions_take_numpy_and_pytorch_words() -> None:
    data = np.arange(24.0).reshape(2, 3, 4)
    x = sg.tensor(data)
    for method in ("sum", "mean", "max", "min"):
        ref = getattr(np, {"max": "amax", "min": "amin"}.get(method, method))
        np.testing.assert_allclose(getattr(x, method)().data, ref(data))
        np.testing.assert_allclose(getattr(x, method)(axis=1).data, ref(data, axis=1))
        np.testing.assert_allclose(getattr(x, method)(dim=(0, 2), keepdim=True).data,
                                   ref(data, axis=(0, 2), keepdims=True))
        np.testing.assert_allclose(getattr(x, method)(axis=-1, keepdims=True).data,
                                   ref(data, axis=-1, keepdims=True))


def test_shape_methods_and_softmax() -> None:
    data = np.arange(6.0).reshape(2, 3)
    x = sg.tensor(data)
    assert x.reshape(3, 2).shape == x.reshape((3, 2)).shape == x.reshape(-1, 2).shape == (3, 2)
    assert x.T.shape == x.transpose().shape == x.transpose(1, 0).shape == (3, 2)
    assert sg.tensor(np.ones((2, 3, 4))).transpose(0, 2).shape == (4, 3, 2)
    assert sg.tensor(np.ones((2, 3, 4))).transpose((1, 2, 0)).shape == (3, 4, 2)
    softmax = np.exp(data) / np.exp(data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.softmax().data, softmax)
    np.testing.assert_allclose(x.softmax(dim=1).data, softmax)
    np.testing.assert_allclose(x.log_softmax(axis=-1).data, np.log(softmax))
    np.testing.assert_allclose(x.softmax(axis=0).data.sum(axis=0), [1, 1, 1])


def test_concat_stack_and_no_grad() -> None:
    a = sg.tensor([[1.0, 2.0]], requires_grad=True)
    b = sg.tensor([[3.0, 4.0]], requires_grad=True)
    assert sg.concat([a, b]).shape == (2, 2) and sg.concat([a, b], axis=1).shape == (1, 4)
    assert sg.stack([a, b]).shape == (2, 1, 2) and sg.stack([a, b], dim=2).shape == (1, 2, 2)
    (sg.concat([a, b], dim=1) * sg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(b.grad, [[3.0, 4.0]])
    with sg.no_grad():
        y = a * b
        assert not sg.is_grad_enabled()
        with sg.enable_grad():
            assert (a * b).requires_grad
    assert not y.requires_grad and y.is_leaf and sg.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        y.sum().backward()


def test_float32_by_default_float64_when_given() -> None:
    assert sg.tensor([1.0, 2.0]).dtype == np.float32
    assert sg.tensor(1.5).dtype == np.float32
    assert sg.tensor([1, 2.5]).dtype == np.float32
    assert sg.tensor([1, 2]).dtype == np.int64  # integer data (labels, indices) stays integer
    assert sg.tensor(np.ones(2, dtype=np.float16)).dtype == np.float32
    assert sg.randn(2, 3).dtype == sg.zeros(2).dtype == sg.ones(1).dtype == np.float32
    x64 = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert x64.dtype == np.float64
    y = (x64 * 2.5 + 1).tanh() ** 2 / 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x64.grad.dtype == np.float64
    x32 = sg.tensor([1.0, 2.0], requires_grad=True)
    z = x32 * 2.5 + 1  # Python numbers do not promote float32 data
    assert z.dtype == np.float32
    z.sum().backward()
    assert x32.grad.dtype == np.float32
    sg.set_default_dtype(np.float64)
    assert sg.tensor([1.0]).dtype == np.float64
    with pytest.raises(TypeError, match="float dtype"):
        sg.set_default_dtype(np.int32)


def test_gradient_keeps_the_leaf_dtype_across_accumulations() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)     # float32
    other = sg.tensor(np.array([3.0, 4.0]))           # float64: the product is float64
    for _ in range(2):
        (x * other).sum().backward()
        assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [6.0, 8.0])


def test_only_float_tensors_require_grad() -> None:
    with pytest.raises(TypeError, match="only float tensors"):
        sg.tensor([1, 2], requires_grad=True)


def test_gradient_accumulates_over_uses_and_backward_calls_until_zeroed() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x + x            # x used three times
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 5.0])
    (x * 3).sum().backward()  # another backward adds, as in PyTorch
    np.testing.assert_array_equal(x.grad, [6.0, 8.0])
    before, array = x.grad, x.grad.data
    (x * 1).sum().backward()
    assert x.grad is before  # the same .grad tensor, as in PyTorch ...
    np.testing.assert_array_equal(array, [6.0, 8.0])  # ... holding a new array (events share)
    x.grad = None            # zeroed: the next backward starts afresh
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    model = sg.nn.Linear(2, 1)
    for _ in range(2):
        model(x).sum().backward()
    np.testing.assert_allclose(model.weight.grad, [[2.0, 4.0]])
    model.zero_grad()
    assert model.weight.grad is None


def test_backward_on_a_leaf_and_with_an_explicit_gradient() -> None:
    x = sg.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad == 1.0
    y = sg.tensor([1.0, 2.0], requires_grad=True)
    (y * 2).backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(y.grad, [2.0, -2.0])
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\) but .* has shape \(2,\)"):
        (y * 2).backward(np.ones(3))


def test_backward_on_a_non_scalar_says_what_to_do() -> None:
    x = sg.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        (x * 2).backward()
    message = str(info.value)
    assert "shape (1, 2)" in message and "one-element" in message and ".sum()" in message


def test_matmul_shape_error_names_op_shapes_and_the_users_line() -> None:
    a, b = sg.tensor(np.ones((2, 3))), sg.tensor(np.ones((4, 5)))
    with pytest.raises(sg.ShapeError) as info:
        line = next_line()
        a @ b
    message = str(info.value)
    assert message.startswith("matmul:")
    assert "(2, 3)" in message and "(4, 5)" in message
    assert message.endswith(f"at {HERE}:{line}")


def test_shape_errors_inside_layers_point_at_the_users_line() -> None:
    model = sg.nn.Sequential(sg.nn.Linear(3, 2))
    with pytest.raises(sg.ShapeError) as info:
        line = next_line()
        model(sg.tensor(np.ones((4, 5))))
    assert str(info.value).startswith("linear: input (4, 5)")
    assert f"at {HERE}:{line}" in str(info.value)
    with pytest.raises(sg.ShapeError, match=rf"add: shapes \(2, 3\) and \(4,\) do not fit .*"
                                            rf"at {HERE}:\d+"):
        sg.tensor(np.ones((2, 3))) + sg.tensor(np.ones(4))
    with pytest.raises(sg.ShapeError, match=r"reshape: cannot reshape \(2, 3\) \(6 values\)"):
        sg.tensor(np.ones((2, 3))).reshape(4, 2)
    with pytest.raises(sg.ShapeError, match=r"conv2d: input \(1, 3, 5, 5\) and weight"):
        sg.nn.functional.conv2d(sg.tensor(np.ones((1, 3, 5, 5))), sg.tensor(np.ones((2, 1, 3, 3))))
    with pytest.raises(sg.ShapeError, match=r"getitem: index 5 does not fit shape \(2,\)"):
        sg.tensor([1.0, 2.0])[5]


def test_loss_errors_teach() -> None:
    logits = sg.tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="integer class indices"):
        sg.nn.functional.cross_entropy(logits, [0.5, 1.0])
    with pytest.raises(ValueError, match=r"targets must lie in 0..2 for 3 classes"):
        sg.nn.functional.cross_entropy(logits, [0, 3])
    with pytest.raises(sg.ShapeError, match=r"mse_loss: input \(2, 3\) and target \(3,\)"):
        sg.nn.functional.mse_loss(logits, np.zeros(3))


def test_gradcheck_refuses_inputs_without_gradients() -> None:
    with pytest.raises(ValueError, match="no input requires a gradient"):
        sg.gradcheck(lambda x: x.sum(), sg.tensor([1.0]))


def test_python_numbers_beside_a_tensor_keep_their_sign_dtype_and_value() -> None:
    """Numbers are made into constants once per (number, dtype) and shared, read-only: the
    sharing must never mix up -0.0 and 0.0, a float32 and a float64 0.1, or 1 and 1.5."""
    x = sg.tensor([1.0, 2.0])
    assert not np.signbit((x * 0.0).data).any()
    assert np.signbit((x * -0.0).data).all()      # -0.0 == 0.0, yet the sign is kept
    assert not np.signbit((x * 0.0).data).any()
    x64 = sg.tensor(np.array([1.0, 2.0]))
    assert (x * 0.1).data.dtype == np.float32
    assert (x64 * 0.1).data.dtype == np.float64
    assert (x64 * 0.1).data[0] == 0.1               # not the float32 0.1 made just before
    assert ((x * 1) + (x * 1.5)).tolist() == [2.5, 5.0]
    y = sg.tensor([1.0, 2.0], requires_grad=True) * 3.0
    constant = y._parents[1]
    with pytest.raises(ValueError, match="read-only"):
        constant.data[...] = 4.0                    # shared by every `* 3.0`: never written
    assert (x * 3.0).tolist() == [3.0, 6.0]


def test_numbers_that_never_equal_themselves_do_not_fill_memory() -> None:
    import importlib

    tensor_module = importlib.import_module("stepgrad.tensor")

    x = sg.tensor([1.0])
    for _ in range(3000):
        assert np.isnan((x * float("nan")).data).all()
    assert len(tensor_module._numbers) <= 1025


def test_a_constant_factor_gets_no_gradient_and_the_tensor_the_right_one() -> None:
    x = sg.tensor([1.0, -2.0], requires_grad=True)
    w = sg.tensor([3.0, 4.0], requires_grad=True)
    ((x * 2.5) * w).sum().backward()
    assert x.grad.tolist() == [7.5, 10.0] and w.grad.tolist() == [2.5, -5.0]
