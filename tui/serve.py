"""`stepgrad serve lesson N`: the full-screen debugger in a web browser (textual-serve).

Each browser tab gets its own `stepgrad lesson N` process, drawn by Textual's web driver.
The server listens on 127.0.0.1 unless `--host` says otherwise: a classroom that wants the
app on its network passes `--host 0.0.0.0` deliberately.
"""

from __future__ import annotations

import argparse
import shlex
import sys


def command_for(what: list[str]) -> str:
    """The stepgrad command each browser session runs, from `lesson N` or `debug SCRIPT`."""
    if len(what) >= 2 and what[0] == "lesson" and what[1].isdigit():
        return " ".join(
            [shlex.quote(sys.executable), "-m", "stepgrad", "lesson", *map(shlex.quote, what[1:])]
        )
    if len(what) >= 2 and what[0] == "debug":
        return " ".join(
            [shlex.quote(sys.executable), "-m", "stepgrad", "debug", *map(shlex.quote, what[1:])]
        )
    raise ValueError(f"serve what? Expected 'lesson N' or 'debug SCRIPT', got {' '.join(what)!r}")


def serve(args: argparse.Namespace) -> int:
    try:
        command = command_for(list(args.what))
    except ValueError as error:
        print(f"stepgrad serve: {error}", file=sys.stderr)
        return 2
    try:
        from textual_serve.server import Server
    except ImportError:
        print(
            "stepgrad serve: textual-serve is not installed; install it with "
            "pip install 'stepgrad[serve]'",
            file=sys.stderr,
        )
        return 2
    print(f"Serving `{' '.join(args.what)}` at http://{args.host}:{args.port} (Ctrl+C stops)")
    Server(command, host=args.host, port=args.port, title="stepgrad").serve()
    return 0
