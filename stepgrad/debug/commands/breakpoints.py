"""Breakpoints: break, tbreak, clear, disable, enable, condition, ignore (pdb's names).

What a breakpoint spec means is read in stepgrad/debug/breakpoints.py, and where it stops
is decided by one matcher per kind (stepgrad/debug/matchers.py); these commands only keep
the session's list.
"""

from __future__ import annotations

from stepgrad import events as ev
from stepgrad.debug.breakpoints import KEYWORDS, Breakpoint, optimizer_names
from stepgrad.debug.commands.dispatch import CommandError, Dispatcher, aliases
from stepgrad.debug.expr import compile_expression
from stepgrad.ops.registry import names as op_names


class BreakpointCommands(Dispatcher):
    """Setting, listing and changing breakpoints."""

    @aliases("b")
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
          break relu if out.mean() > 1
          break step | break Adam    an optimizer step (any, or one optimizer class)
          break zero_grad            also: break iteration, break epoch
          break train.py:12          the first node made by a line (break 12: this file)
        A name nothing has yet is kept pending (said so); a near miss is refused."""
        if not arg:
            return self._list_breakpoints()
        bp = self.session.add_breakpoint(arg)
        return f"Breakpoint {bp.number}: {bp.spec}{_pending(bp)}"

    def complete_break(self, text: str, line: str) -> list[str]:
        return [*KEYWORDS, *optimizer_names(), *op_names(), *self._node_names()]

    def do_tbreak(self, arg: str) -> str:
        """tbreak SPEC
        A temporary breakpoint: removed after its first stop. Same forms as `break`."""
        if not arg:
            raise CommandError("tbreak needs a target, for example: tbreak relu")
        bp = self.session.add_breakpoint(arg, temporary=True)
        return f"Temporary breakpoint {bp.number}: {bp.spec}{_pending(bp)}"

    complete_tbreak = complete_break

    def _node_names(self) -> list[str]:
        """Names of recent nodes, their named inputs and their modules."""
        seen: set[str] = set()
        history = self.session.history
        for _, event in history.numbered(max(history.first, len(history) - 5000)):
            if isinstance(event, ev.ForwardStep):
                seen.add(event.name)
                seen.update(n for n in event.input_names if "." in n)
                if event.module_path:
                    seen.add(event.module_path)
        return sorted(seen)

    def _list_breakpoints(self) -> str:
        if not self.session.breakpoints:
            return "No breakpoints. 'help break' shows how to set one."
        return "Num  Where\n" + "\n".join(bp.describe() for bp in self.session.breakpoints)

    def _numbers(self, arg: str, command: str) -> list[Breakpoint]:
        words = arg.split()
        if not all(w.isascii() and w.isdigit() for w in words):
            raise CommandError(f"{command} takes breakpoint numbers, for example: {command} 1 2")
        return [self.session.find_breakpoint(int(w)) for w in words]

    @aliases("cl", "delete")
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

    def complete_condition(self, text: str, line: str) -> list[str]:
        return self._complete_expression(text)

    def do_ignore(self, arg: str) -> str:
        """ignore N COUNT
        Pass breakpoint N the next COUNT times it is hit."""
        words = arg.split()
        if len(words) != 2 or not (words[1].isascii() and words[1].isdigit()):
            raise CommandError("ignore N COUNT, for example: ignore 1 5")
        bp = self._numbers(words[0], "ignore")[0]
        bp.ignore = int(words[1])
        return f"Breakpoint {bp.number} will be passed the next {bp.ignore} times."


def _pending(bp: Breakpoint) -> str:
    return f"\n  (pending: {bp.pending})" if bp.pending else ""
