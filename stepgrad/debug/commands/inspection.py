"""Inspection: print, pp, info, where, list, graph, backprop, gradcheck, display, undisplay,
history, set. Nothing here moves the cursor or runs the program."""

from __future__ import annotations

import pprint
from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug import format as fmt
from stepgrad.debug.chain import contributions, local_derivatives
from stepgrad.debug.commands.dispatch import CommandError, Dispatcher, aliases, parse_count
from stepgrad.debug.explain import explain, parse_selection
from stepgrad.debug.expr import ExpressionError, compile_expression, evaluate
from stepgrad.debug.history import budget_text, format_size, parse_size
from stepgrad.debug.source import op_source
from stepgrad.graph.view import graph_command
from stepgrad.passcheck import node_report, pass_report


class InspectionCommands(Dispatcher):
    """Looking at values, nodes, source and history where the cursor is."""

    @aliases("p")
    def do_print(self, arg: str) -> str:
        """print EXPR
        Evaluate an expression over the node's tensors and the program's variables:
        out (output), ins (inputs), grad (upstream gradient), grads (sent gradients),
        node (op, name, module), np, and the program's own names."""
        if not arg:
            raise CommandError("print what? For example: p out.shape  or  p grad.norm")
        return fmt.value_text(self._evaluate(arg))

    def complete_print(self, text: str, line: str) -> list[str]:
        return self._complete_expression(text)

    def do_pp(self, arg: str) -> str:
        """pp EXPR
        Print an expression in full (whole arrays) with its statistics."""
        if not arg:
            raise CommandError("pp what? For example: pp out")
        value = self._evaluate(arg)
        if isinstance(value, np.ndarray):
            with np.printoptions(threshold=100_000, linewidth=120, precision=5, suppress=True):
                return f"{fmt.stats_line(value)}\n{np.array2string(value)}"
        return pprint.pformat(value, width=100)

    complete_pp = complete_print

    def _evaluate(self, text: str) -> Any:
        stepper = self.session.stepper
        if stepper.active:
            return evaluate(compile_expression(text), {"np": np, **stepper.locals})
        try:
            return self.session.evaluate(text)
        except ExpressionError as error:
            raise ExpressionError(self._explain_missing(str(error))) from None

    def _explain_missing(self, message: str) -> str:
        """Say why out/grad/... is None here, instead of a bare NoneType error."""
        if "NoneType" not in message:
            return message
        state = self.session.state
        kind = state.event.kind if state.event is not None else "nothing"
        if kind == "forward":
            why = "grad and grads exist only at backward steps"
        elif kind == "backward":
            why = "this node's forward step is no longer in history"
        else:
            why = (
                f"#{state.cursor} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} event: out, "
                f"ins, grad and grads belong to a node's forward or backward step"
            )
        return f"{message} ({why})"

    def do_info(self, arg: str) -> str:
        """info | info history
        The current node: op, shapes, dtype and statistics (mean, std, min, max, norm,
        zeros, NaN/Inf) of its output, inputs and gradients. `info history`: the history's
        budget, what it keeps and what was dropped."""
        if arg == "history":
            return budget_text(self.session.history)
        if arg:
            raise CommandError("info, or info history")
        state = self.session.state
        if state.event is None:
            return "nothing recorded yet"
        view = self.session.node_view(state.cursor)
        names = {}
        source = view.forward or view.event
        for i, name in enumerate(getattr(source, "input_names", ())):
            names[f"ins[{i}]"] = names[f"grads[{i}]"] = name
        names["out"] = getattr(view.event, "name", "")
        text = fmt.info(view.event, view.tensors, names)
        if isinstance(view.event, ev.OptimizerStep):
            rows = [
                f"  {p.name:<20} update/weight {p.ratio:.2e}  |grad| "
                f"{fmt.stats(p.grad).get('norm', 0):.3g}"
                for p in view.event.params
                if p.grad is not None
            ]
            text += "\n" + "\n".join(rows)
        return text

    @aliases("w", "bt")
    def do_where(self, arg: str) -> str:
        """where
        Where the program is: module path, iteration, phase and your source line."""
        line = self.session.line
        if line is not None:
            return f"in {line.op}.{line.phase}, line {line.lineno} (step into)"
        state = self.session.state
        text = fmt.where(state.event, state.cursor, state.iteration, state.epoch)
        frames = self.session.frames
        if frames is not None and frames.frames:
            text += "\nyour program's frames (oldest first; up and down move):\n" + frames.text()
        return text

    @aliases("u")
    def do_up(self, arg: str) -> str:
        """up [N]
        Move to the frame that called this one (N frames up): `print` then sees that
        frame's variables. Works after a crash too (post-mortem)."""
        return self._frames().move(parse_count(arg))

    @aliases("d")
    def do_down(self, arg: str) -> str:
        """down [N]
        Move back toward the frame where the program paused (N frames down)."""
        return self._frames().move(-parse_count(arg))

    def _frames(self) -> Any:
        frames = self.session.frames
        if frames is None:
            raise CommandError("no frames of your program here: it is running or has ended")
        return frames

    @aliases("l", "ll")
    def do_list(self, arg: str) -> str:
        """list
        The source of the current op's forward or backward, and the line of your program
        that made the node. In `step into`, the current line is marked."""
        line = self.session.line
        if line is not None:
            return fmt.numbered(op_source(line.op, line.phase), line.lineno)
        event = self.session.state.event
        if not isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
            return "list shows an op's code: go to a forward or backward step first"
        forward = self.session.history.forward_of(event.node_id)
        if forward is not None and "torch" in forward.attrs:  # a node of a torch program
            from stepgrad.torchbridge import listing

            text = listing(forward, event.phase)
            return f"{text}\nmade at {fmt.source_line(event.file, event.line)}"
        text = fmt.numbered(op_source(event.op, event.phase), None)
        return f"{text}\nmade at {fmt.source_line(event.file, event.line)}"

    def do_graph(self, arg: str) -> str:
        """graph [DEPTH] [--modules] [--dot FILE] [--svg FILE]
        Draw the computation graph around the current node, DEPTH edges out (default 2):
        boxes with name, op, shape and |grad| (or the value of a single number), arrows in
        data-flow order, ╔╗ the current node, ┏┓ nodes backward has already passed.
        --modules folds each module into one box; --dot FILE writes Graphviz DOT of the
        whole pass, --svg FILE renders it (needs Graphviz's `dot`)."""
        try:
            return graph_command(self.session.history, self.session.state.cursor, arg)
        except ValueError as error:
            raise CommandError(str(error)) from None

    def complete_graph(self, text: str, line: str) -> list[str]:
        return [w for w in ("--modules", "--dot", "--svg") if w.startswith(text)]

    @aliases("why")
    def do_backprop(self, arg: str) -> str:
        """backprop [INPUT [I J ...]]
        At a backward step: upstream grad x local derivative = sent grad, with numbers;
        for ops that mix elements, the sum one element of the sent grad came from (input
        INPUT's element [I, J, ...], or the largest); broadcast sums; contributions added
        to a value used twice."""
        state = self.session.state
        event = state.event
        if not isinstance(event, ev.BackwardStep):
            return "backprop explains a backward step: step or continue to one first"
        try:
            which, index = parse_selection(arg, event)
        except ValueError as error:
            raise CommandError(str(error)) from None
        forward = self.session.history.forward_of(event.node_id)
        local = local_derivatives(forward)
        return fmt.backprop(
            event,
            local,
            contributions(self.session.history, state.cursor, event),
            explain(forward, event, local, which, index),
        )

    @aliases("gc")
    def do_gradcheck(self, arg: str) -> str:
        """gradcheck [all]
        Check the current node's backward by finite differences on its recorded inputs,
        and name the worst element (or say where it is not differentiable). `gradcheck all`
        checks every op of one backward pass (the one the cursor is in, else the last
        complete one), to find which op's backward is wrong."""
        if arg == "all":
            return self._gradcheck_all()
        if arg:
            raise CommandError("gradcheck takes no argument, or `all`")
        event = self.session.state.event
        node_id = getattr(event, "node_id", None)
        forward = self.session.history.forward_of(node_id) if node_id is not None else None
        if forward is None:
            return "gradcheck checks a node: go to one of its forward or backward steps first"
        upstream: np.ndarray | None
        if isinstance(event, ev.BackwardStep):
            upstream = event.upstream
        else:  # at a forward step: the gradient the node received, once backward has run
            backward = self.session.history.backward_of(forward.node_id)
            upstream = backward.upstream if backward is not None else None
        return node_report(forward, upstream, progress=self.progress_reporter(),
                           cancel=self._check_interrupted)

    def complete_gradcheck(self, text: str, line: str) -> list[str]:
        return ["all"]

    def _gradcheck_all(self) -> str:
        return pass_report(self.session.history, self.session.state.cursor,
                           progress=self.progress_reporter(), cancel=self._check_interrupted)

    def _check_interrupted(self) -> bool:
        """Ctrl-C during a gradient check (the front ends turn it into session.interrupt()):
        it stops the check, and is used up, so the program does not pause on it later."""
        if getattr(self.session, "_interrupt", False):
            self.session._interrupt = False
            return True
        return False

    def do_display(self, arg: str) -> str:
        """display [EXPR]
        Show EXPR at every stop; with no argument, list the displays."""
        displays = self.session.displays
        if not arg:
            if not displays:
                return "No displays. For example: display grad.norm"
            return "\n".join(f"{i + 1}: {self.display_line(t)}" for i, t in enumerate(displays))
        compile_expression(arg)
        displays.append(arg)
        return f"{len(displays)}: {self.display_line(arg)}"

    complete_display = complete_print

    def do_undisplay(self, arg: str) -> str:
        """undisplay [N | EXPR]
        Stop showing a display (by number or text); with no argument, all of them."""
        displays = self.session.displays
        if not arg:
            displays.clear()
            return "Removed every display."
        if arg.isascii() and arg.isdigit() and 1 <= int(arg) <= len(displays):
            return f"Removed display {displays.pop(int(arg) - 1)}"
        if arg in displays:
            displays.remove(arg)
            return f"Removed display {arg}"
        raise CommandError(f"no display {arg!r}; 'display' lists them")

    @aliases("hist")
    def do_history(self, arg: str) -> str:
        """history [N]
        The N events (default 10) around the current one."""
        count = parse_count(arg, default=10)
        state = self.session.state
        history = self.session.history
        start = max(history.first, state.cursor - count // 2)
        lines = []
        for number, event in history.numbered(start, start + count):
            mark = "->" if number == state.cursor else "  "
            lines.append(f"{mark} {fmt.describe(event, number)}")
        kept = f"events #{history.first}..#{history.last}" if len(history) else "no events"
        lines.append(f"({kept}, {format_size(history.nbytes)} of {format_size(history.limit)})")
        return "\n".join(lines)

    def do_set(self, arg: str) -> str:
        """set history SIZE
        Change how much history is kept, for example: set history 1GB. Plain `set` shows
        the settings."""
        words = arg.split()
        history = self.session.history
        if not words:
            return f"history {format_size(history.limit)} (using {format_size(history.nbytes)})"
        if words[0] != "history" or len(words) != 2:
            raise CommandError("set history SIZE, for example: set history 1GB")
        history.set_limit(parse_size(words[1]))
        return f"history limit is now {format_size(history.limit)}"

    def complete_set(self, text: str, line: str) -> list[str]:
        return ["history"]

    complete_info = complete_set

    def do_save(self, arg: str) -> str:
        """save FILE
        Write the recorded history to a trace file (`stepgrad replay FILE` opens it)."""
        if not arg:
            raise CommandError("save where? For example: save run.sgtrace")
        from stepgrad.trace import save  # (sg.trace is the recorder function)

        history = self.session.history
        save(history, arg)  # TraceError (a ValueError) is one clear line
        return (
            f"Saved events #{history.first}..#{history.last} to {arg} "
            f"('stepgrad replay {arg}' opens it)"
        )
