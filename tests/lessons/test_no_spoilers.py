"""The debugger must not give a lesson's bug away: while a bug is injected, the code shown
for the patched op (`list`, the source pane, `step into`) reads as the op's own forward or
backward, from the op's own module, with no BUG comment or telling function name."""

from __future__ import annotations

import inspect

import pytest

import stepgrad as sg
from stepgrad.debug.source import op_source
from stepgrad.lessons.registry import all_lessons

OP_BUGS = [pytest.param(lesson, bug, id=f"lesson{lesson.number:02d}-{bug.id}",
                        marks=pytest.mark.lesson(lesson.number))
           for lesson in all_lessons() for bug in lesson.bugs if bug.kind == "op" and bug.op]


@pytest.mark.parametrize(("lesson", "bug"), OP_BUGS)
def test_patched_code_does_not_name_the_bug(lesson, bug) -> None:
    home = inspect.getsourcefile(sg.ops.get(bug.op))
    with lesson.injected(bug):
        for phase in ("forward", "backward"):
            lines, _, file = op_source(bug.op, phase)
            text = "".join(lines)
            assert file == home
            assert "BUG" not in text, text
            first_def = next(line for line in lines if line.lstrip().startswith("def "))
            assert first_def.lstrip().startswith(f"def {phase}("), first_def
            assert '"""' not in text and "'''" not in text, text
