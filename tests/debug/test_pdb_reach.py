"""pdb's reach into the user's program (issue 10 §3), through the command language."""

from __future__ import annotations

import numpy as np

import stepgrad as sg
from stepgrad import events as ev


def unmarked_training(steps: int = 3):
    """A loop that never calls sg.mark_iteration."""
    sg.manual_seed(0)
    model = sg.nn.Linear(3, 1)
    optimizer = sg.optim.SGD(model.parameters(), lr=0.1)
    x = sg.tensor(np.linspace(-1, 1, 12).reshape(4, 3).astype(np.float32), name="x")
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_optimizer_steps_mark_iterations_when_the_program_marks_none(make_session):
    session, commands = make_session(unmarked_training)
    commands.run("until iter 1")
    event = session.state.event
    assert isinstance(event, ev.Iteration) and event.iteration == 1
    assert session.state.iteration == 1
    commands.run("continue")
    real = session.result
    state = session.state
    assert [i for i, _ in state.losses] == [0, 1, 2]
    assert np.allclose([loss for _, loss in state.losses], real)  # the loss of each step


def test_a_program_that_marks_its_own_iterations_gets_no_extra_ones(make_session):
    session, commands = make_session()  # tiny_training marks after each step
    commands.run("continue")
    assert [i for i, _ in session.state.losses] == [0, 1, 2]
    marks = [e for _, e in session.history.numbered(0) if isinstance(e, ev.Iteration)]
    assert len(marks) == 3


def test_rcontinue_with_no_earlier_hit_says_so_and_stays(make_session):
    session, commands = make_session()
    commands.run("step 5")
    commands.run("break relu")
    out = commands.run("rcontinue")
    assert out.startswith("no earlier breakpoint hit in history; staying at #5")
    assert session.cursor == 5 and "breakpoint" not in out.splitlines()[1]


def forward_pass(scale):
    W1 = sg.randn(3, 2)  # noqa: N806 (the learner's name)
    h = sg.tensor(np.ones((4, 3)), name="inputs") @ W1
    return (h * scale).sum()


def training_with_frames():
    sg.tensor([0.0]).exp()  # the first event, where the session starts paused
    lr = 0.5
    total = forward_pass(scale=lr)
    return total.item()


def test_up_and_down_move_through_the_users_frames(make_session):
    session, commands = make_session(training_with_frames)
    commands.run("break mul")
    commands.run("continue")
    assert commands.run("p scale") == "0.5"
    assert commands.run("p lr").startswith("*** NameError")
    up = commands.run("up")
    assert up.startswith("> test_pdb_reach.py:") and up.endswith("in training_with_frames()")
    assert commands.run("p lr") == "0.5"
    assert commands.run("up 5").startswith("*** already at the oldest frame")
    assert commands.run("down").startswith("> test_pdb_reach.py:")
    assert commands.run("p scale") == "0.5"
    where = commands.run("where")
    assert "in training_with_frames()" in where and "-> test_pdb_reach.py" in where
    commands.run("continue")
    assert commands.run("up").startswith("*** no frames of your program here")


def test_unnamed_tensors_take_their_variable_names(make_session):
    session, commands = make_session(training_with_frames)
    commands.run("step")  # paused where W1 exists: the name W1 sticks to the tensor
    assert commands.run("p W1.name") == "'W1'"
    assert commands.run("break W1") == "Breakpoint 1: W1"  # a known variable: not pending
    commands.run("restart")  # a new W1 tensor, unnamed again: the breakpoint finds it
    out = commands.run("continue")
    assert "breakpoint 1 (W1)" in out and session.state.event.op == "matmul"
    assert commands.run("p W1.name") == "'W1'"


def crashing_late():
    W1 = sg.tensor(np.ones((2, 3)), name="W1")  # noqa: N806
    bad = sg.tensor(np.ones((4, 5))).relu().exp()  # events before the crash
    steps = 3  # noqa: F841 (read post-mortem by the test)
    return W1 @ bad  # inner sizes 3 and 4 differ


def test_post_mortem_keeps_the_frames_and_variables(make_session):
    session, commands = make_session(crashing_late)
    out = commands.run("continue")
    assert session.state.status == "crashed" and "Traceback" in out
    assert commands.run("p steps") == "3"
    assert commands.run("p W1.data.shape") == "(2, 3)"
    assert "crashing_late()" in commands.run("where")
    back = commands.run("back")
    assert "Traceback" not in back  # the traceback is shown where the program died, once
