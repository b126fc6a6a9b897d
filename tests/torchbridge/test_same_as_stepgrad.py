"""The same command transcript on the same model, written for torch and for stepgrad, stops
at the same places with the same gradients; and debugging leaves a torch program's results
exactly as they are without the debugger."""

from __future__ import annotations

import importlib
import os
import sys

import numpy as np
import pytest

pytest.importorskip("torch", reason="the torch bridge needs PyTorch: pip install 'stepgrad[torch]'")

from stepgrad import events as ev  # noqa: E402
from stepgrad import torchbridge  # noqa: E402
from stepgrad.debug import Commands, Session  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
models = importlib.import_module("bridge_models")

TRANSCRIPT = [
    "break backward relu", "continue", "clear",
    "break linear", "continue", "next", "step", "step", "finish", "back", "back", "rcontinue",
    "clear", "break fc2.weight", "continue",
    "clear", "break backward", "continue", "continue", "clear", "continue",
]


def stops(program) -> list[tuple]:
    """Where the session is after each command, and the arrays of that step."""
    session = Session(program, name="mlp")
    session.start()
    commands = Commands(session)
    seen = []
    try:
        for line in TRANSCRIPT:
            commands.run(line)
            event = session.state.event
            seen.append((line, _place(event), _arrays(event)))
    finally:
        session.close()
    return seen


def _place(event: ev.Event | None) -> tuple:
    if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
        return event.kind, event.name, event.op, event.module_path, event.depth
    if isinstance(event, (ev.ModuleEnter, ev.ModuleExit)):
        return event.kind, event.path, event.depth
    return (getattr(event, "kind", None),)


def _arrays(event: ev.Event | None) -> list:
    if isinstance(event, ev.ForwardStep):
        return [event.output, *event.inputs]
    if isinstance(event, ev.BackwardStep):
        return [event.upstream, *event.grads]
    return []


def test_the_same_transcript_stops_at_the_same_places_with_the_same_gradients():
    train_torch, _ = models.torch_program(steps=3)
    train_stepgrad, _ = models.stepgrad_program(steps=3)
    with_torch = stops(torchbridge.wrap(train_torch))
    with_stepgrad = stops(train_stepgrad)
    assert [s[:2] for s in with_torch] == [s[:2] for s in with_stepgrad]
    moved = {place for _, place, _ in with_torch}
    assert len(moved) > 6  # the transcript went somewhere
    for (line, place, ours), (_, _, theirs) in zip(with_torch, with_stepgrad):
        assert len(ours) == len(theirs), (line, place)
        for a, b in zip(ours, theirs):
            assert (a is None) == (b is None), (line, place)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=f"{line} {place}")


@pytest.mark.parametrize("commands", [["continue"], ["break backward relu", "continue", "step",
                                                     "back", "continue", "continue"]])
def test_debugging_leaves_the_losses_exactly_as_they_were(commands):
    plain, _ = models.torch_program(steps=3)
    expected = plain()
    train, _ = models.torch_program(steps=3)
    session = Session(torchbridge.wrap(train), name="mlp")
    session.start()
    runner = Commands(session)
    for line in commands:
        runner.run(line)
    while session.status == "paused":
        runner.run("continue")
    session.close()
    assert session.status == "finished"
    assert session.result == expected  # bit for bit


def test_quit_while_paused_inside_torchs_backward_ends_cleanly():
    import threading

    import torch

    train, _ = models.torch_program(steps=3)
    session = Session(torchbridge.wrap(train), name="mlp")
    session.start()
    commands = Commands(session)
    commands.run("break backward relu")
    commands.run("continue")  # paused in an autograd node hook, inside loss.backward()
    session.close()
    assert session.status == "closed"
    assert not [t for t in threading.enumerate() if t.name == "stepgrad:mlp"]
    restored = torch.autograd.Function.__dict__["apply"].__func__  # the bridge's wrapping
    assert restored.__qualname__ == "Function.apply"  # went with the program
