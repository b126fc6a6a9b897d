"""Every registered op's backward against finite differences, in float64.

`CASES` maps each op name to the inputs (and attributes) it is checked on: several
shapes, broadcasting included. `test_every_op_has_a_gradient_test` walks the registry and
fails when an op is registered without an entry here, so a new op cannot slip in untested.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import stepgrad as sg

_rng = np.random.default_rng(1234)


def r(*shape: int) -> np.ndarray:
    """Random float64 values."""
    return _rng.standard_normal(shape)


def pos(*shape: int) -> np.ndarray:
    """Random values in [0.5, 2] (for log, sqrt, pow's base, a divisor)."""
    return _rng.uniform(0.5, 2.0, shape)


def away(*shape: int) -> np.ndarray:
    """Random values at least 0.1 away from 0 (for relu, abs: no kink within eps)."""
    return _rng.uniform(0.1, 1.0, shape) * _rng.choice([-1.0, 1.0], shape)


def distinct(*shape: int) -> np.ndarray:
    """Values 0.1 apart in random order (max, min, max-pool: no ties within eps)."""
    return _rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


def case(*inputs: Any, **attrs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return inputs, attrs


def _binary(a: Any = r, b: Any = r) -> list:
    """Same shapes, then every kind of broadcasting: scalar, trailing, stretched size-1 axes."""
    return [case(a(3), b(3)), case(a(2, 3), b(2, 3)), case(a(2, 3), b(3)), case(a(3), b(4, 3)),
            case(a(4, 1, 3), b(2, 1)), case(a(), b(2, 3)), case(a(2, 3), b(1, 1))]


def _unary(a: Any = r) -> list:
    return [case(a(5)), case(a(2, 3)), case(a(2, 1, 3)), case(a())]


def _reduction(data: Any) -> list:
    return [case(data(2, 3, 4)), case(data(2, 3, 4), axis=1), case(data(2, 3, 4), axis=-1,
            keepdims=True), case(data(2, 3, 4), axis=(0, 2)), case(data(5), axis=0),
            case(data(2, 3), axis=None, keepdims=True)]


mask = np.array([[True, False, True], [False, False, True]])
_quotients = np.array([[5.3, -3.4, 7.7], [-0.45, 2.65, -8.15]])
_divisors = np.array([2.0, -1.5, 2.5])
labels = np.array([0, 3, 1, 1, 2])

CASES: dict[str, list] = {
    "add": _binary(),
    "sub": _binary(),
    "mul": _binary(),
    "div": _binary(r, pos),
    "pow": _binary(pos, r),
    "neg": _unary(),
    "exp": _unary(),
    "log": _unary(pos),
    "sqrt": _unary(pos),
    "abs": _unary(away),
    "relu": _unary(away),
    "leaky_relu": _unary(away) + [case(away(2, 3), negative_slope=0.2)],
    "sigmoid": _unary(lambda *s: 3 * r(*s)),
    "tanh": _unary(),
    "sum": _reduction(r),
    "mean": _reduction(r),
    "max": _reduction(distinct),
    "min": _reduction(distinct),
    "reshape": [case(r(2, 3), shape=(3, 2)), case(r(2, 3, 4), shape=(6, -1)),
                case(r(6), shape=(1, 2, 3))],
    "transpose": [case(r(2, 3)), case(r(2, 3, 4), axes=(1, 2, 0)), case(r(2, 3, 4), axes=None)],
    "getitem": [case(r(4, 3), index=(slice(1, 3), 2)), case(r(5), index=slice(None, None, -2)),
                case(r(4, 3), index=np.array([0, 2, 0, 0])),       # repeats accumulate
                case(r(2, 3), index=mask),                          # boolean mask
                case(r(4, 3), index=(np.array([1, 1, 3]), np.array([0, 0, 2]))),
                case(r(4, 3), index=(slice(None), np.array([2, 2]))), case(r(3, 4), index=-1),
                case(r(2, 3, 4), index=(Ellipsis, None, 1))],
    "concat": [case(r(2, 3), r(1, 3)), case(r(2, 3), r(2, 1), r(2, 2), axis=1),
               case(r(2, 2, 3), r(2, 1, 3), axis=-2)],
    "stack": [case(r(3), r(3)), case(r(2, 3), r(2, 3), r(2, 3), axis=1),
              case(r(2, 3), r(2, 3), axis=-1)],
    "pad": [case(r(3), pad_width=2), case(r(2, 3), pad_width=((1, 0), (2, 1)), value=1.5),
            case(r(1, 2, 3, 3), pad_width=((0, 0), (0, 0), (1, 1), (1, 1)))],
    "matmul": [case(r(3), r(3)), case(r(3), r(3, 4)), case(r(2, 3), r(3)),
               case(r(2, 3), r(3, 4)), case(r(5, 2, 3), r(5, 3, 4)),
               case(r(2, 1, 2, 3), r(4, 3, 2)), case(r(2, 2, 3), r(3)), case(r(3), r(2, 3, 4)),
               case(r(2, 2, 3), r(3, 4))],
    "linear": [case(r(4, 3), r(5, 3), r(5)), case(r(3), r(2, 3), r(2)),
               case(r(2, 4, 3), r(5, 3), r(5))],
    "conv2d": [case(r(2, 1, 5, 5), r(3, 1, 3, 3), r(3)),
               case(r(2, 2, 6, 5), r(3, 2, 3, 3), r(3), stride=2, padding=1),
               case(r(1, 2, 4, 5), r(2, 2, 2, 3), r(2), padding=(1, 2)),
               case(r(1, 1, 7, 7), r(1, 1, 3, 3), r(1), stride=(2, 3))],
    "max_pool2d": [case(distinct(2, 2, 4, 4)), case(distinct(1, 2, 5, 5), kernel_size=3, stride=2),
                   case(distinct(1, 1, 5, 7), kernel_size=2),
                   case(distinct(1, 1, 4, 4), kernel_size=2, stride=1)],
    "avg_pool2d": [case(r(2, 2, 4, 4)), case(r(1, 2, 5, 5), kernel_size=3, stride=1),
                   case(r(1, 1, 5, 7), kernel_size=2)],
    "softmax": [case(r(4)), case(r(3, 4)), case(r(2, 3, 4), axis=1), case(r(3, 4), axis=0)],
    "log_softmax": [case(r(4)), case(r(3, 4)), case(r(2, 3, 4), axis=1),
                    case(r(3, 4), axis=0)],
    "cross_entropy": [case(r(5, 4), labels), case(r(1, 3), np.array([2]))],
    "mse_loss": [case(r(4), r(4)), case(r(2, 3), r(2, 3))],
    "binary_cross_entropy_with_logits": [case(3 * r(5), _rng.uniform(0, 1, 5)),
                                         case(r(2, 3), (r(2, 3) > 0).astype(float))],
    "dropout": [case(r(3, 4), _rng.random((3, 4)) > 0.5, p=0.5),
                case(r(6), _rng.random(6) > 0.2, p=0.2)],
    "batch_norm": [case(r(6, 3), r(3), r(3), r(3), pos(3), training=True),
                   case(r(4, 2, 3, 3), r(2), r(2), r(2), pos(2), training=True),
                   case(r(6, 3), r(3), r(3), r(3), pos(3), training=False),
                   case(r(4, 2, 3), r(2), r(2), r(2), pos(2), training=False, eps=1e-3)],
    # ops of the PyTorch drop-in (issue 11, engineer H4)
    "sin": _unary(), "cos": _unary(),
    "clamp": [case(away(3, 4), low=-0.5, high=0.5), case(away(5), low=0.0),
              case(away(2, 3), high=0.2)],
    "maximum": _binary(distinct, lambda *s: distinct(*s) + 0.05),
    "minimum": _binary(distinct, lambda *s: distinct(*s) + 0.05),
    "where": [case(r(3, 4), r(4), condition=r(3, 4) > 0),
              case(r(2, 3), r(2, 3), condition=np.array([True, False, True]))],
    "cast": [case(r(3), dtype=np.float64), case(r(2, 3), dtype=np.float64)],
    "gelu": _unary(lambda *s: 3 * r(*s)) + [case(3 * r(2, 3), approximate="tanh")],
    "silu": _unary(lambda *s: 3 * r(*s)),
    "prod": [case(r(2, 3, 4)), case(r(2, 3, 4), axis=1), case(r(2, 3), axis=-1, keepdims=True),
             case(r(5), axis=0)],
    "logsumexp": [case(r(2, 3, 4)), case(r(2, 3, 4), axis=1), case(r(3, 4), axis=(0, 1),
                                                                   keepdims=True)],
    "cumsum": [case(r(4, 3), axis=0), case(r(2, 5), axis=-1), case(r(6), axis=0)],
    "expand": [case(r(3, 1), shape=(2, 3, 4)), case(r(1, 4), shape=(3, 4))],
    "repeat": [case(r(2, 3), repeats=(2, 3)), case(r(3), repeats=(2, 1, 2))],
    "gather": [case(r(3, 4), indices=np.array([[1], [3], [1]]), axis=1),
               case(r(3, 4), indices=np.array([[0, 2, 2, 1]]), axis=0)],
    "setitem": [case(r(3, 4), r(4), index=1), case(r(3, 4), r(3, 2), index=(slice(None),
                                                                          slice(1, 3)))],
    "nll_loss": [case(r(5, 4), labels[:5] % 4), case(r(2, 4, 3), np.array([[0, 1, 3], [2, 1, 0]]),
                                                     weight=pos(4), ignore_index=1)],
    # quotients kept away from whole numbers, where these step
    "remainder": [case(_quotients, _divisors), case(_quotients, np.array(-1.5)),
                  case(np.array(7.3), _divisors)],
    "fmod": [case(_quotients, _divisors), case(_quotients, np.array(-1.5))],
    "rounded_div": [case(_quotients, _divisors), case(_quotients, _divisors, rounding="trunc")],
    "step": [case(_quotients), case(_quotients, how="ceil"), case(_quotients, how="round"),
             case(_quotients, how="round", decimals=1), case(_quotients, how="trunc"),
             case(_quotients, how="sign")],
    "binary_cross_entropy": [case(_rng.uniform(0.1, 0.9, 5), _rng.uniform(0, 1, 5)),
                             case(_rng.uniform(0.1, 0.9, (2, 3)), _rng.uniform(0, 1, (2, 3)),
                                  reduction="sum")],
}


def engine_ops() -> list[str]:
    """Registered ops defined by the stepgrad package (ops that tests register are left out)."""
    return sorted(name for name, cls in sg.ops.registry.items()
                  if cls.__module__.split(".")[0] == "stepgrad")


def test_every_op_has_a_gradient_test() -> None:
    untested = sorted(set(engine_ops()) - set(CASES))
    assert not untested, f"ops registered without a gradient test (add them to CASES): {untested}"
    stale = sorted(set(CASES) - set(sg.ops.names()))
    assert not stale, f"CASES names ops that are not registered: {stale}"


@pytest.mark.parametrize("op", sorted(CASES))
def test_backward_matches_finite_differences(op: str) -> None:
    cases = CASES[op]
    assert len(cases) >= 2, f"{op}: check at least two shapes"
    for inputs, attrs in cases:
        ctx = sg.Context()
        ctx.needs_input_grad = (False,) * len(inputs)
        out = np.asarray(sg.ops.get(op).forward(ctx, *inputs, **attrs))
        upstream = np.random.default_rng(0).standard_normal(out.shape)  # not all ones
        result = sg.check_node(op, inputs, attrs, upstream=upstream)
        shapes = [np.shape(a) for a in inputs]
        assert result.ok, f"{op} on shapes {shapes} with {attrs}:\n{result.message}"


def test_check_node_catches_a_wrong_backward() -> None:
    """The checker must be able to fail: a relu whose backward forgets the mask."""
    x = away(3, 4)
    with sg.ops.patch("relu", backward=lambda ctx, grad: (grad,)):
        result = sg.check_node("relu", [x])
    assert not result.ok
    assert "relu" in result.message and "expected" in result.message


def test_gradcheck_catches_a_wrong_backward_and_names_it() -> None:
    x = sg.tensor(away(2, 3), requires_grad=True)
    with sg.ops.patch("tanh", backward=lambda ctx, grad: (grad * ctx.out,)):
        with pytest.raises(sg.GradcheckError, match=r"expected .* \(finite differences\)"):
            sg.gradcheck(lambda t: t.tanh().sum(), x)
    assert sg.gradcheck(lambda t: t.tanh().sum(), x)


def test_gradcheck_through_the_tensor_api_with_broadcasting_and_reuse() -> None:
    """A small network by hand: broadcasting bias, a value used twice, several ops in a row."""
    x = sg.tensor(r(4, 3), requires_grad=True)
    w = sg.tensor(r(3, 5), requires_grad=True)
    b = sg.tensor(r(5), requires_grad=True)

    def f(x: sg.Tensor, w: sg.Tensor, b: sg.Tensor) -> sg.Tensor:
        h = (x @ w + b).tanh()
        return (h * h + h.sigmoid()).log_softmax(axis=1).mean(axis=0) / 2 - (h ** 2).sum(dim=1)[0]

    assert sg.gradcheck(f, x, w, b)


def test_gradcheck_of_a_conv_net_in_float64() -> None:
    x = sg.tensor(r(2, 1, 6, 6), requires_grad=True)
    conv = sg.nn.Conv2d(1, 2, 3, padding=1)
    fc = sg.nn.Linear(18, 3)
    weights = [sg.tensor(p.data.astype(np.float64), requires_grad=True)
               for p in (conv.weight, conv.bias, fc.weight, fc.bias)]

    def f(x: sg.Tensor, cw: sg.Tensor, cb: sg.Tensor, fw: sg.Tensor, fb: sg.Tensor) -> sg.Tensor:
        F = sg.nn.functional
        h = F.max_pool2d(F.relu(F.conv2d(x, cw, cb, padding=1)), 2)
        return F.cross_entropy(F.linear(h.reshape(2, -1), fw, fb), [1, 2])

    assert sg.gradcheck(f, x, *weights)


@settings(max_examples=30, deadline=None)
@given(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       st.sampled_from(["add", "sub", "mul", "div"]))
def test_broadcasting_gradients_for_any_shapes(shapes: Any, op: str) -> None:
    """Whatever shapes numpy broadcasts, each input's gradient comes back in its own shape."""
    (shape_a, shape_b), _ = shapes
    a = sg.tensor(r(*shape_a), requires_grad=True)
    b = sg.tensor(pos(*shape_b), requires_grad=True)
    f = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
         "div": lambda a, b: a / b}[op]
    assert sg.gradcheck(lambda a, b: f(a, b).tanh(), a, b)
    f(a, b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_check_node_counts_a_dropped_gradient_as_zeros() -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    with sg.ops.patch("add", backward=lambda ctx, grad: (grad, None)):
        result = sg.check_node("add", [a, b])
    assert not result.ok and "input 1" in result.message
    assert result.worst[1].expected == pytest.approx(1.0) and result.worst[1].received == 0.0


def test_check_node_samples_large_inputs_and_still_finds_a_bug() -> None:
    x = np.random.default_rng(0).standard_normal((64, 50))
    assert sg.check_node("tanh", [x], max_elements=100).ok
    with sg.ops.patch("tanh", backward=lambda ctx, grad: (grad * (1 - ctx.out),)):
        result = sg.check_node("tanh", [x], max_elements=100)
    assert not result.ok and "expected" in result.message


def test_a_gradient_of_the_wrong_shape_is_an_error_not_a_silent_reshape() -> None:
    w = sg.tensor(np.ones((2, 4)), requires_grad=True, name="w")
    with sg.ops.patch("tanh", backward=lambda ctx, grad: (grad.T,)):
        with pytest.raises(RuntimeError, match=r"tanh.backward sent a gradient of shape "
                                               r"\(4, 2\) to input 0 \(w\) of shape \(2, 4\)"):
            w.tanh().sum().backward()
        result = sg.check_node("tanh", [np.ones((2, 4))])
    assert not result.ok and "shape (4, 2)" in result.message
