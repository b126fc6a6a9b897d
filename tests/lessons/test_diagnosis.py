"""Diagnoses in the learner's own words: for every bug, phrasings a learner would write that
must solve it and phrasings that must not; near misses get a question, not a refusal."""

from __future__ import annotations

import pytest

from stepgrad.lessons.diagnosis import stem
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

# (lesson, bug id): (accepted phrasings, refused phrasings)
TABLE: dict[tuple[int, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    (1, "mul-swapped"): (
        ("the multiply backward is wrong", "mul's gradient swaps the inputs",
         "multiplication derivative uses the wrong input", "backprop through w*x is broken",
         "product node gradient"),
        ("add backward", "mul forward", "pow backward", "the learning rate is too big",
         "sub gradient")),
    (1, "add-one-input"): (
        ("add backward sends nothing to b", "the addition's gradient is wrong",
         "plus node backward drops b", "gradient of add only reaches one input",
         "add derivative"),
        ("mul backward", "add forward", "b is initialised wrong", "pow gradient",
         "the data is wrong")),
    (2, "fan-out-assigned"): (
        ("e*e backward only counts one path", "the square's gradient is half",
         "value used twice gets one path's gradient", "mul backward drops the second input",
         "fan-out gradients are overwritten instead of summed"),
        ("zero_grad is missing", "mul forward", "learning rate too small",
         "sub backward", "gradients pile up across iterations")),
    (2, "not-zeroed"): (
        ("zero_grad is never called", "gradients are not reset between iterations",
         "grads pile up from the previous iteration", "nobody clears the gradients",
         "forgot to zero the grads"),
        ("mul backward", "the square's gradient is half", "learning rate", "sub backward",
         "the data is noisy")),
    (3, "bias-first-row"): (
        ("bias gradient is not summed over the batch", "linear backward bias",
         "the bias grad only uses the first example", "linear layer's backward for b",
         "dL/db takes the first row"),
        ("weight gradient is transposed", "linear forward", "linear backward weight",
         "mse loss is wrong", "learning rate too small")),
    (3, "weight-transposed"): (
        ("weight gradient is transposed", "linear backward weight", "the gradient of W is "
         "reshaped instead of transposed", "dense layer weight grad in the wrong order",
         "w grad layout is wrong"),
        ("bias gradient not summed", "linear forward", "the bias", "mse backward",
         "the update sign")),
    (4, "relu-times-activation"): (
        ("relu backward multiplies by the activation", "the relu gradient uses the output "
         "instead of the mask", "relu derivative", "rectifier backward", "relu mask wrong"),
        ("relu forward", "dead relus", "biases initialised too negative", "linear backward",
         "the learning rate")),
    (4, "dead-relu-init"): (
        ("biases initialised too negative", "dead relus from the start", "the bias init is -3",
         "initial biases are too low", "all units are dead at initialization"),
        ("relu backward", "relu forward", "weights too small", "learning rate too high",
         "momentum")),
    (5, "softmax-no-max"): (
        ("log_softmax forward overflows", "softmax doesn't subtract the max",
         "the exp in log softmax overflows", "logsumexp is computed without the max trick",
         "softmax forward is unstable"),
        ("log_softmax backward", "mean backward", "learning rate too high", "tanh forward",
         "the loss divides by the batch size")),
    (5, "mean-not-divided"): (
        ("mean backward does not divide by the batch size", "the mean's gradient is not "
         "averaged", "mean backward forgets 1/n", "loss reduction gradient not divided",
         "average backward scale is wrong"),
        ("mean forward", "softmax forward", "learning rate too high", "log softmax backward",
         "zero grad")),
    (6, "no-zero-grad"): (
        ("zero_grad is missing", "gradients are never reset", "grads pile up",
         "forgot optimizer.zero_grad()", "the gradients accumulate across iterations"),
        ("update adds the gradient", "learning rate too high", "lr schedule grows",
         "mul backward", "data")),
    (6, "update-adds-grad"): (
        ("update adds the gradient", "the learning rate is negative",
         "gradient ascent instead of descent", "the step has the wrong sign",
         "optimizer moves in the opposite direction"),
        ("learning rate too high", "zero_grad missing", "lr schedule grows",
         "linear backward", "init")),
    (6, "lr-explodes"): (
        ("learning rate too high after the first epoch", "the lr schedule grows",
         "the scheduler increases the learning rate", "learning rate explodes",
         "lr decay is multiplied up, not down"),
        ("update adds the gradient", "zero_grad missing", "negative learning rate",
         "mean backward", "momentum")),
    (7, "adam-no-bias-correction"): (
        ("adam bias correction missing", "Adam forgets to correct m and v",
         "the optimizer's first step is too big in adam", "adam has no 1 - beta**t",
         "adam without bias correction"),
        ("sgd momentum", "learning rate too high", "adam", "momentum buffer reset",
         "tanh backward")),
    (7, "momentum-buffer-reset"): (
        ("the momentum buffer is reset every step", "sgd forgets its velocity",
         "momentum is recreated each step", "SGD momentum buffer", "sgd is plain sgd"),
        ("adam bias correction", "sgd", "learning rate too small", "tanh backward",
         "zero grad")),
    (8, "init-too-small"): (
        ("weights initialised too small", "init std is too tiny", "the initial weights are "
         "far too small", "vanishing gradients from a tiny init", "weight scale too small"),
        ("weights initialised to zero", "learning rate too small", "tanh backward",
         "the data", "init")),
    (8, "init-all-zero"): (
        ("weights initialised to zero", "all weights start at 0", "zero init",
         "symmetry is never broken", "every weight initialized the same"),
        ("weights too small", "tanh backward", "learning rate", "zero grad missing",
         "init")),
    (9, "conv-weight-grad-channels-swapped"): (
        ("conv2d backward weight", "the convolution's kernel gradient has its channels "
         "swapped", "conv weight gradient layout", "conv2d grad w transposed",
         "filter gradient is wrong in conv backward"),
        ("conv2d backward input", "col2im", "conv2d forward", "max pool backward",
         "conv2d backward")),
    (9, "col2im-overwrites"): (
        ("col2im overwrites", "conv2d backward input gradient", "the convolution's input "
         "grad overwrites overlapping windows", "col2im does not add", "conv backward x"),
        ("conv2d backward weight", "conv2d forward", "conv2d backward",
         "max pool backward", "linear backward")),
    (10, "maxpool-grad-to-every-element"): (
        ("max pool backward sends the gradient to every element",
         "maxpool gradient goes to all four", "pooling backward spreads the gradient evenly",
         "max_pool2d backward gives each element the same grad",
         "max pool grad not just to the max"),
        ("max pool backward wrong element", "max pool forward", "flatten backward",
         "max_pool2d backward", "conv2d backward")),
    (10, "maxpool-grad-to-wrong-element"): (
        ("max pool backward uses the wrong index", "maxpool gradient goes to the wrong "
         "position", "max_pool2d backward decodes the argmax column-major",
         "pooling backward swaps row and column", "max pool grad in the wrong place"),
        ("max pool backward sends to every element", "max pool forward",
         "flatten backward", "max pool", "conv2d backward")),
    (10, "flatten-backward-channels-last"): (
        ("flatten backward", "reshape backward puts values in the wrong order",
         "flatten's gradient is channels-last", "the view backward uses NHWC",
         "flatten gradient order"),
        ("flatten forward", "max pool backward", "conv2d backward", "linear backward",
         "the data")),
    (11, "batchnorm-backward-constant-stats"): (
        ("batch norm backward treats the mean and variance as constants",
         "batchnorm backward", "bn gradient ignores the batch statistics",
         "batch normalization backward", "batch_norm derivative misses the mean"),
        ("batch norm forward", "dropout", "dropout in eval", "conv2d backward",
         "learning rate")),
    (11, "dropout-not-rescaled"): (
        ("dropout does not rescale by 1/(1-p)", "dropout scale missing",
         "inverted dropout is not inverted", "dropout forward", "dropout should multiply "
         "kept units by 2"),
        ("dropout in eval mode", "dropout", "batch norm backward", "dropout stays on at test",
         "relu forward")),
    (11, "dropout-active-in-eval"): (
        ("dropout still active in eval mode", "dropout during evaluation",
         "dropout is not turned off at test time", "dropout ignores model.eval()",
         "dropout at inference"),
        ("dropout scale", "dropout forward", "dropout", "batch norm backward",
         "learning rate")),
}


def _params() -> list:
    return [pytest.param(n, bug, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug}")
            for n, bug in TABLE]


def test_the_table_covers_every_bug_of_lessons_1_to_11() -> None:
    every = {(n, bug.id) for n in range(1, 12) for bug in get_lesson(n).bugs}
    assert set(TABLE) == every
    assert all(len(ok) >= 5 and len(no) >= 5 for ok, no in TABLE.values())


@pytest.mark.parametrize(("n", "bug_id"), _params())
def test_learners_words_are_accepted(n: int, bug_id: str) -> None:
    accepted, _ = TABLE[(n, bug_id)]
    for answer in accepted:
        solved, message = Tutor(get_lesson(n), bug_id, Progress(autosave=False)).diagnose(answer)
        assert solved, f"{answer!r} refused: {message}"


@pytest.mark.parametrize(("n", "bug_id"), _params())
def test_answers_naming_something_else_are_refused(n: int, bug_id: str) -> None:
    _, refused = TABLE[(n, bug_id)]
    for answer in refused:
        solved, message = Tutor(get_lesson(n), bug_id, Progress(autosave=False)).diagnose(answer)
        assert not solved, f"{answer!r} accepted for {bug_id}"
        assert message and "Solved" not in message


@pytest.mark.parametrize(("n", "bug_id", "answer", "question"), [
    (1, "mul-swapped", "mul", "which phase: forward or backward?"),
    (3, "bias-first-row", "linear backward", "which part: the weight gradient or the bias"),
    (3, "weight-transposed", "linear", "which phase"),
    (9, "col2im-overwrites", "conv2d backward", "the weight gradient or the input gradient?"),
    (6, "update-adds-grad", "the learning rate", "what is wrong"),
    (8, "init-too-small", "initialisation", "what is wrong with the initialisation?"),
])
def test_a_near_miss_is_told_what_to_add(n: int, bug_id: str, answer: str,
                                         question: str) -> None:
    solved, message = Tutor(get_lesson(n), bug_id, Progress(autosave=False)).diagnose(answer)
    assert not solved and message.startswith("Close") and question in message


def test_the_wrong_phase_is_close_but_refused() -> None:
    solved, message = Tutor(get_lesson(4), "relu-times-activation").diagnose("relu forward")
    assert not solved and "Close, but not quite" in message and "backward" in message


def test_word_forms_share_a_stem() -> None:
    assert stem("adds") == stem("added") == stem("adding") == stem("add")
    assert stem("transposed") == stem("transpose")
    assert stem("summed") == stem("sum") and stem("correction") == stem("correct")


def test_a_guess_before_any_evidence_is_noted_and_a_find_is_not(tmp_path) -> None:
    from stepgrad import events

    lesson = get_lesson(4)
    progress = Progress.load(tmp_path / "progress.json")
    tutor = Tutor(lesson, "relu-times-activation", progress)
    solved, message = tutor.diagnose("relu backward")
    assert solved and "guess" in message
    assert progress.guessed(lesson) == {"relu-times-activation"}

    progress.reset()
    tutor = Tutor(lesson, "relu-times-activation", progress)
    tutor.look(events.Iteration(seq=5, iteration=0, epoch=0, loss=1.0))  # not evidence here
    step = events.BackwardStep(seq=9, node_id=3, op="relu", name="relu_1",
                               upstream=__import__("numpy").ones(2), grads=(None,),
                               input_ids=(2,), input_names=("a",), accumulated=(False,),
                               summed_axes=((),), module_path="", depth=0, file="", line=0)
    tutor.look(step)
    solved, message = tutor.diagnose("relu backward")
    assert solved and "guess" not in message and progress.guessed(lesson) == set()


def test_a_diagnosis_of_the_other_bug_is_rejected() -> None:
    tutor = Tutor(get_lesson(9), "col2im-overwrites", Progress(autosave=False))
    assert not tutor.diagnose("conv2d weight gradient")[0]
    tutor = Tutor(get_lesson(7), "momentum-buffer-reset", Progress(autosave=False))
    assert not tutor.diagnose("adam bias correction")[0]
