"""The REPL paints the core's plain text: errors, headings, nan/inf, numbers, events."""

from __future__ import annotations

import io

from stepgrad.tui.repl.style import colorize, wants_color


def styles_of(text: str) -> dict[str, str]:
    """Each styled fragment's text mapped to its style class."""
    return {part: style for style, part in colorize(text) if style}


def test_colorize_keeps_the_text_exactly():
    text = "grad of relu_2:\n  mean 0.5 max inf\n*** no such node\n"
    assert "".join(part for _, part in colorize(text)) == text


def test_nan_and_inf_are_bad_numbers_are_numbers_events_stand_out():
    styles = styles_of("  mean nan  max -inf  min 1.5e-3  at #412 of relu_2 (4, 8)")
    assert styles["nan"] == "class:bad"
    assert styles["-inf"] == "class:bad"
    assert styles["1.5e-3"] == "class:number"
    assert styles["#412"] == "class:event"
    assert styles["4"] == "class:number"
    assert "2" not in styles  # the digit in a node name is part of the name


def test_words_that_contain_nan_or_inf_are_left_alone():
    assert styles_of("see nanmean of Infinity, inference") == {}


def test_headings_and_errors_are_whole_lines():
    styles = styles_of("Breakpoints:\n*** Unknown command: 'zz'\n")
    assert styles == {"Breakpoints:\n": "class:heading",
                      "*** Unknown command: 'zz'\n": "class:error"}


def test_stop_reasons_python_errors_and_labels():
    styles = styles_of("(breakpoint 1 (relu))\nValueError: bad\nrelu_1: op relu\n")
    assert styles == {"(breakpoint 1 (relu))\n": "class:reason", "ValueError: bad\n": "class:error",
                      "relu_1:": "class:heading"}
    assert styles_of("gradcheck relu_1 (relu): MISMATCH")["MISMATCH"] == "class:bad"


def test_no_color_when_not_a_tty_or_no_color_is_set(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_color(Tty())
    assert not wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(Tty())
