"""The debugger core: sessions, history, breakpoints and the one command language.

    from stepgrad.debug import Session, Commands
    session = Session.for_function(train)
    session.start()                      # runs until the first event, then pauses
    commands = Commands(session)
    print(commands.run("break nan"))
    print(commands.run("continue"))

No user interface is imported here: front ends (stepgrad.tui) sit on top.
"""

from stepgrad.debug.breakpoints import Breakpoint, BreakpointInfo
from stepgrad.debug.commands import CommandInfo, Commands
from stepgrad.debug.history import History
from stepgrad.debug.session import LineState, NodeView, Session, State

__all__ = [
    "Breakpoint",
    "BreakpointInfo",
    "CommandInfo",
    "Commands",
    "History",
    "LineState",
    "NodeView",
    "Session",
    "State",
]
