"""The debugger never dies of its input (issue 9): conditions that cannot be decided,
expressions that raise BaseException, programs that raise it, programs that emit no events."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import stepgrad as sg


@pytest.mark.parametrize(
    "commands_before",
    [["break if ins"], ["break relu if [out, 1]"], ["break relu", "condition 1 ins"]],
)
def test_an_undecidable_condition_is_said_once_and_the_program_goes_on(
    make_session, commands_before
):
    session, commands = make_session()
    for line in commands_before:
        assert not commands.run(line).startswith("***")
    out = commands.run("continue")
    assert session.state.status == "finished", session.state.reason
    assert out.count("breakpoint 1") == 1 and "is disabled" in out
    assert "is not true or false" in out
    assert "Breakpoint 1" not in commands.run("continue")  # said once, not again
    assert "(disabled: its value " in commands.run("break")  # the listing says why


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("p exit(5)", "*** SystemExit: 5"),
        ("p quit()", "*** SystemExit: None"),
        ("print (_ for _ in ()).throw(KeyboardInterrupt)", "*** KeyboardInterrupt: "),
        ("p (_ for _ in ()).throw(GeneratorExit)", "*** GeneratorExit: "),
        ("pp exit(7)", "*** SystemExit: 7"),
    ],
)
def test_expressions_that_raise_base_exceptions_print_as_pdb_does(make_session, line, shown):
    session, commands = make_session()
    assert commands.run(line) == shown
    assert session.state.status == "paused" and not commands.finished
    assert commands.run("step").startswith("#1")


def test_a_display_that_exits_shows_the_error_at_each_stop(make_session):
    session, commands = make_session()
    assert commands.run("display exit(2)") == "1: exit(2) = <SystemExit: 2>"
    assert "exit(2) = <SystemExit: 2>" in commands.run("step")
    assert session.state.status == "paused"


def test_a_breakpoint_condition_that_exits_is_disabled_not_fatal(make_session):
    session, commands = make_session()
    commands.run("break if exit(9)")
    out = commands.run("continue")
    assert "SystemExit: 9" in out and "is disabled" in out
    assert session.state.status == "finished"


@pytest.mark.parametrize("error", [KeyboardInterrupt, GeneratorExit, SystemError])
def test_a_program_raising_any_exception_ends_as_crashed(make_session, error):
    def program():
        x = sg.tensor([1.0, 2.0], name="x")
        (x * 2).sum()
        raise error("from the program")

    session, commands = make_session(program)
    began = time.monotonic()
    out = commands.run("continue")
    assert time.monotonic() - began < 5
    assert session.state.status == "crashed"
    assert f"{error.__name__}: from the program" in out and "Traceback" in out


def _busy():
    x = sg.tensor(np.ones(3), name="x")
    y = x * 2
    spins = 0
    while True:  # no event from here on
        spins += 1
    return y


def test_interrupt_pauses_a_program_that_emits_no_events_and_quit_ends_it(make_session):
    session, commands = make_session(_busy)
    threading.Timer(0.3, session.interrupt).start()
    began = time.monotonic()
    out = commands.run("continue")
    assert time.monotonic() - began < 5
    assert session.state.status == "paused"
    assert "(interrupted between events, at test_never_dies.py:" in out
    assert "spins += 1)" in out or "while True:" in out  # the line it paused at
    assert commands.run("p spins > 0") == "True"  # the program's variables where it paused
    assert commands.run("p y.data") == "[2. 2. 2.]"
    thread = session._thread
    assert commands.run("quit") == "Bye."
    assert session.state.status == "closed" and not thread.is_alive()


def test_quit_while_a_program_spins_ends_it(make_session):
    session, commands = make_session(_busy)
    runner = threading.Thread(target=commands.run, args=("continue",), daemon=True)
    runner.start()
    time.sleep(0.3)
    thread = session._thread
    began = time.monotonic()
    session.close()
    assert time.monotonic() - began < 5 and not thread.is_alive()
    runner.join(5)
    assert not runner.is_alive()


def test_continue_after_an_interrupt_between_events_runs_on(make_session):
    def program():
        x = sg.tensor([1.0], name="x") * 1.0  # the first event: the session pauses here
        until = time.monotonic() + 1.5
        while time.monotonic() < until:
            pass
        return (x * 3).sum()

    session, commands = make_session(program)
    threading.Timer(0.2, session.interrupt).start()
    assert "interrupted" in commands.run("continue")
    commands.run("continue")
    assert session.state.status == "finished"
    assert session.result.item() == 3.0


def test_exit_in_an_expression_leaves_the_debuggers_stdin_open(make_session, monkeypatch):
    import io
    import sys

    stdin = io.StringIO("step\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    session, commands = make_session()
    for line in ("p exit(5)", "p quit()", "display exit(1)"):
        assert "SystemExit" in commands.run(line)
    assert not stdin.closed  # the builtins close it before raising: the REPL would die


def test_tensors_made_by_an_expression_are_not_the_programs_events(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "prog.py"
    script.write_text(
        "import stepgrad as sg\n"
        "x = sg.tensor([1.0, -2.0, 3.0], requires_grad=True, name='x')\n"
        "sg.set_trace()\n"
        "y = x.relu()\n"
        "z = (y * 2).sum()\n"
        "print('done', z.item())\n"
    )
    done = subprocess.run([sys.executable, str(script)], input="p (x * 3).sum()\nhistory\n"
                          "step\ncontinue\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "tensor(6." in done.stdout and "done 8.0" in done.stdout
    assert "<expression>" not in done.stdout  # never recorded, never stopped at
    assert "(events #0..#0," in done.stdout


def test_a_pasted_wall_of_text_is_refused_in_one_line(make_session):
    session, commands = make_session()
    out = commands.run("p " + "1 + " * 50_000 + "1")
    assert out.startswith("*** the line is 200,003 characters long") and "\n" not in out
    assert session.state.status == "paused"


def test_an_expression_python_warns_about_is_one_error_line(make_session, recwarn):
    session, commands = make_session()
    assert commands.run("p 1 (2)") == "*** TypeError: 'int' object is not callable"
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning)]


def _busy_in_the_standard_library():
    import textwrap

    x = sg.tensor([1.0], name="x") * 1.0  # noqa: F841 (the first event)
    while True:
        textwrap.dedent("    a\n    b\n")  # most of the time is spent in textwrap.py


def test_an_interrupt_pauses_at_the_users_line_not_inside_a_library(make_session):
    # Installed libraries run Python code in the program's thread (a gc callback of
    # hypothesis's: an exception raised there by `quit` was swallowed as unraisable).
    session, commands = make_session(_busy_in_the_standard_library)
    threading.Timer(0.3, session.interrupt).start()  # the session starts at the first event
    out = commands.run("continue")
    assert "at test_never_dies.py:" in out and "textwrap.py" not in out
    assert commands.run("quit") == "Bye."
