"""Lesson 12: the capstone. One mystery bug, drawn from the catalogues of lessons 1 to 11,
hidden in a digits CNN that uses everything the lessons covered.

The pool is built from the other lessons' `LESSON.bugs`: every op bug whose op the capstone
runs, every loop bug that only changes the generic hooks, plus the listed others that work
on this model (`INCLUDED`); `EXCLUDED` says why the rest cannot show here. Each bug keeps
its id, title, answers and hints; the capstone puts two general hints in front of them and
gives it a symptom check of its own (the original checks read their own lesson's numbers).
"""

from __future__ import annotations

import importlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets, training
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, current_hooks
from stepgrad.lessons.l07_optimizers import StepWatch
from stepgrad.lessons.l09_convolution import gradcheck_ops
from stepgrad.lessons.l11_batchnorm_dropout import (
    BN_CNN_OPS,
    DigitsBatchNormCNN,
    dropout_mean_ratio,
    eval_disagreement,
)
from stepgrad.lessons.quiz import grad_value, window_grads
from stepgrad.nn import functional as F

LR, GAMMA, EPOCHS, BATCH, WEIGHT_DECAY = 0.01, 0.8, 8, 64, 1e-4
TARGET = 0.95
CAPSTONE_OPS = tuple(op for op in BN_CNN_OPS if op != "cross_entropy") + (
    "log_softmax", "mul", "sum", "mean", "neg", "add")
#: How many hints the learner takes before the tutor lets them compare with a healthy run.
COMPARE_AFTER_HINTS = 2

TEXT = """\
Everything from the lessons, in one network, and one bug hidden somewhere in it. It could
be in any op's forward or backward, in the training loop, in the optimizer or in the
initialisation, taken from the catalogue of any lesson from 1 to 11. Nobody tells you which.

## The model

    conv 1->8 (3x3, pad 1), BatchNorm, ReLU, max-pool 2
    conv 8->16 (3x3, pad 1), BatchNorm, ReLU, max-pool 2
    flatten (64), dropout 0.5, linear 64->10

trained with Adam (lr 0.01, times 0.8 each epoch) for 8 epochs on the 8x8 digits. The loss
is written out by hand, as in lessons 5 and 6: the negative log-likelihood of log_softmax,
plus an L2 penalty on the weights, so the graph also has log_softmax, mul, sum, mean, neg and
add nodes:

    log_probs = F.log_softmax(model(x), dim=1)
    nll = -(log_probs * one_hot(y)).sum(axis=1).mean()
    loss = nll + 1e-4 * sum((w * w).sum() for w in weights)

A healthy run reaches about 98% test accuracy (target: 95%).

## How to hunt

1. **Observe.** Does the loss fall? Is anything NaN? What do the epoch markers say about test
   accuracy? Does the first Adam step move each weight by about lr?
2. **Check the backward of every kind of node** against finite differences (conv2d,
   batch_norm, relu, max_pool2d, reshape, dropout, linear, log_softmax, mul, sum, mean,
   neg, add).
   One failing op is your answer.
3. **If every op passes**, the fault is in a forward, the loop, the optimizer or the
   initialisation: compare training mode with evaluation mode, look at an OptimizerStep,
   at the gradients at the first iteration, at the weights before the first step.
4. **Diagnose** with the name of what is broken (`diagnose conv2d backward`,
   `diagnose zero grad`, `diagnose adam bias correction` ...).

After two hints you may also compare this run with a healthy one (`fixed`); the hints start
general and end specific.

## PyTorch equivalent

    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                          nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
    nll = -(F.log_softmax(model(x), dim=1) * F.one_hot(y, 10)).sum(dim=1).mean()
    loss = nll + 1e-4 * sum((w * w).sum() for w in weights)
"""

GOALS = (
    "Find an unknown bug with the whole method: observe, gradcheck each op, then the loop",
    "Tell an op bug from a loop, optimizer or initialisation bug by its symptoms",
    "Name the fault precisely and explain its fix",
)

SYMPTOM = ("A mystery: one fault from lessons 1 to 11 is in this run. Watch the loss and the "
           "test accuracy (a healthy run reaches about 98%), gradient-check the nodes, and "
           "find what goes wrong, then where.")

GENERAL_HINTS = (
    "Start from what you can see: the loss per iteration, the test accuracy at each epoch "
    "marker, any NaN. Then gradient-check one node of every kind (conv2d, batch_norm, relu, "
    "max_pool2d, reshape, dropout, linear, log_softmax, mul, sum, mean, neg, add).",
    "If one op fails its gradient check, that op is the suspect; if they all pass, look at "
    "what the checks cannot see: forwards, the training loop, the optimizer's steps, the "
    "initial weights, train versus eval mode. You may now compare with a healthy run (`fixed`).",
)

#: Bugs of other kinds that work on this model, and the lesson they come from.
INCLUDED = {
    "adam-no-bias-correction": 7,   # the capstone trains with Adam
    "init-all-zero": 8,             # zeroes the conv and linear layers alike
    "dropout-active-in-eval": 11,
    "dropout-not-rescaled": 11,     # an op bug whose backward matches its (wrong) forward
    "lr-explodes": 6,               # the capstone's schedule reads the flag lr_gamma too
}

#: Bugs that cannot show in this model, and why.
EXCLUDED = {
    "momentum-buffer-reset": "the capstone trains with Adam, which has no momentum buffer",
    "init-too-small": "batch norm rescales the conv outputs, so tiny conv weights do no harm",
    "dead-relu-init": "its init hook is written for an MLP's linear layers",
    "softmax-no-max": "the capstone's logits stay far below 88, where e**x would overflow",
}

#: Generic Hooks fields a loop bug may change and still make sense in any training loop.
GENERIC_HOOKS = ("zero_grad", "update_sign", "lr_scale")


# -- the pool ------------------------------------------------------------------------------------

def _other_lessons() -> list[Lesson]:
    from stepgrad.lessons.registry import builtin_modules

    mine = __name__.rsplit(".", 1)[-1]
    lessons = [importlib.import_module(f"stepgrad.lessons.{name}").LESSON
               for name in builtin_modules() if name != mine]
    return sorted(lessons, key=lambda lesson: lesson.number)


def _changes_only_generic_hooks(bug: Bug) -> bool:
    with bug.inject():
        hooks = current_hooks()
    healthy = Hooks()
    changed = {name for name in Hooks.__dataclass_fields__
               if getattr(hooks, name) != getattr(healthy, name)}
    return bool(changed) and changed <= set(GENERIC_HOOKS)


def applies(bug: Bug) -> bool:
    """True when `bug` can show its symptom in the capstone's model and loop."""
    if bug.id in EXCLUDED:
        return False
    if bug.id in INCLUDED:
        return True
    if bug.kind == "op":
        return bug.op in CAPSTONE_OPS
    if bug.kind == "loop":
        return _changes_only_generic_hooks(bug)
    return False


def _reached(r: RunResult) -> bool:
    return r.finite and r.metric("test_accuracy") >= TARGET


#: Symptom checks for the bugs whose effect is not a failed gradient check or a missed target.
SPECIAL_SHOWS: dict[str, Callable[[RunResult], bool]] = {
    "adam-no-bias-correction": lambda r: r.extra.get("adam_first_step_over_lr", 0.0) > 2.0,
    "dropout-not-rescaled": lambda r: r.extra.get("dropout_mean_ratio", 1.0) < 0.75,
    "dropout-active-in-eval": lambda r: r.extra.get("eval_disagreement", 0.0) > 0.0,
}


def capstone_shows(bug: Bug) -> Callable[[RunResult], bool]:
    """The capstone's symptom check for `bug`: its special check, else a failed gradient
    check of its op, else a missed target (or a NaN)."""
    special = SPECIAL_SHOWS.get(bug.id)
    if special is not None:
        return special

    def shows(r: RunResult) -> bool:
        if bug.kind == "op" and r.extra.get("gradcheck", {}).get(bug.op):
            return True
        return not _reached(r)

    return shows


def as_mystery(bug: Bug, lesson: Lesson, taken: set[str]) -> Bug:
    """The capstone's copy of `bug`: general hints first, its lesson named in the reveal."""
    bug_id = bug.id if bug.id not in taken else f"l{lesson.number:02d}-{bug.id}"
    return replace(bug, id=bug_id, symptom=SYMPTOM, hints=GENERAL_HINTS + bug.hints,
                   explanation=f"(From lesson {lesson.number}, {lesson.title}.) "
                               f"{bug.explanation}",
                   shows=capstone_shows(bug),
                   code=bug.code if getattr(bug.code, "portable", True) else None)


def _effect(bug: Bug) -> tuple[str, ...] | None:
    """What a hooks-only bug changes (two bugs with the same effect are one bug here)."""
    if bug.kind != "loop" or bug.id in INCLUDED:
        return None
    with bug.inject():
        hooks = current_hooks()
    return tuple(f"{name}={getattr(hooks, name)!r}" for name in GENERIC_HOOKS
                 if getattr(hooks, name) != getattr(Hooks(), name))


def build_pool() -> tuple[tuple[Bug, ...], dict[str, int]]:
    """The capstone's bugs, and the lesson each comes from: every applicable bug of lessons
    1 to 11, once per effect (a duplicate's accepted answers join the first one's)."""
    pool: list[Bug] = []
    origin: dict[str, int] = {}
    by_effect: dict[tuple[str, ...], int] = {}
    for lesson in _other_lessons():
        for bug in lesson.bugs:
            if not applies(bug):
                continue
            effect = _effect(bug)
            if effect is not None and effect in by_effect:
                first = pool[by_effect[effect]]
                extra = tuple(a for a in bug.answers if a not in first.answers)
                pool[by_effect[effect]] = replace(first, answers=first.answers + extra)
                continue
            if effect is not None:
                by_effect[effect] = len(pool)
            pool.append(as_mystery(bug, lesson, {b.id for b in pool}))
            origin[pool[-1].id] = lesson.number
    return tuple(pool), origin


# -- the run ---------------------------------------------------------------------------------------

def penalised_loss(model: sg.nn.Module, classes: int = 10) -> training.LossFn:
    """Mean negative log-likelihood of log_softmax, written out, plus WEIGHT_DECAY times the
    sum of the squared weights (not biases)."""
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")
               and p.ndim > 1]
    eye = np.eye(classes, dtype=sg.default_dtype())

    def loss_fn(out: sg.Tensor, y: np.ndarray) -> sg.Tensor:
        log_probs = F.log_softmax(out, dim=1)
        nll = -(log_probs * eye[np.asarray(y)]).sum(axis=1).mean()
        penalty = sum((w * w).sum() for w in weights)
        return nll + WEIGHT_DECAY * penalty

    return loss_fn


def evaluate(model: sg.nn.Module, data: datasets.Dataset) -> dict[str, float]:
    """Test metrics with the plain cross-entropy (the penalty is for training only)."""
    return training.evaluate(model, data, F.cross_entropy)


def train(hooks: Hooks, seed: int) -> RunResult:
    data = datasets.load_digits(images=True)
    model = DigitsBatchNormCNN()
    optimizer = sg.optim.Adam(model.parameters(), lr=LR)
    watch = StepWatch(optimizer)
    gamma = float(hooks.flag("lr_gamma", GAMMA))  # lesson 6's schedule flag
    result = training.train(model, optimizer, data, EPOCHS, BATCH, watch.hooks(hooks),
                            penalised_loss(model), seed=seed, evaluate_fn=evaluate,
                            iteration_metrics=watch, lr_schedule=lambda epoch: gamma ** epoch)
    result.extra.update(gradcheck=gradcheck_ops(CAPSTONE_OPS),
                        eval_disagreement=eval_disagreement(model, data.x_test),
                        dropout_mean_ratio=dropout_mean_ratio(),
                        adam_first_step_over_lr=watch.ratios[0] if watch.ratios else math.nan)
    return result


@dataclass(frozen=True)
class Capstone(Lesson):
    """A lesson whose bug is a mystery drawn at random from the pool.

    compare_after_hints   hints the learner must take before comparing with a healthy run
    mystery               True: pick the bug at random unless one is asked for
    """

    compare_after_hints: int = COMPARE_AFTER_HINTS
    mystery: bool = True

    def draw(self, seed: int | None = None) -> Bug:
        """A bug of the pool at random (repeatable with `seed`)."""
        chooser = random.Random(seed) if seed is not None else random.SystemRandom()
        return chooser.choice(self.bugs)

    def may_compare(self, hints_used: int) -> bool:
        """True once the learner has taken enough hints to compare with a healthy run."""
        return hints_used >= self.compare_after_hints


#: The mystery bugs, and for each the number of the lesson it comes from.
POOL, ORIGIN = build_pool()

QUESTIONS = (
    grad_value(
        "mean", 0, "{name} = mean of {n} numbers receives upstream gradient {u0}. What "
        "gradient does each of the {n} numbers receive?",
        "d mean / d x_i = 1 / n: each number gets upstream / n, so the loss's gradient "
        "does not grow with the batch size."),
    window_grads(),
)

LESSON = Capstone(
    number=12, slug="capstone", title="Capstone: a mystery bug",
    text=TEXT, goals=GOALS,
    data="8x8 digits as (1, 8, 8) images: 1438 training and 359 test images",
    model="CNN conv 1->8, BatchNorm, ReLU, max-pool, conv 8->16, BatchNorm, ReLU, max-pool, "
          "flatten, dropout 0.5, linear 64->10; log_softmax NLL + L2 penalty; Adam (lr 0.01 "
          "x 0.8 per epoch)",
    target="test accuracy >= 95% in 8 epochs",
    bugs=POOL,
    train=train,
    reached=_reached,
    questions=QUESTIONS,
)

__all__ = ["CAPSTONE_OPS", "COMPARE_AFTER_HINTS", "Capstone", "EXCLUDED", "INCLUDED", "LESSON",
           "ORIGIN", "POOL",
           "applies", "build_pool", "capstone_shows", "penalised_loss"]
