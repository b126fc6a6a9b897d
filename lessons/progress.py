"""A learner's progress: which bugs they solved, how many hints and attempts each took.

Saved as JSON in the user's data directory:

    $STEPGRAD_HOME/progress.json                     when STEPGRAD_HOME is set
    $XDG_DATA_HOME/stepgrad/progress.json            else, when XDG_DATA_HOME is set
    ~/.local/share/stepgrad/progress.json            else

Every change is written at once and atomically (a temporary file in the same directory,
then `os.replace`), so a crash mid-write leaves the previous file whole. A file that cannot
be read is set aside as `progress.json.corrupt-<time>` with a message, never a crash.

    progress = Progress.load()
    progress.record_hint(lesson, "relu-times-activation")
    progress.solved(lesson)            # {"relu-times-activation"}
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from stepgrad.paths import data_dir

FILENAME = "progress.json"
VERSION = 1


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
        """Read the progress file (a missing file is an empty progress)."""
        progress = cls(path, autosave)
        progress._read()
        return progress

    # -- reading and writing --------------------------------------------------------------
    def _read(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as error:
            self.messages.append(f"could not read {self.path} ({error}); starting afresh")
            return
        try:
            data = json.loads(text)
            lessons = data["lessons"]
            if not isinstance(lessons, dict) or not all(isinstance(v, dict)
                                                        for v in lessons.values()):
                raise ValueError("'lessons' is not a mapping of lessons")
        except (ValueError, KeyError, TypeError) as error:
            self._set_aside(f"{type(error).__name__}: {error}")
            return
        self.lessons = lessons

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, aside)
            where = f"moved it to {aside}"
        except OSError as error:
            where = f"could not move it aside ({error})"
        self.messages.append(f"your progress file {self.path} could not be read ({why}); "
                             f"{where} and started afresh")

    def save(self) -> None:
        """Write the file atomically: a temporary file in the same folder, then os.replace."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": VERSION, "lessons": self.lessons}, indent=1, sort_keys=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                         dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def _changed(self) -> None:
        if not self.autosave:
            return
        try:
            self.save()
        except OSError as error:  # a full disk must not stop the lesson
            self.messages.append(f"could not save your progress to {self.path}: {error}")

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

    def record_attempt(self, lesson: Any, bug: str, correct: bool) -> int:
        """Count one more diagnosis of `bug` (and mark it solved when correct)."""
        entry = self._lesson(lesson)
        entry["attempts"][bug] = int(entry["attempts"].get(bug, 0)) + 1
        if correct and bug not in entry["solved"]:
            entry["solved"].append(bug)
        self._changed()
        return entry["attempts"][bug]

    def mark_solved(self, lesson: Any, bug: str) -> None:
        entry = self._lesson(lesson)
        if bug not in entry["solved"]:
            entry["solved"].append(bug)
            self._changed()

    # -- asking ---------------------------------------------------------------------------
    def solved(self, lesson: Any) -> set[str]:
        return set(self.lessons.get(lesson_key(lesson), {}).get("solved", []))

    def is_solved(self, lesson: Any, bug: str) -> bool:
        return bug in self.solved(lesson)

    def hints_used(self, lesson: Any, bug: str) -> int:
        return int(self.lessons.get(lesson_key(lesson), {}).get("hints", {}).get(bug, 0))

    def attempts(self, lesson: Any, bug: str) -> int:
        return int(self.lessons.get(lesson_key(lesson), {}).get("attempts", {}).get(bug, 0))

    def summary(self, lesson: Any) -> str:
        """"2/2 bugs solved" style line for `stepgrad lessons`."""
        solved = len(self.solved(lesson) & {bug.id for bug in lesson.bugs})
        return f"{solved}/{len(lesson.bugs)} bugs solved"

    def reset(self, lesson: Any = None) -> None:
        """Forget the progress of one lesson, or of every lesson."""
        if lesson is None:
            self.lessons.clear()
        else:
            self.lessons.pop(lesson_key(lesson), None)
        self._changed()


__all__ = ["FILENAME", "Progress", "data_dir", "lesson_key"]
