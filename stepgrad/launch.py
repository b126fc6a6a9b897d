"""Open a debugger front end on a session: the full-screen app or the line REPL.

The core (stepgrad.debug) imports no user interface; this module picks one, importing it
only when it is needed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from stepgrad.debug import Commands, Session


def full_screen_possible() -> bool:
    """The full-screen app needs a real terminal on both ends, or textual-serve's web
    driver (`stepgrad serve`), which talks to a browser over pipes."""
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
        return True
    return (
        sys.stdin.isatty()
        and sys.stdout.isatty()
        and os.environ.get("TERM", "") not in ("", "dumb")
    )


def open_frontend(
    session: Session, commands: Commands, *, repl: bool = False, lesson: Any = None
) -> int:
    """Run the chosen front end until the user quits; returns an exit status."""
    if repl or not full_screen_possible():
        from stepgrad.tui.repl import run_repl

        return run_repl(session, commands)
    from stepgrad.tui.app import run_app

    return run_app(session, commands, lesson=lesson)


def debug(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `fn(*args, **kwargs)` under the debugger; returns what fn returned."""
    repl = bool(kwargs.pop("_repl", False))
    session = Session.for_function(fn, *args, **kwargs)
    if "torch" in sys.modules:  # a torch program steps through torch's ops (stepgrad.torchbridge)
        from stepgrad.torchbridge import use_for_function

        use_for_function(session, fn, *args)
    commands = Commands(session)
    session.start()
    try:
        open_frontend(session, commands, repl=repl)
    finally:
        session.close()
    return session.result


def set_trace() -> None:
    """Pause at the next event, in the line REPL, in this very thread (like `breakpoint()`)."""
    session = Session(None, name="set_trace")
    commands = Commands(session)
    if "torch" in sys.modules:  # a torch program steps through torch's ops (stepgrad.torchbridge)
        from stepgrad.torchbridge import start_if_torch

        start_if_torch(sys._getframe(2).f_globals)  # 0 here, 1 sg.set_trace, 2 the caller

    def command_loop() -> None:
        """pdb's loop: read commands here until one resumes the program."""
        print(commands.position())
        while session.status == "paused":
            try:
                line = input(f"({commands.prompt()}) ")
            except (EOFError, KeyboardInterrupt):
                print()
                session.detach()
                return
            text = commands.run(line)
            if session.status == "paused" and text:
                print(text)

    session.attach(command_loop)
