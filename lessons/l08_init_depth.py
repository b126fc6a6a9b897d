"""Lesson 8: initialisation and depth. A deep tanh MLP on the digits, and two bad starts.

Both bugs are initialisation bugs: they replace the lesson's initialisation through the
`init` hook, which the training loop calls with the model once it is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad import nn
from stepgrad.lessons import datasets, models, training
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, with_hooks
from stepgrad.lessons.diagnosis import concept
from stepgrad.lessons.fixing import Code
from stepgrad.lessons.quiz import grad_shape, grad_value

WIDTH, HIDDEN_LAYERS = 32, 6
SIZES = [64] + [WIDTH] * HIDDEN_LAYERS + [10]
LR, MOMENTUM, EPOCHS, BATCH = 0.05, 0.9, 10, 64
TARGET = 0.90
TANH_GAIN = 5 / 3
CHANCE_LOSS = float(np.log(10))

TEXT = """\
A network's weights have to start somewhere, and with depth the choice stops being a detail.
This lesson trains a **deep** network: seven linear layers with tanh between them, on the
8x8 digits (64 pixels in, 10 classes out).

## Why the scale of the first weights matters

Take one layer `h = tanh(W x)` with `n` inputs. If the weights have standard deviation `s`,
each pre-activation sums `n` terms and has spread about `s * sqrt(n) * spread(x)`. Through a
stack of layers that factor `s * sqrt(n)` **multiplies**:

* factor < 1: the activations shrink layer after layer towards 0, and so do the gradients
  flowing back (each layer's backward multiplies by `W.T` too). The first layers learn
  nothing: *vanishing gradients*.
* factor > 1: tanh saturates at +-1, its derivative `1 - tanh**2` is 0, and again no
  gradient gets through.

**Glorot (Xavier) initialisation** picks `s` so the factor is about 1:
`W ~ U(-a, a)` with `a = gain * sqrt(6 / (fan_in + fan_out))`, gain 5/3 for tanh. Biases
start at 0. That is what the healthy lesson does.

## Why not all zeros?

If every weight of a layer starts equal, every unit of that layer computes the same value
and receives the same gradient, so after any number of steps they are still equal: the layer
behaves like one unit (*symmetry*). Random initialisation breaks the symmetry.

## What to watch

Each iteration marker carries the gradient norm of every layer (`grad_fc1` ... `grad_fc7`).
Healthy, they are all of order 1 at the start. Stepping forward, look at the tanh
outputs: their spread should stay roughly the same from layer to layer.

## PyTorch equivalent

    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layer = nn.Linear(n_in, n_out)
        nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain("tanh"))  # 5/3
        nn.init.zeros_(layer.bias)
        layers += [layer, nn.Tanh()]
    model = nn.Sequential(*layers[:-1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
"""

GOALS = (
    "Predict how the scale of the initial weights grows or shrinks activations through depth",
    "Read per-layer gradient norms and recognise vanishing gradients",
    "Explain why identical initial weights keep hidden units identical forever",
)


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def weighted_layers(model: nn.Module) -> list[nn.Linear | nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def glorot_init(model: nn.Module) -> None:
    """The healthy start: Xavier-uniform weights with tanh's gain, zero biases."""
    for layer in linears(model):
        nn.init.xavier_uniform_(layer.weight, gain=TANH_GAIN)
        nn.init.zeros_(layer.bias)


def tiny_init(model: nn.Module) -> None:
    """Weights drawn from N(0, 0.01**2): the `0.01 * randn` of many old tutorials."""
    for layer in linears(model):
        nn.init.normal_(layer.weight, 0.0, 0.01)  # BUG: 0.01 * sqrt(32) = 0.06 per layer
        nn.init.zeros_(layer.bias)


def zero_init(model: nn.Module) -> None:
    """Every weight and bias of the linear (and convolution) layers set to 0."""
    for layer in weighted_layers(model):
        nn.init.zeros_(layer.weight)  # BUG: every unit of a layer starts (and stays) the same
        nn.init.zeros_(layer.bias)


def build_model() -> models.MLP:
    model = models.mlp(SIZES, activation="tanh")
    glorot_init(model)
    return model


def layer_grad_norms(model: nn.Module) -> dict[str, float]:
    """Iteration metrics: the gradient norm of each linear layer's weight."""
    return {f"grad_fc{i + 1}": float(np.linalg.norm(layer.weight.grad))
            if layer.weight.grad is not None else 0.0
            for i, layer in enumerate(linears(model))}


def hidden_unit_spread(model: models.MLP, x: np.ndarray) -> float:
    """How different the units of the first hidden layer are: the std across units, averaged
    over examples (0 when every unit has the same value)."""
    with sg.no_grad():
        first, act = model.fc1, model.act1  # type: ignore[attr-defined]  # made by name
        hidden = act(first(sg.tensor(x))).data
    return float(hidden.std(axis=1).mean())


def train(hooks: Hooks, seed: int) -> RunResult:
    data = datasets.load_digits()
    model = build_model()
    optimizer = sg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    norms: list[dict[str, float]] = []

    def per_iteration(m: Any) -> dict[str, float]:
        norms.append(layer_grad_norms(m))
        return norms[-1]

    result = training.train(model, optimizer, data, EPOCHS, BATCH, hooks, seed=seed,
                            iteration_metrics=per_iteration)
    result.extra.update(first_grad_norms=norms[0] if norms else {},
                        hidden_unit_spread=hidden_unit_spread(model, data.x_test))
    return result


def _largest_first_grad(r: RunResult) -> float:
    return max(r.extra.get("first_grad_norms", {}).values(), default=float("nan"))


TINY_INIT = Bug(
    id="init-too-small",
    title="Weights initialised from N(0, 0.01**2): far too small for seven layers",
    kind="init",
    inject=with_hooks(init=tiny_init),
    symptom="The loss stays at 2.30 (= ln 10, a uniform guess) for the whole run and "
            "test accuracy is about 10%.",
    hints=(
        "Nothing diverges, nothing is NaN: the loss just never moves. Look at the gradient norms "
        "on the first iteration marker.",
        "Every layer's gradient is around 1e-8. Step through the forward pass of one batch and "
        "look at the spread of each tanh output.",
        "The activations shrink by the same factor at every layer. That factor is the weight "
        "scale times sqrt(fan_in): what scale did the weights start with?",
        "Look at how the weights are initialised (the init hook): compare their standard "
        "deviation with Glorot's sqrt(2 / (fan_in + fan_out)) * 5/3.",
    ),
    answers=("weight init too small", "weights too small"),
    concepts=(concept("init", "weight", "initial", "start", "scale", "std", "variance", "vanish"),
              concept("small", "tiny", "vanish", "0 01", "too low", "scale", "std",
                      "shrink", ask="what is wrong with the initialisation?")),
    code=Code("init", tiny_init, lambda fn: with_hooks(init=fn)),
    explanation="With s = 0.01 and 32 inputs per unit, each layer multiplies the spread of its "
                "input by about 0.01 * sqrt(32) = 0.057, so after six layers the signal is "
                "1e-7 of what it was, and backward multiplies by the same small W.T at every "
                "layer on the way back. Every weight gradient is ~1e-8, so SGD does not move "
                "anything: the loss sits at ln 10. Fix: scale the weights to the fan-in, e.g. "
                "Glorot init with tanh's gain (nn.init.xavier_uniform_(w, gain=5/3)).",
    shows=lambda r: _largest_first_grad(r) < 1e-5 and r.final_loss > CHANCE_LOSS - 0.05,
)

ZERO_INIT = Bug(
    id="init-all-zero",
    title="Every weight and bias initialised to 0",
    kind="init",
    inject=with_hooks(init=zero_init),
    symptom="The loss stays at 2.30 (= ln 10, a uniform guess) and test accuracy is "
            "about 10%.",
    hints=(
        "The loss does not move at all. Look at the per-layer gradient norms on the first "
        "iteration marker.",
        "They are exactly 0, not just small. Step forward through one batch: what values do "
        "the hidden units take?",
        "Every hidden unit of a layer has the same value for every input. When could two units "
        "with the same inputs compute the same thing?",
        "Look at the initial weights (the init hook): what breaks the symmetry between units?",
    ),
    answers=("weight init zero", "zero weights"),
    concepts=(concept("init", "weight", "symmetry", "symmetric", "initial", "start"),
              concept("zero", "0", "symmetry", "symmetric", "same", "identical", "constant",
                      ask="what is wrong with the initialisation?")),
    code=Code("init", zero_init, lambda fn: with_hooks(init=fn)),
    explanation="With all weights 0, every tanh unit outputs tanh(0) = 0 for every input, and "
                "the gradient a weight receives is (gradient from above) x (its input); both are "
                "0 for every hidden weight, and the last layer only learns its biases (the class "
                "frequencies). Even with a nonzero constant, the units of a layer would stay "
                "identical forever because they get identical gradients. Fix: random "
                "initialisation scaled to the fan-in (Glorot for tanh).",
    shows=lambda r: r.extra.get("hidden_unit_spread", 1.0) < 1e-6
    and r.final_loss > CHANCE_LOSS - 0.05,
)

QUESTIONS = (
    grad_value(
        "tanh", 0, "at {name}'s backward, element 0 receives upstream gradient {u0}; the "
        "forward input there was {x0}. What does the input's element 0 receive?",
        "tanh'(a) = 1 - tanh(a)**2, never more than 1: every tanh layer can only shrink "
        "the gradient, and with tiny weights the linear layers shrink it further."),
    grad_shape(
        "linear", 1, "{name} = linear(x, weight, bias) receives an upstream gradient of shape "
        "{upstream}. What shape is the gradient its weight receives?",
        "The weight is (out, in), and so is its gradient: grad.T @ x."),
)

LESSON = Lesson(
    number=8, slug="init_depth", title="Initialisation and depth",
    text=TEXT, goals=GOALS,
    data="8x8 digits as 64 pixels: 1438 training and 359 test images",
    model="deep MLP 64-32-32-32-32-32-32-10 with tanh, Glorot init, SGD (lr 0.05, momentum 0.9)",
    target="test accuracy >= 90% in 10 epochs",
    bugs=(TINY_INIT, ZERO_INIT),
    train=train,
    reached=lambda r: r.metric("test_accuracy") >= TARGET,
    questions=QUESTIONS,
)

__all__ = ["LESSON", "TINY_INIT", "ZERO_INIT", "glorot_init", "tiny_init", "zero_init"]
