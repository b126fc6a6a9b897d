"""The `stepgrad` command: lessons, the debugger, replays.

    stepgrad lesson 3            open lesson 3 in the full-screen debugger
    stepgrad lessons             the lessons and your progress
    stepgrad debug train.py      run a script under the debugger
    stepgrad replay run.sgtrace  step through a saved trace
"""

from __future__ import annotations

import argparse
import sys

import stepgrad


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stepgrad", description="A debugger for backpropagation: step through every "
        "forward and backward node of a neural network.")
    parser.add_argument("--version", action="version", version=f"stepgrad {stepgrad.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    lesson = sub.add_parser("lesson", help="open a numbered lesson (a bug hunt) in the debugger")
    lesson.add_argument("number", help="the lesson's number (see `stepgrad lessons`)")
    sub.add_parser("lessons", help="list the lessons and your progress")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command in ("lesson", "lessons"):
        print("stepgrad: the lessons are not installed yet.", file=sys.stderr)
        return 2
    return 0
