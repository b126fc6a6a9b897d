"""Moving: step, next, finish, until, back, rcontinue, goto, restart, interrupt.

Each move builds a stop rule (rules.py) and hands it to the session, which walks recorded
history first and then the live program; the text shown is where it arrived. During
`step into`, step/next/back move a line of the op instead (the session's stepper).
"""

from __future__ import annotations

from stepgrad import events as ev
from stepgrad.debug import rules
from stepgrad.debug.commands.dispatch import CommandError, Dispatcher, aliases, parse_count
from stepgrad.debug.history import evicted_summary, format_size


class MovingCommands(Dispatcher):
    """The moves of the cursor and the program."""

    def _move(self, rule: rules.Rule) -> str:
        """Make a move, then show where it arrived (the stop reason is part of it), and say
        if the history had to drop events meanwhile."""
        history = self.session.history
        dropped = history.dropped
        self.session.move(rule)
        text = self.position()
        if history is self.session.history and history.dropped > dropped:
            summary = evicted_summary(history)
            text += (
                f"\nnote: {history.dropped - dropped} older events were dropped during this "
                f"move to stay under {format_size(history.limit)} (the oldest kept is "
                f"#{history.first}{'; gone: ' + summary if summary else ''}); "
                f"'info history' says more, 'set history 1GB' keeps more"
            )
        return text

    def _line_move(self, delta: int) -> str:
        if self.session.stepper.move(delta):
            return self.session.stepper.text()
        return "Back to stepping nodes.\n" + self.position()

    @aliases("s")
    def do_step(self, arg: str) -> str:
        """step [N] | step into
        Go to the next event (N events with a count). `step into` replays the current op's
        forward or backward line by line with its local variables; `step` then moves a line
        at a time, and after the last line you are back to stepping nodes."""
        if arg == "into":
            return self._step_into()
        if self.session.stepper.active:
            return self._line_move(parse_count(arg))
        if self.session.status == "not started":
            raise CommandError("the program has not started")
        return self._move(rules.Step(parse_count(arg)))

    def complete_step(self, text: str, line: str) -> list[str]:
        return ["into"]

    def _step_into(self) -> str:
        stepper, state = self.session.stepper, self.session.state
        refused = stepper.enter(state.event, self.session.history)
        if refused:
            return refused
        return (
            f"Stepping into {stepper.op}.{stepper.phase} ({len(stepper.steps)} lines; 'finish' "
            f"returns to nodes)\n" + stepper.text()
        )

    @aliases("n")
    def do_next(self, arg: str) -> str:
        """next [N]
        Go to the next event at the same depth or shallower: steps over a whole module
        (layer) instead of into its nodes."""
        if self.session.stepper.active:
            return self._line_move(parse_count(arg))
        event = self.session.state.event
        depth = event.depth if event is not None else 0
        return self._move(rules.Next(depth, parse_count(arg)))

    @aliases("c", "cont")
    def do_continue(self, arg: str) -> str:
        """continue
        Run until a breakpoint, an interrupt (Ctrl-C) or the end of the program."""
        self.session.stepper.leave()
        return self._move(rules.Rule())

    @aliases("f", "return")
    def do_finish(self, arg: str) -> str:
        """finish
        Run to the end of the current module, or of the current forward or backward pass."""
        if self.session.stepper.leave():
            return self.position()
        event = self.session.state.event
        if event is None:
            return self._move(rules.Step(1))
        if event.phase not in ("forward", "backward"):
            return self._move(rules.Finish("forward", 0))
        if event.phase == "backward":
            return self._move(rules.Finish("backward", 0))
        depth = event.depth + 1 if isinstance(event, ev.ModuleEnter) else event.depth
        return self._move(rules.Finish("forward", depth))

    @aliases("unt")
    def do_until(self, arg: str) -> str:
        """until iter N | until epoch N
        Run until training iteration N (or epoch N) has finished. Plain `until` is `next`."""
        words = arg.split()
        if not words:
            return self.do_next("")
        if (
            len(words) != 2
            or words[0] not in ("iter", "iteration", "epoch")
            or not (words[1].lstrip("-").isascii() and words[1].lstrip("-").isdigit())
        ):
            raise CommandError("until iter N or until epoch N, for example: until iter 10")
        unit = "epoch" if words[0] == "epoch" else "iter"
        return self._move(rules.Until(unit, int(words[1])))

    def complete_until(self, text: str, line: str) -> list[str]:
        return ["iter", "epoch"]

    @aliases("r")
    def do_back(self, arg: str) -> str:
        """back [N]
        Go one event back through the recorded history (N events with a count); nothing is
        re-run. In `step into`, one line back."""
        if self.session.stepper.active:
            return self._line_move(-parse_count(arg))
        reason = self.session.back(parse_count(arg))
        text = self.position()
        return text if reason == "back" else f"{reason}\n{text}"

    @aliases("rc")
    def do_rcontinue(self, arg: str) -> str:
        """rcontinue
        Go back through history to the previous event where a breakpoint matches."""
        self.session.stepper.leave()
        reason = self.session.rcontinue()
        return self.position() if reason.startswith("back to") else f"{reason}\n{self.position()}"

    @aliases("j", "jump")
    def do_goto(self, arg: str) -> str:
        """goto #K
        Go to event number K: straight there if it is recorded, by running on if it is ahead."""
        text = arg.lstrip("#").strip()
        if not (text.isascii() and text.isdigit()):
            raise CommandError("goto needs an event number, for example: goto #42")
        self.session.stepper.leave()
        reason = self.session.goto(int(text))
        if reason.startswith(("at #", "arrived")):
            return self.position()
        return f"{reason}\n{self.position()}"

    @aliases("run")
    def do_restart(self, arg: str) -> str:
        """restart
        Run the program again from the start; breakpoints and displays are kept."""
        self.session.stepper.leave()
        self.session.restart()
        return "Restarted.\n" + self.position()

    def do_interrupt(self, arg: str) -> str:
        """interrupt
        Pause the running program at its next event (what Ctrl-C does)."""
        self.session.interrupt()
        return "The program will pause at its next event."
