"""Dispatch: running one command line, help, completion, and what every room shares.

Commands are `do_<name>(arg)` methods whose docstring is their help (first line: the
usage, then the summary), as in pdb. Aliases are declared once, beside the command, with
`@aliases("s")`; running, help and completion all read them from there, so an alias can
never drift from its command. Completion lives beside each command as
`complete_<name>(text, line)` (cmd.Cmd's convention): it returns candidates for the last
word `text`, and the dispatcher keeps those that start with it.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from stepgrad.debug import format as fmt
from stepgrad.debug.expr import ExpressionError
from stepgrad.debug.session import Session

#: The longest command line read (a paste of a whole file is refused, not evaluated).
MAX_LINE = 10_000
#: Moves that an empty line repeats (pdb repeats the last command).
REPEATABLE = {"step", "next", "back", "continue", "finish", "rcontinue"}

F = TypeVar("F", bound=Callable[..., Any])


def aliases(*words: str) -> Callable[[F], F]:
    """Declare a command's aliases: `@aliases("s")` above `do_step`."""

    def mark(function: F) -> F:
        function.aliases = words  # type: ignore[attr-defined]
        return function

    return mark


@dataclass(frozen=True)
class CommandInfo:
    """A command as help screens, palettes and completion show it.

    usage    the first docstring line: `step [N] | step into`
    summary  the first line of the description: what the command does
    help     the whole docstring
    """

    name: str
    aliases: tuple[str, ...]
    summary: str
    help: str
    usage: str = ""


class CommandError(Exception):
    """A command that cannot be done as asked; the message is the one line shown."""


def parse_count(arg: str, default: int = 1) -> int:
    """A move's count: a positive whole number written in ASCII digits (`step 3`)."""
    if not arg:
        return default
    if not (arg.isascii() and arg.isdigit()) or int(arg) < 1:
        raise CommandError(f"expected a positive count such as 3, got {arg!r}")
    return int(arg)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


class Dispatcher:
    """Runs command lines over a Session (and a lesson's Tutor, when there is one)."""

    #: Commands that exist only while a lesson runs (the lesson room sets them).
    lesson_commands: frozenset[str] = frozenset()

    def __init__(self, session: Session, tutor: Any = None) -> None:
        self.session = session
        self.tutor = tutor
        self.finished = False
        self._last_move = ""
        #: Where a long command (a gradient check) reports how far it got: front ends set
        #: a callable taking one line; it is called from the thread running the command.
        self.progress: Callable[[str], Any] | None = None

    #: A long command is silent this long (a quick one shows nothing), then reports at
    #: most once per PROGRESS_EVERY seconds.
    PROGRESS_AFTER, PROGRESS_EVERY = 0.5, 1.0

    def progress_reporter(self) -> Callable[[str], None] | None:
        """A callable for one long command, or None when no front end listens."""
        sink, after, every = self.progress, self.PROGRESS_AFTER, self.PROGRESS_EVERY
        if sink is None:
            return None
        start = time.monotonic()
        last = [start - every]

        def report(line: str) -> None:
            now = time.monotonic()
            if now - start >= after and now - last[0] >= every:
                last[0] = now
                sink(line)

        return report

    # -- running a line -----------------------------------------------------------------
    def run(self, line: str) -> str:
        """Run one command line; returns the text to show (never raises)."""
        if len(line) > MAX_LINE:
            return (
                f"*** the line is {len(line):,} characters long; a command is at most "
                f"{MAX_LINE:,} (was something pasted by mistake?)"
            )
        line = line.strip()
        if not line:
            if not self._last_move:
                return ""
            line = self._last_move
        word, _, arg = line.replace("\t", " ").partition(" ")
        if not word.isprintable():
            return f"*** cannot read {line[:60]!r}: one command per line, for example: step"
        if self.tutor is not None and _is_number(word):
            word, arg = "predict", line
        name = self.resolve(word)
        if name is None:
            return self._unknown(word)
        try:
            text: str = getattr(self, f"do_{name}")(arg.strip())
        except (CommandError, ExpressionError, ValueError, KeyError, IndexError) as error:
            message = str(error.args[0] if error.args else error)
        except BaseException as error:  # noqa: BLE001 (one clear line, as pdb: never a traceback)
            message = f"{word}: {type(error).__name__}: {error}"
        else:
            if name in REPEATABLE:
                self._last_move = line
            return text
        return "*** " + " ".join(message.split("\n"))

    @classmethod
    @functools.cache
    def table(cls) -> dict[str, str]:
        """Every word the command language knows (names and aliases) -> the command name
        (read once per class from the do_* methods and their `@aliases`)."""
        words: dict[str, str] = {}
        for attr in dir(cls):
            if attr.startswith("do_"):
                name = attr[3:]
                words[name] = name
                for alias in getattr(getattr(cls, attr), "aliases", ()):
                    words[alias] = name
        return words

    def resolve(self, word: str) -> str | None:
        """The command a word names (an alias gives its command), or None."""
        return self.table().get(word)

    def offered(self, name: str) -> bool:
        """Is the command listed by help and completion? Lesson commands are only while a
        lesson runs (run without one, they say so)."""
        return self.tutor is not None or name not in self.lesson_commands

    def _unknown(self, word: str) -> str:
        close = difflib.get_close_matches(word, self.names(), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else "; 'help' lists the commands"
        return f"*** unknown command '{word}'{hint}"

    # -- introspection for front ends -----------------------------------------------------
    def infos(self) -> list[CommandInfo]:
        """Every command: name, aliases, one-line summary and full help."""
        infos = []
        for attr in dir(type(self)):
            name = attr[3:]
            if not attr.startswith("do_") or not self.offered(name):
                continue
            function = getattr(type(self), attr)
            doc = inspect.cleandoc(function.__doc__ or name)
            lines = doc.splitlines()
            description = " ".join(line.strip() for line in lines[1:]) or lines[0]
            summary = re.split(r"(?<=[.;])\s", description)[0].rstrip(".;")
            words = tuple(sorted(getattr(function, "aliases", ())))
            infos.append(CommandInfo(name, words, summary, doc, usage=lines[0]))
        return sorted(infos, key=lambda info: info.name)

    def names(self) -> list[str]:
        return sorted({w for info in self.infos() for w in (info.name, *info.aliases)})

    def prompt(self) -> str:
        """The position as the prompt shows it: `sg iter 3 backward relu_2 #412`."""
        state = self.session.state
        parts = ["sg"]
        if state.iteration is not None:
            parts.append(f"iter {state.iteration}")
        if state.line is not None:
            parts.append(f"{state.line.op}.{state.line.phase} line {state.line.lineno}")
        elif state.event is not None:
            parts.append(state.event.phase)
            name = getattr(state.event, "name", None) or getattr(state.event, "path", None)
            if name:
                parts.append(name)
        if state.cursor >= 0:
            parts.append(f"#{state.cursor}")
        if state.status not in ("paused", "replay"):
            parts.append(state.status)
        return " ".join(parts)

    def complete(self, line: str) -> list[str]:
        """Completions for the last word of `line` (an alias completes as its command)."""
        words = line.split(" ")
        text = words[-1]
        if len(words) == 1:
            return [n for n in self.names() if n.startswith(text)]
        name = self.resolve(words[0])
        completer = getattr(self, f"complete_{name}", None) if name and self.offered(name) else None
        if completer is None:
            return []
        candidates: Iterable[str] = completer(text, line)
        return sorted({c for c in candidates if c.startswith(text)})

    # -- what every move shows ------------------------------------------------------------
    def position(self) -> str:
        """The current position, the displays and any notes, as shown after a move."""
        session = self.session
        state = session.state
        if state.line is not None:
            return session.stepper.text()
        lines = []
        if state.reason and state.reason not in ("step", "next", "back"):
            lines.append(f"({state.reason})")
        lines.append(fmt.describe(state.event, state.cursor))
        if state.status == "crashed" and state.error and state.cursor == state.head:
            lines.append(state.error.rstrip())
        elif state.status in ("finished", "closed") and state.cursor == state.head:
            lines.append(
                f"The program has ended ({state.total} events recorded). 'back' walks "
                f"the history, 'restart' runs it again, 'quit' leaves."
            )
        for text in session.displays:
            lines.append(self.display_line(text))
        lines.extend(f"note: {m}" for m in session.take_messages())
        question = self._question()
        if question:
            lines.append(question)
        return "\n".join(lines)

    def display_line(self, text: str) -> str:
        """`EXPR = value` for a display; an error shows in place of the value."""
        try:
            value = self.session.evaluate(text)
            shown = "(none at this step)" if value is None else fmt.value_text(value)
        except ExpressionError as error:
            return f"{text} = <{error}>"
        except BaseException as error:  # noqa: BLE001 (a value's repr may raise anything)
            return f"{text} = <{type(error).__name__}: {error}>"
        return f"{text} = {shown}"

    def _complete_expression(self, text: str) -> list[str]:
        """Names an expression can use, or `out.sh` -> `out.shape` after a dot."""
        if "." in text:
            return self._complete_attribute(text)
        return [k for k in self.session.namespace() if not k.startswith("_")]

    def _complete_attribute(self, text: str) -> list[str]:
        """Attributes of a plain name, an index or an attribute chain (never a call)."""
        base, _, partial = text.rpartition(".")
        if not re.fullmatch(r"[A-Za-z_][\w.]*(\[\d+\])?", base):
            return []  # never evaluate calls while completing
        try:
            value = self.session.evaluate(base)
        except ExpressionError:
            return []
        names = [
            a
            for a in dir(value)
            if a.startswith(partial) and (partial.startswith("_") or not a.startswith("_"))
        ]
        return [f"{base}.{a}" for a in names]

    def _question(self) -> str:
        ask = getattr(self.tutor, "question", None)
        event = self.session.state.event
        return (ask(event) or "") if ask is not None and event is not None else ""

    # == help and leaving ======================================================================
    @aliases("h")
    def do_help(self, arg: str) -> str:
        """help [COMMAND]
        List the commands, or show one command's help."""
        infos = self.infos()
        if arg:
            for info in infos:
                if arg == info.name or arg in info.aliases:
                    alias = f"  (aliases: {', '.join(info.aliases)})" if info.aliases else ""
                    return info.help + alias
            return self._unknown(arg)
        width = max(len(i.name) for i in infos) + 2
        rows = [f"  {i.name:<{width}}{i.summary}" for i in infos]
        return "Commands ('help NAME' for more; Enter repeats the last move):\n" + "\n".join(rows)

    def complete_help(self, text: str, line: str) -> list[str]:
        return self.names()

    @aliases("q", "exit")
    def do_quit(self, arg: str) -> str:
        """quit
        Stop the program and leave the debugger."""
        self.session.close()
        self.finished = True
        return "Bye."
