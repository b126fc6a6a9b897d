"""Breakpoints that mean what they say (issue 10 §2), through the command language."""

from __future__ import annotations

import inspect

import numpy as np

import stepgrad as sg
from stepgrad import events as ev


def chain():
    sg.tensor([0.0]).exp()  # the first event, where the session starts paused
    x = sg.tensor([0.5, -1.0], requires_grad=True, name="x")
    a = x + 1.0  # add_1
    b = a.tanh()  # tanh_1 uses add_1
    c = b + a  # add_2 uses add_1 again
    c.sum().backward()
    return x.grad


def looped(steps: int = 2):
    sg.tensor([0.0]).exp()  # the first event, where the session starts paused
    x = sg.tensor([1.0, -2.0], requires_grad=True, name="x")
    total = None
    for _ in range(steps):
        y = (x * 2.0 + 1.0).relu()  # LINE: three nodes from one line
        total = y.sum()
    return total


def _line_of(fn, marker: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, text in enumerate(lines) if marker in text)


def _stops(commands, session, limit: int = 20) -> list[tuple[str, str]]:
    """(phase, name) of every stop of `continue` until the program ends."""
    seen = []
    for _ in range(limit):
        commands.run("continue")
        if session.state.status != "paused":
            break
        event = session.state.event
        seen.append((event.phase, getattr(event, "name", event.kind)))
    return seen


def test_break_on_a_node_stops_at_its_own_steps_only(make_session):
    session, commands = make_session(chain)
    assert commands.run("break add_1") == "Breakpoint 1: add_1"
    assert _stops(commands, session) == [("forward", "add_1"), ("backward", "add_1")]


def test_break_backward_on_a_node_stops_at_its_backward_only(make_session):
    session, commands = make_session(chain)
    commands.run("break backward add_1")
    assert _stops(commands, session) == [("backward", "add_1")]


def test_a_near_miss_is_refused_with_did_you_mean(make_session):
    session, commands = make_session()
    out = commands.run("break fc9")
    assert out.startswith("*** nothing is named 'fc9'; did you mean ")
    assert "'fc1'" in out and "'fc2'" in out
    assert commands.run("break").startswith("No breakpoints")


def test_an_unknown_name_is_kept_pending_and_said_so(make_session):
    session, commands = make_session()
    out = commands.run("break W1")
    assert out.startswith("Breakpoint 1: W1\n  (pending: nothing named W1 has been seen yet")
    assert "pending" in commands.run("break")
    commands.run("continue")
    assert session.state.status == "finished"  # never fired, and said so up front


def test_break_on_optimizer_and_loop_events(make_session):
    session, commands = make_session()
    commands.run("break step")
    commands.run("continue")
    event = session.state.event
    assert isinstance(event, ev.OptimizerStep) and event.optimizer == "SGD"
    for spec, kind in [("SGD", ev.OptimizerStep), ("zero_grad", ev.ZeroGrad),
                       ("iteration", ev.Iteration), ("epoch", ev.Epoch)]:
        commands.run("clear")
        assert commands.run(f"break {spec}").startswith("Breakpoint")
        out = commands.run("continue")
        assert isinstance(session.state.event, kind), (spec, out)
        assert f"({spec})" in out


def test_break_on_an_optimizer_the_program_does_not_use_never_stops(make_session):
    session, commands = make_session()
    assert commands.run("break Adam") == "Breakpoint 1: Adam"
    commands.run("continue")
    assert session.state.status == "finished"


def test_break_file_line_stops_at_the_first_node_of_that_line(make_session):
    session, commands = make_session(looped)
    line = _line_of(looped, "# LINE")
    assert commands.run(f"break test_breakpoints_mean_it.py:{line}").startswith("Breakpoint 1")
    assert _stops(commands, session) == [("forward", "mul_1"), ("forward", "mul_2")]


def test_break_line_means_the_current_file(make_session):
    session, commands = make_session(looped)
    line = _line_of(looped, "# LINE")
    commands.run(f"break {line}")
    assert [name for _, name in _stops(commands, session)] == ["mul_1", "mul_2"]
    assert commands.run("break 0").startswith("*** break 0: line numbers start at 1")


def test_completion_offers_the_new_targets(make_session):
    session, commands = make_session()
    assert "zero_grad" in commands.complete("break ze")
    assert "Adam" in commands.complete("b Ad")
    assert np.all([c.startswith("ep") for c in commands.complete("break ep")])


def through_a_model():
    sg.manual_seed(0)
    sg.tensor([0.0]).exp()  # the first event, where the session starts paused
    model = sg.nn.Sequential(sg.nn.Linear(2, 3), sg.nn.Tanh(), sg.nn.Linear(3, 1))
    x = sg.tensor(np.ones((4, 2), dtype=np.float32), name="x")
    for _ in range(2):
        out = model(x)  # MODEL: nodes in three modules, one line
        out.sum()


def test_break_line_through_a_model_stops_once_per_run_of_the_line(make_session):
    session, commands = make_session(through_a_model)
    commands.run(f"break {_line_of(through_a_model, '# MODEL')}")
    assert [name for _, name in _stops(commands, session)] == ["linear_1", "linear_3"]


def test_break_on_a_line_that_makes_nothing_is_refused(make_session):
    session, commands = make_session(looped)
    blank = _line_of(looped, "# LINE") + 3  # past `return total`: the blank line after
    out = commands.run(f"break {blank}")
    assert out == (
        f"*** line {blank} of test_breakpoints_mean_it.py is blank or past the end of the "
        f"file: no node is made there"
    )
    assert commands.run("break 99999").startswith("*** line 99999 of")
    comment = _line_of(test_break_on_a_line_that_makes_nothing_is_refused, "# A " + "COMMENT")
    # A COMMENT
    assert commands.run(f"break {comment}").endswith("is a comment: no node is made there")
