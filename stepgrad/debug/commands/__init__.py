"""The command language of the debugger: one `Commands` class for every front end.

Each command is a `do_<name>(arg)` method whose docstring is its help, as in pdb; its
aliases are declared once beside it (`@aliases("s")`) and its completion sits beside it
as `complete_<name>(text, line)`, as in cmd.Cmd. `run(line)` executes one line and returns
the text to show; it never raises and never prints. The commands live in rooms, composed
here:

    moving.py       step next finish until back rcontinue goto restart interrupt
    breakpoints.py  break tbreak clear disable enable condition ignore
    inspection.py   print pp info where list graph backprop gradcheck display undisplay
                    history set
    lesson.py       lesson hint diagnose reveal fixed predict (only while a lesson runs)
    dispatch.py     run, help, quit, completion, the prompt and what every move shows
"""

from __future__ import annotations

from stepgrad.debug.commands.breakpoints import BreakpointCommands
from stepgrad.debug.commands.dispatch import CommandError, CommandInfo, aliases
from stepgrad.debug.commands.inspection import InspectionCommands
from stepgrad.debug.commands.lesson import LESSON_COMMANDS, LessonCommands
from stepgrad.debug.commands.moving import MovingCommands


class Commands(MovingCommands, BreakpointCommands, InspectionCommands, LessonCommands):
    """The debugger's commands over a Session (and a lesson's Tutor, when there is one)."""


__all__ = ["LESSON_COMMANDS", "CommandError", "CommandInfo", "Commands", "aliases"]
