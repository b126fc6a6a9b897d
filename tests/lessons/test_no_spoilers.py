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


def test_step_into_names_a_helper_by_its_local_name() -> None:
    """Lesson 9's broken conv2d backward calls a helper bound to the name `col2im`; the
    locals of `step into` show it by that name, never by the helper's own."""
    from stepgrad.debug.source import locals_text
    from stepgrad.lessons.l09_convolution import col2im_overwriting

    text = locals_text({"col2im": col2im_overwriting, "n": 3})
    assert "col2im = <function col2im>" in text and "overwriting" not in text
