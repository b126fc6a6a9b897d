"""The `stepgrad` command.

stepgrad lesson 3 [--bug ID | --no-bug | --mystery] [--repl] [--seed S]
stepgrad lessons [--reset]
stepgrad debug train.py [ARGS...] [--repl] [--history 1GB]
stepgrad replay run.sgtrace [--repl] [--history 1GB]
stepgrad serve lesson 3 [--host 127.0.0.1] [--port 8000] [--max-sessions 1] [--public --tokens N]

A wrong argument exits with status 2 and one line that says what was wrong, before anything
starts (a server, a lesson, a script).
"""

from __future__ import annotations

import argparse
import os
import sys

import stepgrad


class ArgumentParser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block above them): what was wrong and
    where to read more. Exit status 2, as argparse and pdb use for usage errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(text: str) -> int:
    """A whole number >= 0 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; use 0 or more")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 is not allowed; use 1 or more")
    return value


def _port(text: str) -> int:
    value = _count(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{text} is not a port; use 1 to 65535")
    return value


def _size(text: str) -> str:
    """A memory size such as 256MB (checked here, kept as text for the session)."""
    from stepgrad.debug.history import parse_size

    try:
        parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; give a bug's id (the lesson's text lists them)")
    return text


def build_parser() -> argparse.ArgumentParser:
    # Longer than 50 lines because it is the CLI's whole grammar, one declaration a line:
    # reading it top to bottom is `stepgrad --help` in source form.
    parser = ArgumentParser(
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
        "--bug", metavar="ID", type=_name,
        help="inject this bug (default: the first one you have not solved)",
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
    lesson.add_argument("--seed", type=_count, default=0, help="random seed (default 0)")
    lesson.add_argument("--no-quiz", action="store_true",
                        help="ask no prediction questions (predict is then off)")
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
    debug.add_argument("--engine", choices=("torch", "stepgrad"), default=None,
                       help="whose work to step through: PyTorch's (the default for a script "
                       "that imports torch) or stepgrad's")
    _history_option(debug)
    debug.add_argument("script", help="the Python script to run")
    debug.add_argument("args", nargs=argparse.REMAINDER,
                       help="arguments for the script (stepgrad's own --repl and --history "
                       "are recognised here too; put script arguments that clash after --)")

    replay = sub.add_parser("replay", help="step through a trace saved with sg.trace()")
    replay.add_argument("path", help="a trace file written by Trace.save")
    replay.add_argument("--repl", action="store_true", help="use the line REPL")
    _history_option(replay)

    serve = sub.add_parser(
        "serve",
        help="serve the full-screen debugger in a web browser",
        description="Serve `stepgrad lesson N` (or `debug SCRIPT`) to a "
        "browser through textual-serve (pip install 'stepgrad[serve]').",
    )
    _serve_options(serve)
    return parser


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("what", nargs="+", help="lesson N | debug SCRIPT")
    serve.add_argument(
        "--host",
        default=None,
        help="address to listen on (default: 127.0.0.1, this machine only; "
        "any other address lets the network in: see README, Serving)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    serve.add_argument("--max-sessions", type=_positive, default=1, metavar="N",
                       help="browser sessions open at once per URL (default 1)")
    serve.add_argument("--public", action="store_true",
                       help="a classroom server: listen on every address (0.0.0.0) unless "
                       "--host says otherwise; give each student their own URL (--tokens)")
    serve.add_argument("--tokens", type=_positive, default=1, metavar="N",
                       help="print N URLs, each with its own token (default 1)")


def _history_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        metavar="SIZE",
        type=_size,
        default="256MB",
        help="memory kept for stepping back (default 256MB)",
    )


def _history_limit(text: str) -> int:
    from stepgrad.debug.history import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise SystemExit(f"stepgrad: --history: {error}") from None


def _own_options_after_script(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
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
        elif word == "--history" or word.startswith("--history="):
            size = word.split("=", 1)[1] if "=" in word else (rest.pop(0) if rest else "")
            if not size:
                parser.error("argument --history: expected a size such as 256MB")
            try:
                args.history = _size(size)
            except argparse.ArgumentTypeError as error:
                parser.error(f"argument --history: {error}")
        elif word == "--engine" or word.startswith("--engine="):
            engine = word.split("=", 1)[1] if "=" in word else (rest.pop(0) if rest else "")
            if engine not in ("torch", "stepgrad"):
                parser.error(f"argument --engine: {engine!r} is not torch or stepgrad")
            args.engine = engine
        else:
            script_args.append(word)
    args.args = script_args


def _check_debug(args: argparse.Namespace, prog: str) -> None:
    """`stepgrad debug`'s options after the script, and a script that is a readable file
    (not a folder, not /dev/null): exit 2 with one line before anything runs."""
    debug_parser = ArgumentParser(prog=f"{prog} debug")
    _own_options_after_script(args, debug_parser)
    if not os.path.isfile(args.script):
        what = "a folder" if os.path.isdir(args.script) else "not a file"
        if not os.path.exists(args.script):
            what = "no such script"
        debug_parser.error(f"{args.script!r}: {what}; give a Python script")


def main(argv: list[str] | None = None) -> int:
    """`stepgrad ARGS`: returns the exit status (2, with one line, for a wrong argument)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "debug":
        _check_debug(args, parser.prog)
    if args.command == "serve" and args.host is None:
        args.host = "0.0.0.0" if args.public else "127.0.0.1"
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
    from stepgrad.torchbridge import TorchMissing, use_for_script

    try:
        use_for_script(session, args.script, args.engine)
    except TorchMissing as error:
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
    from stepgrad.trace import MAX_LOAD_BYTES, TraceError, load_trace

    history_limit = _history_limit(args.history)
    try:  # a trace as big as the history asked for may be unpacked
        trace = load_trace(args.path, max_bytes=max(MAX_LOAD_BYTES, history_limit))
    except TraceError as error:
        print(f"stepgrad replay: {error}", file=sys.stderr)
        return 2
    session = Session.for_trace(trace, history_limit=history_limit)
    dropped = session.history.dropped
    if dropped:
        note = (f"the trace has {len(trace)} events; the first {dropped} were dropped to stay "
                f"under --history {args.history}, so replay starts at #{session.history.first}")
        session.messages.append(note)  # both front ends show the session's messages
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
