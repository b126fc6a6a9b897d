"""A learner's progress: which bugs they found (or only guessed), how many hints and attempts
each took, which they fixed with their own code, and their predictions.

A right diagnosis counts as *found* when the learner had looked at the evidence first (a node
of the op at fault, or the events where the symptom shows); made before that, it is only
*guessed*, and a later right diagnosis after looking upgrades it to found. In the file,
`solved` lists every bug diagnosed right (as older versions wrote it) and `guessed` the ones
of those not found yet, so files of older versions load unchanged (their bugs count as found).

Saved as JSON in the user's data directory:

    $STEPGRAD_HOME/progress.json                     when STEPGRAD_HOME is set
    $XDG_DATA_HOME/stepgrad/progress.json            else, when XDG_DATA_HOME is set
    ~/.local/share/stepgrad/progress.json            else

Every change is written at once and atomically (a temporary file in the same directory,
then `os.replace`), so a crash mid-write leaves the previous file whole. A file that cannot
be read is set aside as `progress.json.damaged-<time>` with a message, never a crash;
a save that fails raises ProgressError ("could not save progress: ...").

    progress = Progress.load()
    progress.record_hint(lesson, "relu-times-activation")
    progress.solved(lesson)            # {"relu-times-activation"}: diagnosed right
    progress.found(lesson)             # the same, less those only guessed
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stepgrad.paths import data_dir

FILENAME = "progress.json"
VERSION = 1


#: What each mark of `stepgrad lessons` means (Progress.mark), for its legend.
MARKS = (("●", "found: diagnosed after looking at the evidence"),
         ("✎", "fixed with your own code (`fix check`)"),
         ("?", "guessed: right, but before looking at any evidence (look, diagnose again)"),
         ("○", "not found yet"))


class ProgressError(OSError):
    """Progress could not be saved; the message is one line for the learner."""


STALE_SECONDS = 60
_TEMPORARY_SUFFIX = ".tmp"
_MAX_NAME_LENGTH = 200


def _remove_quietly(path: str | None) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass


def _unused_name(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`... : two damaged files set aside in the same second
    must not overwrite each other."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a count")


def _parse(raw: bytes) -> Any:
    """The JSON in the file; ValueError (one line) for bytes that are not UTF-8 JSON."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as error:  # json.JSONDecodeError, or a number too long to read
        raise ValueError(f"not JSON: {str(error).splitlines()[0]}") from None


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} should be a list of bug names")
    return list(value)


def _counts(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} should map bug names to counts")
    for bug, count in value.items():
        if type(count) is not int or count < 0:  # bool is an int to Python, not a count
            raise ValueError(f"{where}[{bug!r}] should be a whole number >= 0, not {count!r}")
    return dict(value)


#: Every field of a lesson's record this version reads, with the check it must pass.
#: A new field is added here together with the code that reads it.
FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "solved": _names,
    "hints": _counts,
    "attempts": _counts,
    "guessed": _names,      # solved by a diagnosis made before looking at the evidence
    "fixed": _names,        # solved by the learner's own code (`fix check` healthy)
    "quiz": _counts,        # prediction questions: {"asked": n, "right": n}
}


def validate(data: Any) -> dict[str, dict[str, Any]]:
    """The lessons of a parsed progress file, checked field by field; ValueError naming the
    first wrong field. Fields this version does not know are kept as they are."""
    if not isinstance(data, dict) or not isinstance(data.get("lessons"), dict):
        raise ValueError("no 'lessons' mapping at the top")
    lessons: dict[str, dict[str, Any]] = {}
    for key, entry in data["lessons"].items():
        where = f"lessons[{key[:_MAX_NAME_LENGTH]!r}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} should be a mapping")
        checked = dict(entry)
        for name, check in FIELDS.items():
            if name in entry:
                checked[name] = check(entry[name], f"{where}[{name!r}]")
        lessons[key] = checked
    return lessons


def lesson_key(lesson: Any) -> str:
    """The key of a lesson in the file: "03_linear_layer" (number and slug)."""
    return f"{int(lesson.number):02d}_{lesson.slug}"


class Progress:
    """Progress of every lesson, kept in memory and saved after each change.

    `messages` collects notes for the learner (a corrupt file set aside, a failed save).
    """

    def __init__(self, path: str | Path | None = None, autosave: bool = True) -> None:
        self.path = Path(path) if path is not None else data_dir() / FILENAME
        self.autosave = autosave
        self.messages: list[str] = []
        self.lessons: dict[str, dict[str, Any]] = {}

    @classmethod
    def load(cls, path: str | Path | None = None, autosave: bool = True) -> Progress:
        """Read the progress file (a missing file is an empty progress).

        Never raises: a damaged file is set aside with a note in `messages`, and temporary
        files left by writes that were interrupted (a kill -9) are removed."""
        progress = cls(path, autosave)
        progress._remove_stale_temporaries()
        progress._read()
        return progress

    # -- reading and writing --------------------------------------------------------------
    def _read(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as error:
            self.messages.append(f"could not read {self.path} ({error.strerror or error}); "
                                 "starting afresh")
            return
        try:
            self.lessons = validate(_parse(raw))
        except ValueError as error:
            self._set_aside(str(error))

    def _set_aside(self, why: str) -> None:
        aside = _unused_name(self.path.with_name(
            f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"))
        try:
            os.replace(self.path, aside)
            where = f"moved it to {aside}"
        except OSError as error:
            where = f"could not move it aside ({error.strerror or error})"
        self.messages.append(f"your progress file {self.path} is damaged ({why}); "
                             f"{where} and started afresh")

    def _remove_stale_temporaries(self) -> None:
        """Delete `.progress.json.*.tmp` files older than a minute: what a write killed
        between creating its temporary file and renaming it leaves behind. (A younger one may
        belong to another stepgrad saving right now.)"""
        pattern = f".{self.path.name}.*{_TEMPORARY_SUFFIX}"
        try:
            stale = [p for p in self.path.parent.glob(pattern)
                     if time.time() - p.stat().st_mtime > STALE_SECONDS]
            for temporary in stale:
                temporary.unlink()
        except OSError:
            pass  # a folder we cannot list or clean is reported when saving, not here

    def save(self) -> None:
        """Write the file atomically: a temporary file in the same folder, then os.replace.

        Raises ProgressError ("could not save progress: ...") when the folder is read-only,
        the disk is full, or anything else stops the write; the old file is then unchanged."""
        text = json.dumps({"version": VERSION, "lessons": self.lessons}, indent=1, sort_keys=True)
        temporary = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.",
                                             suffix=_TEMPORARY_SUFFIX, dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            _remove_quietly(temporary)
            reason = error.strerror or str(error)
            raise ProgressError(f"could not save progress: {reason} ({self.path})") from None
        except BaseException:
            _remove_quietly(temporary)
            raise

    def _changed(self) -> None:
        """Save after a change (unless autosave is off); a failed save raises ProgressError,
        so the command that changed progress tells the learner instead of "Solved!"."""
        if self.autosave:
            self.save()

    # -- recording ------------------------------------------------------------------------
    def _lesson(self, lesson: Any) -> dict[str, Any]:
        entry = self.lessons.setdefault(lesson_key(lesson), {})
        for name in ("solved", "hints", "attempts"):
            entry.setdefault(name, [] if name == "solved" else {})
        return entry

    def record_hint(self, lesson: Any, bug: str) -> int:
        """Count one more hint for `bug`; returns how many were used."""
        hints = self._lesson(lesson)["hints"]
        hints[bug] = int(hints.get(bug, 0)) + 1
        self._changed()
        return hints[bug]

    def record_attempt(self, lesson: Any, bug: str, correct: bool,
                       looked: bool = True) -> int:
        """Count one more diagnosis of `bug`. A correct one marks it found when the learner
        had `looked` at the evidence (and upgrades an earlier guess); made before looking, it
        marks the bug guessed unless it was found already."""
        entry = self._lesson(lesson)
        entry["attempts"][bug] = int(entry["attempts"].get(bug, 0)) + 1
        if correct:
            if looked and bug in entry.get("guessed", []):
                entry["guessed"].remove(bug)
            elif not looked and bug not in entry["solved"]:
                entry.setdefault("guessed", []).append(bug)
            if bug not in entry["solved"]:
                entry["solved"].append(bug)
        self._changed()
        return entry["attempts"][bug]

    def mark_solved(self, lesson: Any, bug: str) -> None:
        entry = self._lesson(lesson)
        if bug not in entry["solved"]:
            entry["solved"].append(bug)
            self._changed()

    def mark_fixed(self, lesson: Any, bug: str) -> None:
        """`bug` was fixed by the learner's own code: solved, and a find (not a guess)."""
        entry = self._lesson(lesson)
        fixed = entry.setdefault("fixed", [])
        if bug not in fixed:
            fixed.append(bug)
        if bug not in entry["solved"]:
            entry["solved"].append(bug)
        if bug in entry.get("guessed", []):
            entry["guessed"].remove(bug)
        self._changed()

    def record_prediction(self, lesson: Any, right: bool) -> None:
        """Count one answered prediction question of `lesson` (and whether it was right)."""
        quiz = self._lesson(lesson).setdefault("quiz", {})
        quiz["asked"] = int(quiz.get("asked", 0)) + 1
        quiz["right"] = int(quiz.get("right", 0)) + bool(right)
        self._changed()

    def guessed(self, lesson: Any) -> set[str]:
        """Bugs diagnosed right before looking at any evidence, and not found since."""
        return set(self.lessons.get(lesson_key(lesson), {}).get("guessed", []))

    def found(self, lesson: Any) -> set[str]:
        """Bugs diagnosed right after looking at the evidence (or fixed with own code)."""
        return self.solved(lesson) - self.guessed(lesson)

    def is_found(self, lesson: Any, bug: str) -> bool:
        return bug in self.found(lesson)

    def is_guessed(self, lesson: Any, bug: str) -> bool:
        return bug in self.guessed(lesson)

    def fixed(self, lesson: Any) -> set[str]:
        """Bugs the learner fixed with their own code (`fix check`)."""
        return set(self.lessons.get(lesson_key(lesson), {}).get("fixed", []))

    def quiz(self, lesson: Any) -> tuple[int, int]:
        """(right, asked) over the lesson's prediction questions."""
        quiz = self.lessons.get(lesson_key(lesson), {}).get("quiz", {})
        return int(quiz.get("right", 0)), int(quiz.get("asked", 0))

    # -- asking ---------------------------------------------------------------------------
    def solved(self, lesson: Any) -> set[str]:
        """Bugs diagnosed right: found, or only guessed."""
        return set(self.lessons.get(lesson_key(lesson), {}).get("solved", []))

    def is_solved(self, lesson: Any, bug: str) -> bool:
        return bug in self.solved(lesson)

    def hints_used(self, lesson: Any, bug: str) -> int:
        return int(self.lessons.get(lesson_key(lesson), {}).get("hints", {}).get(bug, 0))

    def attempts(self, lesson: Any, bug: str) -> int:
        return int(self.lessons.get(lesson_key(lesson), {}).get("attempts", {}).get(bug, 0))

    def summary(self, lesson: Any) -> str:
        """"1/2 bugs found" (", 1 guessed" when some were only guessed) for `stepgrad lessons`."""
        ids = {bug.id for bug in lesson.bugs}
        guessed = len(self.guessed(lesson) & ids)
        line = f"{len(self.found(lesson) & ids)}/{len(lesson.bugs)} bugs found"
        return line + (f", {guessed} guessed" if guessed else "")

    def mark(self, lesson: Any, bug: str) -> str:
        """One character for `bug` in `stepgrad lessons` (see MARKS)."""
        if bug in self.fixed(lesson):
            return "✎"
        if bug in self.guessed(lesson):
            return "?"
        return "●" if bug in self.solved(lesson) else "○"

    def reset(self, lesson: Any = None) -> None:
        """Forget the progress of one lesson, or of every lesson."""
        if lesson is None:
            self.lessons.clear()
        else:
            self.lessons.pop(lesson_key(lesson), None)
        self._changed()


__all__ = ["FILENAME", "MARKS", "Progress", "ProgressError", "data_dir", "lesson_key", "validate"]
