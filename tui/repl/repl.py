"""The line REPL: read a command, let `Commands` run it, show the answer. Like pdb.

    (sg iter 3 backward relu_2 #412) step

Two ways in, one command language:

* **At a terminal** (or with a prompt_toolkit input, as in the tests): a prompt_toolkit
  prompt with the position, history across sessions, tab completion, a bottom toolbar and
  coloured answers. Ctrl-C at the prompt clears the line; Ctrl-C while a command runs (a
  long `continue`) asks the program to pause at its next event; Ctrl-D or `quit` ends.
* **Plain** (`stepgrad debug train.py --repl < commands.txt`, stdin or stdout not a tty):
  lines are read plainly, without any prompt_toolkit UI, until EOF or `quit`. From a pipe,
  each command is echoed after the prompt it was typed at, then its answer, so the output
  reads as a transcript of the session at a terminal (pdb echoes only the prompt, which
  then runs into the answer):

        (sg iter 0 forward linear_1 #3) step
        #4 forward relu_1 = relu((4, 8)) -> (4, 8)

A command that fails answers with one line starting with `***`, never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from stepgrad.tui.repl.completion import CommandCompleter
from stepgrad.tui.repl.history import open_history
from stepgrad.tui.repl.style import STYLE, colorize, wants_color
from stepgrad.tui.repl.toolbar import toolbar

BANNER = "stepgrad debugger: `help` lists the commands, Tab completes, Ctrl-D quits."


def run_repl(session: Any, commands: Any, *, input: Input | TextIO | None = None,
             output: Output | TextIO | None = None) -> int:
    """Run the REPL on `session` until `quit` or end of input; returns the exit status.

    With no `input`, the prompt_toolkit REPL runs when stdin and stdout are both
    terminals, and the plain one otherwise. `input` may be a prompt_toolkit Input (pipe
    input in tests), which selects the prompt_toolkit REPL, or a text stream, which selects
    the plain one; `output` goes with it. A session that has not started is started here;
    closing it is left to the caller, who made it.
    """
    if session.state.status == "not started":
        with _ctrl_c_pauses(session):
            session.start()
    if isinstance(input, Input) or (input is None and _isatty(sys.stdin) and _isatty(sys.stdout)):
        return _run_interactive(session, commands, input, output)  # type: ignore[arg-type]
    return _run_plain(session, commands, input if input is not None else sys.stdin,
                      output if output is not None else sys.stdout)  # type: ignore[arg-type]


def _run_interactive(session: Any, commands: Any, input: Input | None,
                     output: Output | None) -> int:
    color = not os.environ.get("NO_COLOR") and (output is not None or wants_color(sys.stdout))
    prompt: PromptSession[str] = PromptSession(
        message=lambda: FormattedText([("class:prompt", f"({commands.prompt()})"), ("", " ")]),
        history=open_history(), completer=CommandCompleter(commands),
        complete_while_typing=False, bottom_toolbar=lambda: toolbar(session),
        style=STYLE, include_default_pygments_style=False, input=input, output=output)

    def show(text: str) -> None:
        if text:
            print_formatted_text(colorize(text) if color else text, style=STYLE,
                                 include_default_pygments_style=False, output=output)

    commands.progress = lambda line: show(f"  ... {line}")  # a long gradcheck says how far
    show(BANNER)
    show(lesson_text(commands))
    show(where(commands))
    while not commands.finished:
        try:
            line = prompt.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line, as in a shell
        except EOFError:
            break
        show(run_command(session, commands, line))
    return 0


def _run_plain(session: Any, commands: Any, input: TextIO, output: TextIO) -> int:
    """Lines in, text out, no UI: for pipes, files and terminals that are not both ends.

    From a pipe, each command is echoed after its prompt, so the output is a transcript.
    From a person at a terminal (stdout redirected), the prompt is written before the
    line is read, as pdb does, and the terminal itself echoes what they type.
    """
    try:
        return _plain_loop(session, commands, input, output)
    except BrokenPipeError:  # the reader of our output went away (`| head`): stop quietly
        if output is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _plain_loop(session: Any, commands: Any, input: TextIO, output: TextIO) -> int:
    color = wants_color(output)
    typing = _isatty(input)

    def show(text: str, end: str = "\n") -> None:
        if color:
            print_formatted_text(colorize(text), style=STYLE, file=output, end=end,
                                 include_default_pygments_style=False)
        else:
            output.write(text + end)
        output.flush()

    if typing:  # a person waits at a terminal; a piped transcript stays as it was
        commands.progress = lambda line: show(f"  ... {line}")
    intro = lesson_text(commands) if typing else ""
    if intro:
        show(intro)
    show(where(commands))
    while not commands.finished:
        prompt = f"({commands.prompt()}) "
        if typing:
            show(prompt, end="")
        try:
            raw = input.readline()
        except KeyboardInterrupt:
            if not typing:
                return 130  # Ctrl-C while waiting on a pipe: stop, as a shell pipeline would
            show("")  # a person's Ctrl-C clears the line
            continue
        if not raw:
            if typing:
                show("")  # end the prompt's line, as a shell does at Ctrl-D
            break
        line = raw.rstrip("\r\n")
        if not typing:
            show(prompt + line)
        answer = run_command(session, commands, line)
        if answer:
            show(answer.rstrip("\n"))
    return 0


def lesson_text(commands: Any) -> str:
    """In a lesson, its text, shown to a person when the REPL starts (not to scripts)."""
    if getattr(commands, "tutor", None) is None:
        return ""
    return run_command(None, commands, "lesson")


def where(commands: Any) -> str:
    """Where the program stands, shown when the REPL starts (pdb shows the current line)."""
    try:
        return commands.position()
    except Exception as error:  # the REPL must come up even if the first stop is odd
        return f"*** {type(error).__name__}: {error}"


def run_command(session: Any, commands: Any, line: str) -> str:
    """Run one command line; any failure becomes a single `***` line."""
    with _ctrl_c_pauses(session):
        try:
            return commands.run(line)
        except Exception as error:  # a bad command must never end the session
            return f"*** {type(error).__name__}: {error}"


@contextmanager
def _ctrl_c_pauses(session: Any) -> Iterator[None]:
    """While a command runs, Ctrl-C asks the program to pause instead of killing the REPL.

    The program stops at its next event, which ends the running `continue` with the
    session paused there. Signals are only delivered to the main thread.
    """
    if session is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: session.interrupt())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
