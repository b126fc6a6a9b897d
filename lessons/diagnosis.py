"""Reading a diagnosis by meaning: the concepts a right answer must name.

A learner says what is wrong in their own words: "the update adds the gradient", "learning
rate is negative", "weight gradient transposed". A bug declares the *concepts* a right answer
names, each with its synonyms, and an answer is right when it names one phrase of every
concept:

    Bug(..., concepts=(op_named("relu"), BACKWARD, concept("mask", "activation", ...)))

Words are compared by their stems, so word forms agree ("adds", "added", "adding" -> "add";
"transposed" -> "transpose"). When the first concept (where the fault is: an op, a part of the
loop or of the initialisation) is named but a later one is missing, the answer is close, and
the missing concept's `ask` says what to add ("which phase: forward or backward?"). A concept
can list `wrong` phrases: naming them and not the right ones refuses the answer ("relu forward"
for a bug in relu's backward).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PHRASES = {"learning rate": "lr", "zero grad": "zero_grad", "zerograd": "zero_grad",
            "log softmax": "log_softmax", "cross entropy": "cross_entropy",
            r"initiali[sz]\w*": "init", "weight decay": "weight_decay",
            "step size": "lr", "eval mode": "eval", "evaluation": "eval"}
_WORDS = {"multiply": "mul", "multiplication": "mul", "times": "mul", "product": "mul",
          "addition": "add", "plus": "add", "sum": "sum", "backwards": "backward",
          "backprop": "backward", "gradient": "grad", "gradients": "grad", "grads": "grad",
          "derivative": "grad", "fwd": "forward", "bwd": "backward", "zeroed": "zero",
          "zeroing": "zero", "weights": "weight", "biases": "bias", "inputs": "input"}


def normalise(answer: str) -> str:
    """The canonical form of a diagnosis: lowercase words separated by single spaces.

    "ReLU-Backward", "relu_backward " and "relu  backward" all become "relu backward";
    a few synonyms are folded ("multiply" -> "mul", "gradients" -> "grad",
    "learning rate" -> "lr", "zero_grad" -> "zero_grad").
    """
    text = " ".join(re.sub(r"[^a-z0-9]+", " ", answer.lower()).split())
    for phrase, canonical in _PHRASES.items():
        text = re.sub(rf"\b{phrase}\b", canonical.replace("_", " "), text)
    return " ".join(_WORDS.get(word, word) for word in text.split())


_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "ies", "ied", "ed", "es", "ly",
             "s", "e")


def stem(word: str) -> str:
    """A word's stem, crude and consistent: "adds" "added" "adding" all give "add"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # "summ" (summed) -> "sum", "dropp" (dropped) -> "drop"
    return word


def stems(text: str) -> tuple[str, ...]:
    """The stems of a phrase after `normalise` (lowercase words, synonyms folded)."""
    return tuple(stem(word) for word in normalise(text).split())


def mentions(said: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """True when the stems of `phrase` appear in `said` one after the other."""
    width = len(phrase)
    return width > 0 and any(said[i: i + width] == phrase for i in range(len(said) - width + 1))


@dataclass(frozen=True)
class Concept:
    """One thing a right answer must name, as any of several phrases.

    phrases  the synonyms and word forms ("mul", "multiply", "times", "product")
    ask      what to tell a learner who named the earlier concepts but not this one
    wrong    phrases that contradict this concept ("forward" when the fault is backward)
    """

    phrases: tuple[str, ...]
    ask: str = "what exactly is wrong with it?"
    wrong: tuple[str, ...] = ()
    _stems: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)
    _wrong: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stems", tuple(s for p in self.phrases if (s := stems(p))))
        object.__setattr__(self, "_wrong", tuple(s for p in self.wrong if (s := stems(p))))

    def named(self, said: tuple[str, ...]) -> bool:
        return any(mentions(said, phrase) for phrase in self._stems)

    def contradicted(self, said: tuple[str, ...]) -> bool:
        return not self.named(said) and any(mentions(said, p) for p in self._wrong)


def concept(*phrases: str, ask: str = "what exactly is wrong with it?",
            wrong: tuple[str, ...] = ()) -> Concept:
    """A concept from its phrases: `concept("scale", "rescale", "1/(1-p)", ask=...)`."""
    return Concept(tuple(phrases), ask, wrong)


_GRAD_WORDS = ("backward", "backprop", "backpropagation", "grad", "derivative", "chain rule",
               "local derivative")
BACKWARD = Concept(_GRAD_WORDS, "which phase: forward or backward?", ("forward",))
FORWARD = Concept(("forward", "output", "compute", "value"), "which phase: forward or backward?",
                  ("backward", "backprop"))



def backward(*more: str) -> Concept:
    """The backward phase, also named by what goes wrong in it (`backward("mask")`)."""
    return Concept((*BACKWARD.phrases, *more), BACKWARD.ask, BACKWARD.wrong)


#: The gradients are never zeroed (lessons 2 and 6): one concept, the missing reset.
ZERO_GRAD_MISSING = (Concept(("zero grad", "zero", "reset", "clear", "across iteration",
                              "between iteration", "pile up", "build up", "previous iteration",
                              "last iteration", "stale", "leftover", "accumulate across")),)
WHICH_LINEAR_PART = "which part: the weight gradient or the bias gradient?"
WHICH_CONV_PART = "which part: the weight gradient or the input gradient?"
WHICH_POOL_PART = "which part: where does each window's gradient go?"
WHICH_DROPOUT_PART = "what is wrong with it: how it scales, or when it is active?"

#: The ways a learner names each op (the op's own name is always one of them).
OP_WORDS: dict[str, tuple[str, ...]] = {
    "mul": ("multiply", "multiplication", "times", "product", "w x", "w * x"),
    "add": ("addition", "plus", "sum node", "m + b", "+ b"),
    "linear": ("linear layer", "fully connected", "dense", "affine", "fc", "layer"),
    "relu": ("rectifier", "rectified linear"),
    "log_softmax": ("softmax", "logsoftmax", "log softmax", "exp", "logsumexp"),
    "mean": ("average", "averaging", "mean reduction", "loss reduction"),
    "conv2d": ("conv", "convolution", "convolutional"),
    "max_pool2d": ("max pool", "maxpool", "max pooling", "pooling", "pool"),
    "reshape": ("flatten", "reshape", "view"),
    "batch_norm": ("batchnorm", "batch norm", "bn", "batch normalization",
                   "batch normalisation", "normalization", "normalisation"),
    "dropout": ("drop out",),
}


def op_named(op: str, *more: str) -> Concept:
    """The concept "this op": its registry name, its usual synonyms and `more`."""
    return Concept((op, op.replace("_", " "), *OP_WORDS.get(op, ()), *more),
                   "which op?")


#: Completion words for `diagnose`: what a learner can name, never words of a bug's title.
VOCABULARY = ("forward", "backward", "grad", "weight", "bias", "input", "output",
              "zero_grad", "optimizer", "update", "step", "lr", "momentum", "schedule", "adam",
              "sgd", "init", "data", "train", "eval", "batch", "loss", "epoch")


def vocabulary(op_names: list[str]) -> list[str]:
    """Op names, phases, parts of the loop and of the initialisation, sorted."""
    return sorted({*op_names, *VOCABULARY})


@dataclass(frozen=True)
class Reading:
    """How an answer reads against one bug's concepts."""

    accepted: bool
    close: bool        # named where the fault is, but missed or contradicted a later concept
    ask: str = ""      # what to add (the first missing concept's question)
    contradicted: bool = False


def read(concepts: tuple[Concept, ...], answer: str) -> Reading:
    """Read `answer` against `concepts` (the first concept says where the fault is)."""
    said = stems(answer)
    if not concepts or not said:
        return Reading(False, False)
    where, rest = concepts[0], concepts[1:]
    if not where.named(said):
        return Reading(False, False)
    for part in rest:
        if part.contradicted(said):
            return Reading(False, True, part.ask, contradicted=True)
    missing = next((part for part in rest if not part.named(said)), None)
    if missing is None:
        return Reading(True, True)
    return Reading(False, True, missing.ask)


def words(text: str) -> list[str]:
    """The words of a learner's answer, for messages."""
    return re.findall(r"[a-z0-9_]+", text.lower())


__all__ = ["BACKWARD", "FORWARD", "OP_WORDS", "VOCABULARY", "WHICH_CONV_PART",
           "WHICH_DROPOUT_PART", "WHICH_LINEAR_PART", "WHICH_POOL_PART", "ZERO_GRAD_MISSING",
           "Concept", "Reading", "backward", "concept", "mentions", "normalise", "op_named",
           "read", "stem", "stems", "vocabulary"]
