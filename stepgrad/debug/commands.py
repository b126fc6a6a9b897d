"""The command language of the debugger: one class for every front end.

Each command is a `do_<name>(arg)` method whose docstring is its help (first line: the
summary); aliases are attributes pointing at the same method (`do_s = do_step`), as in
pdb. `run(line)` executes one line and returns the text to show; it never raises and
never prints. The full-screen app binds keys to these command names; the REPL reads them.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug import format as fmt
from stepgrad.debug import rules
from stepgrad.debug.breakpoints import KEYWORDS, ExpressionError
from stepgrad.debug.chain import contributions, local_derivatives
from stepgrad.debug.expr import compile_expression, evaluate
from stepgrad.debug.history import format_size, parse_size
from stepgrad.debug.session import LineState, Session
from stepgrad.debug.source import locals_text, op_source, trace_op
from stepgrad.gradcheck import check_node
from stepgrad.ops.registry import names as op_names

#: Elements of a large input that `gradcheck` checks (chosen at random; all when fewer).
GRADCHECK_ELEMENTS = 2000
GRADCHECK_ALL_ELEMENTS = 300

#: Moves that an empty line repeats (pdb repeats the last command).
REPEATABLE = {"step", "next", "back", "continue", "finish", "rcontinue"}


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


class Commands:
    """The debugger's commands over a Session (and a lesson's Tutor, when there is one)."""

    def __init__(self, session: Session, tutor: Any = None) -> None:
        self.session = session
        self.tutor = tutor
        self.finished = False
        self._last_move = ""
        self._lines: list[Any] = []  # `step into` replay: LineStep list
        self._line_op: tuple[str, str] = ("", "")

    # -- running a line -----------------------------------------------------------------
    def run(self, line: str) -> str:
        """Run one command line; returns the text to show (never raises)."""
        line = line.strip()
        if not line:
            if not self._last_move:
                return ""
            line = self._last_move
        word, _, arg = line.partition(" ")
        if self.tutor is not None and _is_number(word):
            word, arg = "predict", line
        method = self._method(word)
        if method is None:
            return self._unknown(word)
        try:
            text = method(arg.strip())
        except (CommandError, ExpressionError, ValueError, KeyError, IndexError) as error:
            message = error.args[0] if error.args else str(error)
            return f"*** {message}"
        except Exception as error:  # noqa: BLE001 (one clear line, never a traceback)
            return f"*** {word}: {type(error).__name__}: {error}"
        if method.__name__[3:] in REPEATABLE:
            self._last_move = line
        return text

    def _method(self, word: str) -> Callable[[str], str] | None:
        if not word.isidentifier():
            return None
        method = getattr(self, f"do_{word}", None)
        if method is None and self.tutor is None and word in _LESSON_COMMANDS:
            return None
        return method

    def _unknown(self, word: str) -> str:
        close = difflib.get_close_matches(word, self.names(), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else "; 'help' lists the commands"
        return f"*** unknown command '{word}'{hint}"

    # -- introspection for front ends -----------------------------------------------------
    def infos(self) -> list[CommandInfo]:
        """Every command: name, aliases, one-line summary and full help."""
        by_function: dict[Any, list[str]] = {}
        for attr in dir(type(self)):
            if attr.startswith("do_"):
                by_function.setdefault(getattr(type(self), attr), []).append(attr[3:])
        infos = []
        for function, words in by_function.items():
            name = function.__name__[3:]
            if self.tutor is None and name in _LESSON_COMMANDS:
                continue
            doc = inspect.cleandoc(function.__doc__ or name)
            aliases = tuple(sorted(w for w in words if w != name))
            lines = doc.splitlines()
            description = " ".join(line.strip() for line in lines[1:]) or lines[0]
            summary = re.split(r"(?<=[.;])\s", description)[0].rstrip(".;")
            infos.append(CommandInfo(name, aliases, summary, doc, usage=lines[0]))
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
        """Completions for the last word of `line`."""
        words = line.split(" ")
        prefix = words[-1]
        if len(words) == 1:
            return [n for n in self.names() if n.startswith(prefix)]
        command = words[0]
        choices: list[str] = []
        if command in ("break", "b", "tbreak"):
            choices = list(KEYWORDS) + op_names() + self._node_names()
        elif command in ("print", "p", "pp", "display", "condition"):
            if "." in prefix:
                return self._complete_attribute(prefix)
            choices = sorted(k for k in self.session.namespace() if not k.startswith("_"))
        elif command in ("help", "h"):
            choices = self.names()
        elif command == "until":
            choices = ["iter", "epoch"]
        elif command == "step":
            choices = ["into"]
        elif command in ("gradcheck", "gc"):
            choices = ["all"]
        elif command == "set":
            choices = ["history"]
        elif command == "diagnose" and self.tutor is not None:
            done = " ".join(words[1:-1])
            options = [c for c in self.tutor.choices() if c.startswith(done)]
            choices = [c[len(done) :].strip().split(" ")[0] for c in options]
        return sorted({c for c in choices if c.startswith(prefix)})

    def _complete_attribute(self, prefix: str) -> list[str]:
        """`out.sh` -> `out.shape`: attributes of a plain name, index or attribute chain."""
        base, _, partial = prefix.rpartition(".")
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
        return [f"{base}.{a}" for a in sorted(names)]

    def _node_names(self) -> list[str]:
        seen: set[str] = set()
        history = self.session.history
        for _, event in history.numbered(max(history.first, len(history) - 5000)):
            if isinstance(event, ev.ForwardStep):
                seen.add(event.name)
                seen.update(n for n in event.input_names if "." in n)
                if event.module_path:
                    seen.add(event.module_path)
        return sorted(seen)

    # -- what to show after a move ---------------------------------------------------------
    def position(self) -> str:
        """The current position, the displays and any notes, as shown after a move."""
        session = self.session
        state = session.state
        if state.line is not None:
            return self._line_position()
        lines = []
        if state.reason and state.reason not in ("step", "next", "back"):
            lines.append(f"({state.reason})")
        lines.append(fmt.describe(state.event, state.cursor))
        if state.status == "crashed" and state.error:
            lines.append(state.error.rstrip())
        elif state.status in ("finished", "closed") and state.cursor == state.head:
            lines.append(
                f"The program has ended ({state.total} events recorded). 'back' walks "
                f"the history, 'restart' runs it again, 'quit' leaves."
            )
        for text in self.session.displays:
            lines.append(self._display_line(text))
        lines.extend(f"note: {m}" for m in session.take_messages())
        question = self._question()
        if question:
            lines.append(question)
        return "\n".join(lines)

    def _display_line(self, text: str) -> str:
        try:
            value = self.session.evaluate(text)
        except ExpressionError as error:
            return f"{text} = <{error}>"
        return f"{text} = {'(none at this step)' if value is None else _short(value)}"

    def _question(self) -> str:
        ask = getattr(self.tutor, "question", None)
        event = self.session.state.event
        return (ask(event) or "") if ask is not None and event is not None else ""

    def _move(self, rule: rules.Rule) -> str:
        """Make a move, then show where it arrived (the stop reason is part of it)."""
        self.session.move(rule)
        return self.position()

    def _require_live_or_history(self) -> None:
        if self.session.status == "not started":
            raise CommandError("the program has not started")

    # == moves ================================================================================
    def do_step(self, arg: str) -> str:
        """step [N] | step into
        Go to the next event (N events with a count). `step into` replays the current op's
        forward or backward line by line with its local variables; `step` then moves a line
        at a time, and after the last line you are back to stepping nodes."""
        if arg == "into":
            return self._step_into()
        if self._lines:
            return self._line_move(_count(arg))
        self._require_live_or_history()
        return self._move(rules.Step(_count(arg)))

    do_s = do_step

    def do_next(self, arg: str) -> str:
        """next [N]
        Go to the next event at the same depth or shallower: steps over a whole module
        (layer) instead of into its nodes."""
        if self._lines:
            return self._line_move(_count(arg))
        event = self.session.state.event
        depth = event.depth if event is not None else 0
        if isinstance(event, ev.ModuleEnter):
            depth = event.depth
        return self._move(rules.Next(depth, _count(arg)))

    do_n = do_next

    def do_continue(self, arg: str) -> str:
        """continue
        Run until a breakpoint, an interrupt (Ctrl-C) or the end of the program."""
        self._leave_lines()
        return self._move(rules.Rule())

    do_c = do_cont = do_continue

    def do_finish(self, arg: str) -> str:
        """finish
        Run to the end of the current module, or of the current forward or backward pass."""
        if self._leave_lines():
            return self.position()
        event = self.session.state.event
        if event is None:
            return self._move(rules.Step(1))
        depth = event.depth + 1 if isinstance(event, ev.ModuleEnter) else event.depth
        phase = "backward" if event.phase == "backward" else "forward"
        if event.phase not in ("forward", "backward"):
            return self._move(rules.Finish("forward", 0))
        return self._move(rules.Finish(phase, depth if phase == "forward" else 0))

    do_f = do_return = do_finish

    def do_until(self, arg: str) -> str:
        """until iter N | until epoch N
        Run until training iteration N (or epoch N) has finished. Plain `until` is `next`."""
        words = arg.split()
        if not words:
            return self.do_next("")
        if (
            len(words) != 2
            or words[0] not in ("iter", "iteration", "epoch")
            or not words[1].lstrip("-").isdigit()
        ):
            raise CommandError("until iter N or until epoch N, for example: until iter 10")
        unit = "epoch" if words[0] == "epoch" else "iter"
        return self._move(rules.Until(unit, int(words[1])))

    do_unt = do_until

    def do_back(self, arg: str) -> str:
        """back [N]
        Go one event back through the recorded history (N events with a count); nothing is
        re-run. In `step into`, one line back."""
        if self._lines:
            return self._line_move(-_count(arg))
        reason = self.session.back(_count(arg))
        text = self.position()
        return text if reason == "back" else f"{reason}\n{text}"

    do_r = do_back

    def do_rcontinue(self, arg: str) -> str:
        """rcontinue
        Go back through history to the previous event where a breakpoint matches."""
        self._leave_lines()
        reason = self.session.rcontinue()
        return self.position() if reason.startswith("back to") else f"{reason}\n{self.position()}"

    do_rc = do_rcontinue

    def do_goto(self, arg: str) -> str:
        """goto #K
        Go to event number K: straight there if it is recorded, by running on if it is ahead."""
        text = arg.lstrip("#").strip()
        if not text.isdigit():
            raise CommandError("goto needs an event number, for example: goto #42")
        self._leave_lines()
        reason = self.session.goto(int(text))
        return (
            self.position()
            if reason.startswith(("at #", "arrived"))
            else f"{reason}\n{self.position()}"
        )

    do_j = do_jump = do_goto

    def do_restart(self, arg: str) -> str:
        """restart
        Run the program again from the start; breakpoints and displays are kept."""
        self._leave_lines()
        self.session.restart()
        return "Restarted.\n" + self.position()

    do_run = do_restart

    def do_interrupt(self, arg: str) -> str:
        """interrupt
        Pause the running program at its next event (what Ctrl-C does)."""
        self.session.interrupt()
        return "The program will pause at its next event."

    # == breakpoints ==========================================================================
    def do_break(self, arg: str) -> str:
        """break [forward|backward] TARGET [if COND] | break CONDITION
        Set a breakpoint; with no argument, list them. Forms:
          break relu                 every relu node (forward and backward)
          break backward             every node's backward step (or: break forward)
          break backward conv2d      only backward steps of conv2d
          break fc2                  a node or module by name (or a parameter: fc1.weight)
          break nan | break inf      a NaN or Inf in what a node computed
          break grad.norm > 1e3      a condition over the node's tensors
          break dead relu > 0.5      more than half of a ReLU's outputs are zero
          break saturated tanh > 0.9 most tanh outputs stuck near -1 or 1
          break if out.std() < 1e-6  any expression (out, ins, grad, grads, node, np)
          break relu if out.mean() > 1"""
        if not arg:
            return self._list_breakpoints()
        bp = self.session.add_breakpoint(arg)
        return f"Breakpoint {bp.number}: {bp.spec}"

    do_b = do_break

    def do_tbreak(self, arg: str) -> str:
        """tbreak SPEC
        A temporary breakpoint: removed after its first stop. Same forms as `break`."""
        if not arg:
            raise CommandError("tbreak needs a target, for example: tbreak relu")
        bp = self.session.add_breakpoint(arg, temporary=True)
        return f"Temporary breakpoint {bp.number}: {bp.spec}"

    def _list_breakpoints(self) -> str:
        if not self.session.breakpoints:
            return "No breakpoints. 'help break' shows how to set one."
        return "Num  Where\n" + "\n".join(bp.describe() for bp in self.session.breakpoints)

    def _numbers(self, arg: str, command: str) -> list[Any]:
        words = arg.split()
        if not all(w.isdigit() for w in words):
            raise CommandError(f"{command} takes breakpoint numbers, for example: {command} 1 2")
        return [self.session.find_breakpoint(int(w)) for w in words]

    def do_clear(self, arg: str) -> str:
        """clear [N ...]
        Delete breakpoints by number; with no number, delete all of them."""
        if not arg:
            count = len(self.session.breakpoints)
            self.session.breakpoints.clear()
            return f"Deleted {count} breakpoint{'s' * (count != 1)}."
        found = self._numbers(arg, "clear")
        for bp in found:
            self.session.breakpoints.remove(bp)
        return "\n".join(f"Deleted breakpoint {bp.number}: {bp.spec}" for bp in found)

    do_cl = do_delete = do_clear

    def do_disable(self, arg: str) -> str:
        """disable N [N ...]
        Keep breakpoints but stop them from stopping."""
        found = self._numbers(arg, "disable") if arg else list(self.session.breakpoints)
        for bp in found:
            bp.enabled = False
        return "\n".join(f"Disabled breakpoint {bp.number}" for bp in found) or "No breakpoints."

    def do_enable(self, arg: str) -> str:
        """enable N [N ...]
        Turn disabled breakpoints back on."""
        found = self._numbers(arg, "enable") if arg else list(self.session.breakpoints)
        for bp in found:
            bp.enabled, bp.broken = True, None
        return "\n".join(f"Enabled breakpoint {bp.number}" for bp in found) or "No breakpoints."

    def do_condition(self, arg: str) -> str:
        """condition N [EXPR]
        Stop at breakpoint N only when EXPR is true; with no EXPR, always stop."""
        number, _, text = arg.partition(" ")
        bp = self._numbers(number, "condition")[0] if number else None
        if bp is None:
            raise CommandError("condition N EXPR, for example: condition 1 out.mean() > 0")
        if not text.strip():
            bp.condition, bp.condition_code = None, None
            return f"Breakpoint {bp.number} is now unconditional."
        bp.condition, bp.condition_code = text.strip(), compile_expression(text)
        return f"Breakpoint {bp.number} stops only if {bp.condition}"

    def do_ignore(self, arg: str) -> str:
        """ignore N COUNT
        Pass breakpoint N the next COUNT times it is hit."""
        words = arg.split()
        if len(words) != 2 or not words[1].isdigit():
            raise CommandError("ignore N COUNT, for example: ignore 1 5")
        bp = self._numbers(words[0], "ignore")[0]
        bp.ignore = int(words[1])
        return f"Breakpoint {bp.number} will be passed the next {bp.ignore} times."

    # == inspection ===========================================================================
    def do_print(self, arg: str) -> str:
        """print EXPR
        Evaluate an expression over the node's tensors and the program's variables:
        out (output), ins (inputs), grad (upstream gradient), grads (sent gradients),
        node (op, name, module), np, and the program's own names."""
        if not arg:
            raise CommandError("print what? For example: p out.shape  or  p grad.norm")
        value = self._evaluate(arg)
        return _short(value)

    do_p = do_print

    def do_pp(self, arg: str) -> str:
        """pp EXPR
        Print an expression in full (whole arrays) with its statistics."""
        if not arg:
            raise CommandError("pp what? For example: pp out")
        value = self._evaluate(arg)
        if isinstance(value, np.ndarray):
            with np.printoptions(threshold=100_000, linewidth=120, precision=5, suppress=True):
                return f"{fmt.stats_line(value)}\n{np.array2string(value)}"
        import pprint

        return pprint.pformat(value, width=100)

    def _evaluate(self, text: str) -> Any:
        if self._lines:
            namespace = {"np": np, **self._lines[self._position()].locals}
            return evaluate(compile_expression(text), namespace)
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
                f"ins, grad and grads belong to "
                f"a node's forward or backward step"
            )
        return f"{message} ({why})"

    def do_info(self, arg: str) -> str:
        """info
        The current node: op, shapes, dtype and statistics (mean, std, min, max, norm,
        zeros, NaN/Inf) of its output, inputs and gradients."""
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

    def do_where(self, arg: str) -> str:
        """where
        Where the program is: module path, iteration, phase and your source line."""
        if self._lines:
            op, phase = self._line_op
            return f"in {op}.{phase}, line {self._lines[self._position()].lineno} (step into)"
        state = self.session.state
        return fmt.where(state.event, state.cursor, state.iteration, state.epoch)

    do_w = do_bt = do_where

    def do_list(self, arg: str) -> str:
        """list
        The source of the current op's forward or backward, and the line of your program
        that made the node. In `step into`, the current line is marked."""
        if self._lines:
            op, phase = self._line_op
            return _numbered(op_source(op, phase), self._lines[self._position()].lineno)
        event = self.session.state.event
        if not isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
            return "list shows an op's code: go to a forward or backward step first"
        text = _numbered(op_source(event.op, event.phase), None)
        return f"{text}\nmade at {fmt.source_line(event.file, event.line)}"

    do_l = do_ll = do_list

    def do_graph(self, arg: str) -> str:
        """graph
        The nodes around the current one: what feeds it, what it feeds, with shapes and
        gradient norms."""
        state = self.session.state
        node_id = getattr(state.event, "node_id", None)
        if node_id is None:
            return "graph shows a node's neighbours: go to a forward or backward step first"
        history = self.session.history
        forward = history.forward_of(node_id)
        if forward is None:
            return "the forward step of this node was dropped from history"
        lines = ["inputs:"]
        for name, input_id, array in zip(forward.input_names, forward.input_ids, forward.inputs):
            producer = history.forward_of(input_id)
            origin = f"made by {producer.op}" if producer is not None else "leaf"
            lines.append(
                f"  {name:<18} {fmt.shape_of(array):<14} {origin}{_grad_norm(history, input_id)}"
            )
        lines.append(
            f"node:\n  {forward.name:<18} {fmt.shape_of(forward.output):<14} "
            f"{forward.op}{_grad_norm(history, node_id)}   <- here"
        )
        users = _users(history, node_id, history.forward_number(node_id) or state.cursor)
        lines.append("used by:" if users else "used by: nothing yet (an output, or the loss)")
        for user in users:
            lines.append(
                f"  {user.name:<18} {fmt.shape_of(user.output):<14} {user.op}"
                f"{_grad_norm(history, user.node_id)}"
            )
        return "\n".join(lines)

    def do_backprop(self, arg: str) -> str:
        """backprop
        At a backward step: upstream grad x local derivative = sent grad, with numbers;
        which broadcast axes were summed; contributions added to a value used twice."""
        state = self.session.state
        event = state.event
        if not isinstance(event, ev.BackwardStep):
            return "backprop explains a backward step: step or continue to one first"
        forward = self.session.history.forward_of(event.node_id)
        return fmt.backprop(
            event,
            local_derivatives(forward),
            contributions(self.session.history, state.cursor, event),
        )

    do_why = do_backprop

    def do_gradcheck(self, arg: str) -> str:
        """gradcheck [all]
        Check the current node's backward by finite differences on its recorded inputs,
        and name the worst element. `gradcheck all` checks one node of every op recorded
        around here (the latest of each), to find which op's backward is wrong."""
        if arg == "all":
            return self._gradcheck_all()
        if arg:
            raise CommandError("gradcheck takes no argument, or `all`")
        state = self.session.state
        event = state.event
        node_id = getattr(event, "node_id", None)
        forward = self.session.history.forward_of(node_id) if node_id is not None else None
        if forward is None:
            return "gradcheck checks a node: go to one of its forward or backward steps first"
        upstream = event.upstream if isinstance(event, ev.BackwardStep) else None
        result = check_node(
            forward.op, forward.inputs, forward.attrs, upstream, max_elements=GRADCHECK_ELEMENTS
        )
        verdict = "ok" if result.ok else "MISMATCH"
        return f"gradcheck {forward.name} ({forward.op}): {verdict}\n{result.message}"

    def _gradcheck_all(self) -> str:
        history, cursor = self.session.history, max(self.session.state.cursor, 0)
        latest: dict[str, ev.ForwardStep] = {}
        for number in range(
            min(cursor + 1, len(history)) - 1, max(history.first, cursor - 20_000) - 1, -1
        ):
            event = history[number]
            if isinstance(event, ev.ForwardStep) and event.op not in latest:
                latest[event.op] = event
        if not latest:
            return "gradcheck all: no forward step recorded yet; step or continue first"
        rows = ["gradcheck all: the latest node of each op, on its recorded inputs"]
        for op in sorted(latest):
            forward = latest[op]
            backward = history.backward_of(forward.node_id)
            upstream = backward.upstream if backward is not None else None
            result = check_node(
                op, forward.inputs, forward.attrs, upstream, max_elements=GRADCHECK_ALL_ELEMENTS
            )
            verdict = "ok" if result.ok else "MISMATCH"
            detail = "" if result.ok else "  " + result.message.splitlines()[0]
            rows.append(f"  {verdict:<9} {forward.name:<18} {op}{detail}")
        return "\n".join(rows)

    do_gc = do_gradcheck

    def do_display(self, arg: str) -> str:
        """display [EXPR]
        Show EXPR at every stop; with no argument, list the displays."""
        if not arg:
            if not self.session.displays:
                return "No displays. For example: display grad.norm"
            return "\n".join(
                f"{i + 1}: {self._display_line(t)}" for i, t in enumerate(self.session.displays)
            )
        compile_expression(arg)
        self.session.displays.append(arg)
        return f"{len(self.session.displays)}: {self._display_line(arg)}"

    def do_undisplay(self, arg: str) -> str:
        """undisplay [N | EXPR]
        Stop showing a display (by number or text); with no argument, all of them."""
        displays = self.session.displays
        if not arg:
            displays.clear()
            return "Removed every display."
        if arg.isdigit() and 1 <= int(arg) <= len(displays):
            return f"Removed display {displays.pop(int(arg) - 1)}"
        if arg in displays:
            displays.remove(arg)
            return f"Removed display {arg}"
        raise CommandError(f"no display {arg!r}; 'display' lists them")

    def do_history(self, arg: str) -> str:
        """history [N]
        The N events (default 10) around the current one."""
        count = _count(arg, default=10)
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

    do_hist = do_history

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

    # == step into =============================================================================
    def _step_into(self) -> str:
        event = self.session.state.event
        if not isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
            return "step into replays an op: go to a forward or backward step first"
        forward = self.session.history.forward_of(event.node_id)
        if forward is None:
            return "the forward step of this node was dropped from history"
        upstream = event.upstream if isinstance(event, ev.BackwardStep) else None
        steps, _ = trace_op(event.op, event.phase, forward.inputs, forward.attrs, upstream)
        if not steps:
            return f"{event.op}.{event.phase} has no Python lines to step through"
        self._lines, self._line_op = steps, (event.op, event.phase)
        self._set_line(0)
        return (
            f"Stepping into {event.op}.{event.phase} ({len(steps)} lines; 'finish' returns "
            f"to nodes)\n" + self._line_position()
        )

    def _position(self) -> int:
        line = self.session.line
        return 0 if line is None else line.position

    def _set_line(self, position: int) -> None:
        step = self._lines[position]
        op, phase = self._line_op
        self.session.line = LineState(
            op, phase, step.lineno, position, len(self._lines), locals_text(step.locals)
        )

    def _line_move(self, delta: int) -> str:
        position = self._position() + delta
        if position >= len(self._lines):
            self._leave_lines()
            return "Back to stepping nodes.\n" + self.position()
        self._set_line(max(0, position))
        return self._line_position()

    def _leave_lines(self) -> bool:
        was = bool(self._lines)
        self._lines, self.session.line = [], None
        return was

    def _line_position(self) -> str:
        line = self.session.line
        assert line is not None
        lines, first, _ = op_source(line.op, line.phase)
        index = line.lineno - first
        code = lines[index].rstrip() if 0 <= index < len(lines) else ""
        return (
            f"{line.op}.{line.phase} line {line.lineno} ({line.position + 1}/{line.steps}): "
            f"{code.strip()}\n{line.locals_text}"
        )

    # == lesson ================================================================================
    def _tutor(self) -> Any:
        if self.tutor is None:
            raise CommandError("not in a lesson: run `stepgrad lesson N` to start one")
        return self.tutor

    def do_lesson(self, arg: str) -> str:
        """lesson
        Show the lesson's text again."""
        return self._tutor().text()

    def do_hint(self, arg: str) -> str:
        """hint
        The next hint: each one is more specific than the last."""
        return self._tutor().hint()

    def do_diagnose(self, arg: str) -> str:
        """diagnose ANSWER
        Say what the bug is: an op and phase (diagnose relu backward), a node, or a
        training-loop fault. Tab completion offers the choices."""
        if not arg:
            raise CommandError("diagnose what? For example: diagnose relu backward")
        solved, message = self._tutor().diagnose(arg)
        return message

    def do_reveal(self, arg: str) -> str:
        """reveal
        Give up: show what the bug is and how to fix it."""
        return self._tutor().reveal()

    def do_fixed(self, arg: str) -> str:
        """fixed
        Run the lesson again without the bug and compare the healthy curve with the buggy one."""
        return self._tutor().fixed()

    def do_predict(self, arg: str) -> str:
        """predict NUMBER
        Answer the lesson's question: the gradient you expect at this step."""
        tutor = self._tutor()
        try:
            value = float(arg)
        except ValueError:
            raise CommandError(
                f"predict takes a number, for example: predict 0.5 (got {arg!r})"
            ) from None
        return tutor.answer(self.session.state.event, value)

    # == help and leaving ======================================================================
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

    do_h = do_help

    def do_quit(self, arg: str) -> str:
        """quit
        Stop the program and leave the debugger."""
        self.session.close()
        self.finished = True
        return "Bye."

    do_q = do_exit = do_quit


_LESSON_COMMANDS = {"lesson", "hint", "diagnose", "reveal", "fixed", "predict"}


def _count(arg: str, default: int = 1) -> int:
    if not arg:
        return default
    if not arg.isdigit() or int(arg) < 1:
        raise CommandError(f"expected a positive count, got {arg!r}")
    return int(arg)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _short(value: Any) -> str:
    if isinstance(value, np.generic):
        return str(value)
    if isinstance(value, np.ndarray):
        if value.size > 12:
            return f"{fmt.stats_line(value)}\n{fmt.array_text(value)}"
        return fmt.array_text(value)
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        return "\n".join(
            f"[{i}] {fmt.stats_line(v) if v.size > 12 else fmt.array_text(v)}"
            for i, v in enumerate(value)
        )
    text = repr(value)
    return text if len(text) < 2000 else text[:2000] + " ..."


def _numbered(source: tuple[list[str], int, str], current: int | None) -> str:
    lines, first, _ = source
    out = []
    for offset, text in enumerate(lines):
        number = first + offset
        mark = "->" if number == current else "  "
        out.append(f"{number:>4} {mark} {text.rstrip()}")
    return "\n".join(out)


def _grad_norm(history: Any, node_id: int) -> str:
    step = history.backward_of(node_id)
    if step is None:
        return ""
    return f"   |grad| {np.linalg.norm(step.upstream):.3g}"


def _users(history: Any, node_id: int, start: int) -> list[ev.ForwardStep]:
    users = []
    for _, event in history.numbered(start + 1, start + 3000):
        if isinstance(event, ev.BackwardBegin):
            break
        if isinstance(event, ev.ForwardStep) and node_id in event.input_ids:
            users.append(event)
    return users
