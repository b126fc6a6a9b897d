"""The command language's rooms: aliases declared once complete and run as their command,
lesson commands exist only in lessons, `step into` has one owner, matchers per kind."""

from __future__ import annotations

import pytest

from stepgrad import events as ev
from stepgrad.debug import commands as commands_package
from stepgrad.debug.breakpoints import parse
from stepgrad.debug.commands import LESSON_COMMANDS, CommandError, Commands


def test_the_package_exports_what_front_ends_import():
    assert commands_package.Commands is Commands
    assert issubclass(CommandError, Exception)
    assert {"lesson", "hint", "diagnose", "reveal", "fixed", "predict"} <= set(LESSON_COMMANDS)


def test_an_alias_completes_like_its_command(make_session):
    session, commands = make_session()
    assert commands.complete("s i") == commands.complete("step i") == ["into"]
    assert commands.complete("gc a") == ["all"]
    assert commands.complete("unt e") == ["epoch"]
    for info in commands.infos():
        for alias in info.aliases:
            for typed in ("", "i", "a", "o"):
                assert commands.complete(f"{alias} {typed}") == commands.complete(
                    f"{info.name} {typed}"
                ), (alias, info.name, typed)


def test_every_alias_runs_its_command(make_session):
    session, commands = make_session()
    assert commands.run("h s") == commands.run("help step")
    commands.run("s 2")
    assert session.cursor == 2
    commands.run("r")
    assert session.cursor == 1


def test_lesson_commands_are_hidden_without_a_lesson(make_session):
    session, commands = make_session()
    names = commands.names()
    assert not set(LESSON_COMMANDS) & set(names)
    assert "hint" not in commands.run("help")
    assert commands.complete("diagnose ") == []
    assert commands.run("hint") == (
        "*** not in a lesson: run `stepgrad lesson N` to start one"
    )


def test_lesson_commands_are_offered_with_a_tutor(make_session):
    class Tutor:
        def choices(self):
            return ["relu", "backward", "forward", "matmul"]

        def hint(self):
            return "look at relu"

    session, _ = make_session()
    commands = Commands(session, tutor=Tutor())
    assert set(LESSON_COMMANDS) <= set(commands.names())
    assert commands.complete("diagnose m") == ["matmul"]
    assert "diagnose" in commands.complete("di")
    assert commands.run("hint") == "look at relu"


def test_step_into_state_has_one_owner(make_session):
    session, commands = make_session()
    commands.run("break relu")
    commands.run("continue")
    out = commands.run("step into")
    assert out.startswith("Stepping into relu.forward")
    assert session.state.line is session.stepper.line is not None
    assert commands.prompt().startswith("sg relu.forward line")
    commands.run("continue")  # leaving the op clears the one state everyone reads
    assert session.state.line is None and not session.stepper.active


def test_counts_are_ascii_digits(make_session):
    session, commands = make_session()
    for bad in ("²", "٣", "-2", "0", "1.5", "x"):
        out = commands.run(f"step {bad}")
        assert out.startswith("*** expected a positive count"), (bad, out)
    assert session.cursor == 0
    assert commands.run("goto #²").startswith("*** goto needs an event number")
    assert commands.run("until iter ²").startswith("*** until iter N")


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("relu", "op"),
        ("fc1", "name"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("dead relu > 0.3", "dead"),
        ("saturated tanh", "saturated"),
        ("grad.norm > 1", "expr"),
        ("backward", "phase"),
    ],
)
def test_each_kind_of_breakpoint_has_its_matcher(spec, kind):
    assert parse(1, spec).kind == kind


def test_a_matcher_looks_only_at_its_events():
    bp = parse(1, "nan")
    zero = ev.ZeroGrad(seq=0, owner="SGD", params=1) if hasattr(ev, "ZeroGrad") else None
    assert zero is not None and not bp.matches(zero, None, dict)
