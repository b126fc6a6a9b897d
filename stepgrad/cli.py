"""The `stepgrad` command.

stepgrad lesson 3 [--bug ID | --no-bug | --mystery] [--repl] [--seed S]
stepgrad lessons [--reset]
stepgrad debug train.py [ARGS...] [--repl] [--history 1GB]
stepgrad replay run.sgtrace [--repl]
stepgrad serve lesson 3 [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import sys

import stepgrad


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stepgrad",
        description="A debugger for backpropagation: watch a small network "
        "train one autodiff node at a time, and hunt the bugs the lessons hide in it.",
        epilog="Start with: stepgrad lesson 1",
    )
    parser.add_argument("--version", action="version", version=f"stepgrad {stepgrad.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lesson = sub.add_parser(
        "lesson",
        help="open lesson N (a bug hunt) in the debugger",
        description="Open a numbered lesson in the debugger.",
    )
    lesson.add_argument("number", help="the lesson's number (see `stepgrad lessons`)")
    which = lesson.add_mutually_exclusive_group()
    which.add_argument(
        "--bug", metavar="ID", help="inject this bug (default: the first one you have not solved)"
    )
    which.add_argument("--no-bug", action="store_true", help="run the healthy lesson")
    which.add_argument(
        "--mystery",
        action="store_true",
        help="inject one of the lesson's bugs at random without saying which",
    )
    lesson.add_argument(
        "--repl", action="store_true", help="use the line REPL instead of the full-screen debugger"
    )
    lesson.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _history_option(lesson)

    lessons = sub.add_parser("lessons", help="list the lessons and your progress")
    lessons.add_argument("--reset", action="store_true", help="forget all progress")

    debug = sub.add_parser(
        "debug",
        help="run a Python script under the debugger",
        description="Run SCRIPT under the debugger, stopping at its first "
        "event (like python -m pdb).",
    )
    debug.add_argument("--repl", action="store_true", help="use the line REPL")
    _history_option(debug)
    debug.add_argument("script", help="the Python script to run")
    debug.add_argument("args", nargs=argparse.REMAINDER,
                       help="arguments for the script (stepgrad's own --repl and --history "
                       "are recognised here too; put script arguments that clash after --)")

    replay = sub.add_parser("replay", help="step through a trace saved with sg.trace()")
    replay.add_argument("path", help="a trace file written by Trace.save")
    replay.add_argument("--repl", action="store_true", help="use the line REPL")

    serve = sub.add_parser(
        "serve",
        help="serve the full-screen debugger in a web browser",
        description="Serve `stepgrad lesson N` (or `debug SCRIPT`) to a "
        "browser through textual-serve (pip install 'stepgrad[serve]').",
    )
    serve.add_argument("what", nargs="+", help="lesson N | debug SCRIPT")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    return parser


def _history_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        metavar="SIZE",
        default="256MB",
        help="memory kept for stepping back (default 256MB)",
    )


def _history_limit(text: str) -> int:
    from stepgrad.debug.history import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise SystemExit(f"stepgrad: --history: {error}") from None


def _own_options_after_script(args: argparse.Namespace) -> None:
    """`stepgrad debug train.py --repl` means the debugger's --repl, as the issue's examples
    write it: stepgrad's own options are taken from after the script too, up to a `--`;
    everything else (and everything after `--`) goes to the script."""
    rest, script_args = list(args.args), []
    while rest:
        word = rest.pop(0)
        if word == "--":
            script_args += rest
            break
        if word == "--repl":
            args.repl = True
        elif word == "--history" and rest:
            args.history = rest.pop(0)
        elif word.startswith("--history="):
            args.history = word.split("=", 1)[1]
        else:
            script_args.append(word)
    args.args = script_args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "debug":
        _own_options_after_script(args)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return 130


def _debug(args: argparse.Namespace) -> int:
    from stepgrad.debug import Commands, Session
    from stepgrad.launch import open_frontend

    try:
        session = Session.for_script(
            args.script, args.args, history_limit=_history_limit(args.history)
        )
    except FileNotFoundError as error:
        print(f"stepgrad debug: {error}", file=sys.stderr)
        return 2
    commands = Commands(session)
    session.start()
    try:
        return open_frontend(session, commands, repl=args.repl)
    finally:
        session.close()


def _replay(args: argparse.Namespace) -> int:
    from stepgrad.debug import Commands, Session
    from stepgrad.launch import open_frontend
    from stepgrad.trace import TraceError, load_trace

    try:
        trace = load_trace(args.path)
    except TraceError as error:
        print(f"stepgrad replay: {error}", file=sys.stderr)
        return 2
    session = Session.for_trace(trace)
    return open_frontend(session, Commands(session), repl=args.repl)


def _lesson(args: argparse.Namespace) -> int:
    from stepgrad.lessons.cli import run_lesson

    return run_lesson(args)


def _lessons(args: argparse.Namespace) -> int:
    from stepgrad.lessons.cli import list_lessons
    from stepgrad.lessons.progress import ProgressError

    try:
        return list_lessons(args)
    except ProgressError as error:  # `--reset` that could not write: say so, change nothing
        print(f"stepgrad lessons: {error}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    from stepgrad.tui.serve import serve

    return serve(args)


_COMMANDS = {
    "lesson": _lesson,
    "lessons": _lessons,
    "debug": _debug,
    "replay": _replay,
    "serve": _serve,
}
