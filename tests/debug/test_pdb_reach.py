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
