"""A learner's own weights are named after their variables from the first event on: the
events the tape, the inspector and `graph` show say W1, forward and backward (issue 10 §3)."""

from __future__ import annotations

import stepgrad as sg
from stepgrad.debug import Commands, Session


def hand_made_weights():
    W1 = sg.randn(3, 4, requires_grad=True)
    b1 = sg.zeros(4, requires_grad=True)
    x = sg.ones(2, 3)
    loss = ((x @ W1) + b1).relu().sum()
    loss.backward()


def test_hand_made_weights_carry_their_variable_names_in_every_event():
    session = Session(hand_made_weights, name="hand_made_weights")
    session.start()
    try:
        commands = Commands(session)
        first = session.history[0]
        assert "W1" in first.input_names              # recorded before any pause
        commands.run("break backward add")
        report = commands.run("continue")
        assert "b1" in report
        assert session.state.event.input_names == ("matmul_1", "b1")
        matmul_back = session.history.backward_of(first.node_id)
        assert matmul_back is None or "W1" in matmul_back.input_names
        assert "W1" in commands.run("graph 3")
        assert "Size([3, 4])" in commands.run("p W1.shape")
    finally:
        session.close()
