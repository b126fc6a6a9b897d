"""`gradcheck` in the debugger: one named backward pass, and Ctrl-C stops a check."""

from __future__ import annotations


def test_ctrl_c_during_gradcheck_all_stops_it_and_is_used_up(make_session) -> None:
    session, commands = make_session()
    commands.run("until iter 0")
    session.interrupt()  # what the REPL's Ctrl-C does while a command runs
    assert "gradcheck interrupted (0 of" in commands.run("gradcheck all")
    again = commands.run("gradcheck all")  # the interrupt was used up: a full check
    assert "interrupted" not in again and again.count("\n  ok ") >= 2, again


def test_gradcheck_all_names_the_pass_and_gives_the_same_rows_wherever_paused(make_session):
    session, commands = make_session()
    commands.run("until iter 0")
    after = commands.run("gradcheck all")
    assert "the last complete pass before the cursor" in after
    commands.run("step 2")  # into the next iteration's forward pass
    later = commands.run("gradcheck all")
    assert after.splitlines()[1:] == later.splitlines()[1:]
    assert after.splitlines()[0] == later.splitlines()[0]
