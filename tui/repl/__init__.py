"""The line-oriented REPL (prompt_toolkit), in the spirit of pdb.

    from stepgrad.debug import Session, Commands
    from stepgrad.tui.repl import run_repl

    session = Session.for_script("train.py", [])
    session.start()
    raise SystemExit(run_repl(session, Commands(session)))
"""

from stepgrad.tui.repl.repl import run_repl

__all__ = ["run_repl"]
