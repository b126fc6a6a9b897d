"""Fix it yourself: the learner rewrites the code at fault and the lesson checks it.

`fix` writes the broken op's forward and/or backward, as the debugger shows them, to a file
in the data directory (`fixes/<lesson>_<bug>.py`); the file is the learner's and survives
reruns until `fix reset`. `fix check` loads that file in place of the bug in a fresh
process (so a file that loops is stopped by a time limit, and the paused lesson keeps its
bug), then:

1. checks each gradient the learner's code returns: its shape, then a directional
   derivative against central differences (float64) on the inputs the lesson recorded and
   on random ones, and names the first element that disagrees;
2. reruns training with the learner's code and compares it with the buggy run.

    python -m stepgrad.lessons.fixing LESSON BUG FILE    # prints one JSON verdict
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepgrad.lessons.base import Bug, Lesson, pristine
from stepgrad.lessons.progress import lesson_key
from stepgrad.paths import data_dir


@dataclass(frozen=True)
class Code:
    """The function at fault of a loop, init or data bug, for `fix`.

    name      what the learner's file defines ("init", "_update", "forward")
    function  the code at fault as the lesson ships it (its source is what `fix` writes)
    put       an injector that puts the learner's function in its place:
              `lambda fn: with_hooks(init=fn)`, `lambda fn: patch_update(sg.optim.Adam, fn)`,
              `STEP.swap` (a `training.LoopPart` of the lesson's own loop)
    portable  False when `put` reaches only the lesson's own loop (a LoopPart): another
              lesson that borrows the bug (the capstone) cannot check a fix of it
    result    what each call's return value must be: value -> None when right, else one
              line for the learner (`number_result`); None: anything goes
    """

    name: str
    function: Callable[..., Any]
    put: Callable[[Callable[..., Any]], Any]
    portable: bool = True
    result: Callable[[Any], str | None] | None = None


def number_result(name: str, what: str, value: Any) -> str | None:
    """None when `value` is a real number (a float, or a 0-d array), else why it is wrong."""
    import numbers

    import numpy as np

    if isinstance(value, numbers.Real) and not isinstance(value, bool) \
            or isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "f":
        return None
    shown = repr(value) if len(repr(value)) <= 40 else f"a {type(value).__name__}"
    return f"Your {name} returns {shown}, not a number: it must return {what} as a float."


TIME_LIMIT = 120.0  # seconds for a whole `fix check` (two training runs and the checks)
PHASES = ("forward", "backward")


def fix_path(lesson: Lesson, bug: Bug) -> Path:
    """Where the learner's fix of `bug` lives."""
    return data_dir() / "fixes" / f"{lesson_key(lesson)}_{bug.id.replace('-', '_')}.py"


def broken_phases(bug: Bug) -> list[str]:
    """The phases of the bug's op that the bug replaces (forward, backward or both)."""
    import stepgrad as sg

    assert bug.op is not None
    with bug.inject():
        cls = sg.ops.get(bug.op)
        return [phase for phase in PHASES
                if _plain(cls.__dict__.get(phase)) is not pristine(bug.op, phase)]


def _plain(function: Any) -> Any:
    return function.__func__ if isinstance(function, staticmethod) else function


def code_at_fault(lesson: Lesson, bug: Bug) -> str:
    """The text of a fresh fix file: the broken code as the debugger shows it."""
    from stepgrad.debug.source import op_source

    if bug.code is not None:
        return _function_file(lesson, bug.code)
    phases = broken_phases(bug)
    with bug.inject():
        bodies = ["".join(_dedent(op_source(bug.op or "", phase)[0])) for phase in phases]
        bodies += [_helper_source(bug.op or "", phase) for phase in phases]
    names = " and ".join(f"`{p}`" for p in phases)
    header = (f'"""Lesson {lesson.number}: your fix of {bug.op}\'s {" and ".join(phases)}.\n\n'
              f"This is the code that runs now, and something in it is wrong. Edit {names}\n"
              f"(keep the name and the arguments), save, and type `fix check` in the lesson.\n"
              f"`fix reset` writes the broken code here again. numpy is `np`; the op's module\n"
              f'helpers are available as in the op\'s own file.\n"""\n\n'
              f"from __future__ import annotations\n\n"
              f"from typing import Any\n\nimport numpy as np\n\nimport stepgrad as sg\n\n\n")
    return header + "\n\n".join(b.rstrip() + "\n" for b in bodies if b.strip())


def _function_file(lesson: Lesson, code: Code) -> str:
    """A fix file for a loop or init bug: the function at fault under the name it is used by."""
    import inspect

    from stepgrad.debug.source import disguise

    body = "".join(_dedent(disguise(inspect.getsourcelines(code.function)[0], code.name)))
    return (f'"""Lesson {lesson.number}: your fix of `{code.name}`.\n\n'
            f"This is the code that runs now, and something in it is wrong. Edit `{code.name}`\n"
            f"(keep the name and the arguments), save, and type `fix check` in the lesson.\n"
            f"`fix reset` writes the broken code here again. The lesson's module names (np,\n"
            f'sg, nn...) are available.\n"""\n\n'
            f"from __future__ import annotations\n\nfrom typing import Any\n\n"
            f"import numpy as np\n\nimport stepgrad as sg\n\n\n{body.rstrip()}\n")


def _helper_source(op: str, phase: str) -> str:
    """The functions a phase calls through its closure (lesson 9's `col2im`), each under the
    name the phase calls it by: a bug can live in a helper."""
    import inspect

    from stepgrad.debug.source import disguise, op_function

    fn = op_function(op, phase)
    cells = zip(fn.__code__.co_freevars, fn.__closure__ or ())
    helpers = [(name, cell.cell_contents) for name, cell in cells
               if inspect.isfunction(cell.cell_contents)]
    return "\n\n".join("".join(_dedent(disguise(inspect.getsourcelines(helper)[0], name)))
                       for name, helper in helpers)


def _dedent(lines: list[str]) -> list[str]:
    indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    return [x[indent:] if x.strip() else "\n" for x in lines]


def write(lesson: Lesson, bug: Bug, reset: bool = False) -> tuple[Path, bool]:
    """(path, written): write the code at fault unless the learner's file exists."""
    path = fix_path(lesson, bug)
    if path.exists() and not reset:
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code_at_fault(lesson, bug), encoding="utf-8")
    return path, True


#: How a front end lends its terminal: called with a function that uses the terminal (runs
#: the editor), it returns that function's answer, or one line saying why it could not lend
#: it (the app served in a browser).
Terminal = Callable[[Callable[[], str | None]], str | None]


def open_editor(path: Path, terminal: Terminal | None = None) -> str:
    """Open $VISUAL or $EDITOR on `path` when one is set; a note for `fix`'s message ("" when
    no editor was opened).

    `terminal` is how a full-screen front end lends its terminal (the app suspends itself,
    runs the editor and resumes). Without one, the editor runs in this process's terminal
    when it is interactive."""
    import shlex

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or ""
    try:
        words = shlex.split(editor)
    except ValueError as error:
        return f" (could not read $EDITOR {editor!r}: {error})"
    if not words:
        return ""
    if terminal is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return ""
        if "textual.app" in sys.modules:  # a full-screen app owns the terminal and lent none
            return " (open it in your editor: the full-screen app keeps the terminal)"
        terminal = _this_terminal
    why = terminal(lambda: run_editor([*words, str(path)]))
    return f" ({why})" if why else f" (edited with {editor})"


def _this_terminal(use: Callable[[], str | None]) -> str | None:
    return use()


def run_editor(argv: list[str]) -> str | None:
    """Run `argv` to its end in the terminal; None when it succeeded, else one line saying
    what went wrong (it never raises: a front end resumes after it)."""
    try:
        status = subprocess.call(argv)
    except OSError as error:
        return f"could not start {argv[0]}: {error.strerror or error}"
    return None if status == 0 else f"{argv[0]} exited with status {status}"


def check(lesson: Lesson, bug: Bug, seed: int = 0) -> dict[str, Any]:
    """Run `fix check` in a fresh process; the verdict as a dict (see `verdict`)."""
    path = fix_path(lesson, bug)
    if not path.exists():
        return {"healthy": False, "lines": ["No fix file yet: type `fix` first."]}
    command = [sys.executable, "-m", "stepgrad.lessons.fixing", str(lesson.number), bug.id,
               str(path), str(seed)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIME_LIMIT,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
    except subprocess.TimeoutExpired:
        return {"healthy": False, "lines": [
            f"Your fix did not finish within {TIME_LIMIT:g} s: is there an endless loop?"]}
    last = done.stdout.strip().splitlines()[-1:] or [""]
    try:
        return dict(json.loads(last[0]))
    except ValueError:
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"healthy": False, "lines": [f"The check could not run: {error}"]}


if __name__ == "__main__":  # the child process of `check`
    from stepgrad.lessons.fixcheck import main

    main(sys.argv[1:])


__all__ = ["Code", "Terminal", "broken_phases", "check", "code_at_fault", "fix_path",
           "number_result", "open_editor", "run_editor", "write"]
