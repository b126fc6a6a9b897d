"""The full-screen debugger: a Textual app over one Session and its Commands.

    from stepgrad.debug import Session, Commands
    from stepgrad.tui.app import run_app
    session = Session.for_function(train)
    session.start()
    run_app(session, Commands(session))

This module composes the screen and binds keys to command names; the work lives in rooms:
- `runner.py`: the command queue and the one thread worker that runs commands in order
  and works out what to show (`views.py`: the tape's pass, the inspector's node);
- `messages.py`: what the worker, the program's thread and the output capture post;
- `quitting.py`: asking before quitting and stopping the program;
- `output.py`: the program's prints, shown in the log and repeated on the terminal after;
- `gc_tuning.py`: garbage collection when the user pauses, not after a key.
The handlers here only push attributes down into widgets. Layout lives in app.tcss.
"""

from __future__ import annotations

import sys
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import TabbedContent, TabPane
from textual.worker import get_current_worker

from stepgrad.debug.commands import LESSON_COMMANDS
from stepgrad.tui import messages
from stepgrad.tui.gc_tuning import IdleCollector
from stepgrad.tui.output import ProgramOutput
from stepgrad.tui.palette import CommandProvider
from stepgrad.tui.quitting import QuitDone, Quitter
from stepgrad.tui.runner import CommandRunner, TerminalLender
from stepgrad.tui.screens.help_screen import HelpScreen
from stepgrad.tui.screens.quit_screen import QuitScreen
from stepgrad.tui.screens.too_small_screen import TooSmallScreen, too_small
from stepgrad.tui.screenshots import ScreenshotsInDataDir
from stepgrad.tui.widgets.breakpoint_list import BreakpointList
from stepgrad.tui.widgets.command_line import CommandLine
from stepgrad.tui.widgets.command_log import CommandLog
from stepgrad.tui.widgets.graph_view import GraphView
from stepgrad.tui.widgets.inspector import Inspector
from stepgrad.tui.widgets.key_footer import KeyFooter
from stepgrad.tui.widgets.lesson_pane import LessonPane
from stepgrad.tui.widgets.source_pane import SourcePane
from stepgrad.tui.widgets.status_line import StatusLine
from stepgrad.tui.widgets.tape import Tape
from stepgrad.tui.widgets.tape_filter import TapeFilter
from stepgrad.tui.widgets.training_pane import TrainingPane

#: Actions that still work under the "too small" notice or the quit question.
ALLOWED_UNDER_A_NOTICE = frozenset({"quit", "interrupt"})


class StepgradApp(ScreenshotsInDataDir, App[int]):
    """The debugger UI. `session` is a stepgrad.debug.Session, `commands` its Commands."""

    CSS_PATH = "app.tcss"
    TITLE = "stepgrad"
    COMMANDS = App.COMMANDS | {CommandProvider}
    BINDINGS = [
        Binding("s", "command('step')", "Step"),
        Binding("n", "command('next')", "Next"),
        Binding("c", "command('continue')", "Cont"),
        Binding("f", "command('finish')", "Finish"),
        Binding("r,left", "command('back')", "Back", key_display="r/←"),
        Binding("colon", "focus_command", "Cmd", key_display=":"),
        Binding("b", "command('break')", "Break"),
        Binding("i", "command('step into')", "Into"),
        Binding("g", "command('gradcheck')", "Gradchk"),
        Binding("w", "command('where')", "Where"),
        Binding("p,ctrl+c", "command('interrupt')", "Pause", key_display="p", priority=True),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "command('quit')", "Quit"),
        Binding("o", "toggle_log", "Log", show=False),
        Binding("v", "toggle_graph", "Graph", show=False),
        Binding("t", "toggle_side", "Panels", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
    ]

    def __init__(self, session: Any, commands: Any, lesson: Any = None) -> None:
        super().__init__()
        self.session, self.commands, self.lesson = session, commands, lesson
        self.state: Any = None
        self.runner = CommandRunner(session, commands, self.post_message)
        commands.progress = lambda line: self.post_message(messages.CommandProgress(line))
        commands.terminal = TerminalLender(self)       # `fix` suspends the app for $EDITOR
        self.quitter = Quitter(self, session, commands)
        self.output = ProgramOutput(lambda: self.post_message(messages.OutputWaiting()))
        self._collector = IdleCollector(self)
        self._unsubscribe: Any = None
        self._focus_before_command: Any = None
        self._graph: Any = None       # the Graph view's part of the pass, from the worker

    @property
    def busy(self) -> int:
        """Commands queued or running."""
        return self.runner.busy

    @property
    def is_idle(self) -> bool:
        """Nothing queued or running, and the inspector and source show what was asked."""
        return (self.runner.pending == 0 and self.query_one(Inspector).is_drawn
                and self.query_one(SourcePane).is_drawn)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="tape-column"):
                yield TapeFilter(id="tape-filter")
                yield Tape(id="tape")
            with Vertical(id="center"):
                yield Inspector(id="inspector")
                yield GraphView(id="graph")
                yield SourcePane(id="source")
            with TabbedContent(id="side"):
                if self.lesson is not None:
                    with TabPane("lesson", id="side-lesson"):
                        yield LessonPane(self.lesson, tutor=getattr(self.commands, "tutor", None),
                                         id="lesson")
                with TabPane("training", id="side-training"):
                    yield TrainingPane(id="training")
                with TabPane("breaks", id="side-breaks"):
                    yield BreakpointList(id="breakpoints")
        yield CommandLog(id="log")
        yield CommandLine(self.commands.complete, id="command")
        yield StatusLine(id="status")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        for widget, title in (("#tape", "tape"), ("#inspector", "inspector"),
                              ("#source", "source"), ("#log", "log"), ("#graph", "graph")):
            self.query_one(widget).border_title = title
        self._unsubscribe = self.session.add_listener(
            lambda state: self.post_message(messages.StateChanged(state)))
        self.output.install()
        self._serve_commands()
        self.runner.start()
        self.query_one(Tape).focus()
        self._fit(self.size.width, self.size.height)
        self._collector.start()

    def on_unmount(self) -> None:
        self.runner.stop()
        self.output.uninstall()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._collector.stop()

    @work(thread=True, name="commands", group="commands")
    def _serve_commands(self) -> None:
        worker = get_current_worker()
        self.runner.serve(lambda: worker.is_cancelled)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """More panes as the terminal grows; a notice instead of a crash when too small
        (the notice dismisses itself when the terminal grows back)."""
        main = self.screen_stack[0]
        shown = any(isinstance(screen, TooSmallScreen) for screen in self.screen_stack)
        if too_small(width, height) and not shown and not self.quitter.quitting:
            self.push_screen(TooSmallScreen())
        main.set_class(width >= 120, "-wide")
        main.set_class(width >= 170, "-huge")
        main.set_class(height >= 36, "-tall")
        main.set_class(height < 30, "-short")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the "too small" notice or the quit question shows, only quitting and
        pausing work: a key must not move a program the screen does not show."""
        if isinstance(self.screen, (TooSmallScreen, QuitScreen)):
            name = parameters[0] if action == "command" and parameters else action
            return name in ALLOWED_UNDER_A_NOTICE
        return True

    # ------------------------------------------------------------------ commands
    def action_command(self, name: str) -> None:
        """Every command key comes here with the command's name."""
        if name == "break":
            self.submit_command(self._toggle_breakpoint_line())
        else:
            self.submit_command(name)

    def submit_command(self, line: str) -> None:
        """Queue a command line; it runs after those already waiting."""
        name = self.commands.resolve(line.strip().split(" ")[0])     # aliases: q, exit, ...
        if name == "quit":
            self.quitter.request()
        elif name == "interrupt":
            self.session.interrupt()
            self.query_one(CommandLog).add_note("pause requested: the program stops at its "
                                                "next event")
        elif not self.quitter.quitting:
            self.runner.submit(line)
            if self.state is not None:
                self.query_one(StatusLine).show(self.state, queued=self.busy)

    async def action_quit(self) -> None:
        """Ctrl-Q and the palette's Quit: the same as `q` (asks while the program lives)."""
        self.quitter.request()

    def action_command_palette(self) -> None:
        """Ctrl-P, except while quitting (or asking to), or while the terminal is too small."""
        if not self.quitter.quitting and not isinstance(self.screen, (TooSmallScreen,
                                                                      QuitScreen)):
            super().action_command_palette()

    def prefill_command(self, text: str) -> None:
        command = self.query_one(CommandLine)
        command.value = text
        command.cursor_position = len(text)
        self.action_focus_command()

    def _toggle_breakpoint_line(self) -> str:
        """`b`: break at the selected node, or clear the breakpoint already there."""
        row = self.query_one(Tape).selected_row
        event = self.state.event if self.state is not None else None
        name = row.label if row is not None and row.kind == "node" else getattr(event, "name", "")
        if not name:
            return "break"
        for bp in (self.state.breakpoints if self.state is not None else ()):
            if bp.spec == name:
                return f"clear {bp.number}"
        return f"break {name}"

    # ------------------------------------------------------------------ results arrive
    def on_command_done(self, message: messages.CommandDone) -> None:
        self.runner.done(command=True)
        self._collector.after_command()
        log = self.query_one(CommandLog)
        log.add_command(message.line, message.output)
        name = self.commands.resolve(message.line.split(" ")[0])
        if self.lesson is not None and name in LESSON_COMMANDS:
            self.query_one(LessonPane).add_note(message.line, message.output)
        if self.busy == 0:
            self._show(message.view)
        else:
            self._show_progress(message.view.state)

    def on_view_ready(self, message: messages.ViewReady) -> None:
        self.runner.done(command=False)
        if self.busy == 0:
            self._show(message.view)

    def on_inspected(self, message: messages.Inspected) -> None:
        self.runner.done(command=False)
        if message.selection is not None:
            self._inspect(message.selection)

    def on_state_changed(self, message: messages.StateChanged) -> None:
        state = message.state
        if self.busy or state.status == "running":
            self._show_progress(state)
        else:          # stopped or ended with no command of ours: work out the view again
            self.runner.refresh()

    def on_quit_done(self, message: QuitDone) -> None:
        self.exit(message.status)

    def on_command_progress(self, message: messages.CommandProgress) -> None:
        self.query_one(CommandLog).add_note(f"... {message.line}", style="dim")

    def on_output_waiting(self, message: messages.OutputWaiting) -> None:
        log = self.query_one(CommandLog)
        for text, stream in self.output.take():
            log.add_output(text, stream)

    def _show_progress(self, state: Any) -> None:
        """While the program runs: status and training only (the tape waits for a stop)."""
        self.query_one(StatusLine).show(state, queued=self.busy)
        self.query_one(TrainingPane).show(state)

    def _show(self, view: messages.View) -> None:
        """Push a paused (or finished) view down into every widget."""
        state = self.state = view.state
        self.screen_stack[0].set_class(state.line is not None, "-lines")
        self._show_progress(state)
        self.query_one(BreakpointList).show(state.breakpoints, state.displays)
        tape = self.query_one(Tape)
        tape.show(view.model, state.cursor)
        self._graph = view.graph
        if self.screen_stack[0].has_class("-graph"):
            self.query_one(GraphView).show(view.graph, getattr(state.event, "node_id", None))
        if view.model is None:
            return
        if tape.selected is None and view.selection is not None:
            self._inspect(view.selection)
        else:
            self.query_one(SourcePane).show(state.event, state.line, self._dark)

    def _inspect(self, selection: Any) -> None:
        self.runner.views.look = (self.query_one(Inspector).show(selection), self._dark)
        line = self.state.line if selection.current and self.state is not None else None
        self.query_one(SourcePane).show(selection.view.event, line, self._dark)

    @on(Tape.NodeSelected)
    @on(GraphView.NodeSelected)
    def _node_selected(self, message: Tape.NodeSelected | GraphView.NodeSelected) -> None:
        if self.state is not None and self.state.status != "running":
            self.runner.inspect(message.index, current=message.index == self.state.cursor)
            self.query_one(StatusLine).show(self.state, self.busy, selected=message.index)

    @on(CommandLine.Entered)
    def _command_entered(self, message: CommandLine.Entered) -> None:
        self.submit_command(message.line)
        self._return_focus()

    @on(CommandLine.Left)
    def _command_left(self) -> None:
        self._return_focus()

    @on(CommandLine.Refused)
    def _command_refused(self, message: CommandLine.Refused) -> None:
        self.query_one(CommandLog).add_note(message.reason, style="yellow")

    # ------------------------------------------------------------------ UI-only actions
    @property
    def _dark(self) -> bool:
        return self.current_theme.dark

    def action_help(self) -> None:
        if self.quitter.quitting:
            return
        keys = [(b.key_display or b.key, f"{b.description}: {b.action}")
                for b in self.BINDINGS if isinstance(b, Binding)]
        self.push_screen(HelpScreen(self.commands.infos(), keys))

    def action_filter(self) -> None:
        self.query_one(TapeFilter).open()

    @on(TapeFilter.Changed, "TapeFilter")
    def _filter_changed(self, message: TapeFilter.Changed) -> None:
        self.query_one(Tape).set_filter(message.value)

    def action_focus_command(self) -> None:
        """`:` goes to the command line; Enter or Escape there comes back here."""
        command = self.query_one(CommandLine)
        if self.focused is not command:
            self._focus_before_command = self.focused
        # At once, not with Widget.focus (which waits its turn in the message queue): the
        # letters typed right after `:` are already queued behind this key.
        self.screen_stack[0].set_focus(command)

    def _return_focus(self) -> None:
        target, self._focus_before_command = self._focus_before_command, None
        if target is None or not target.is_attached or not target.can_focus:
            target = self.query_one(Tape)
        self.screen_stack[0].set_focus(target)     # at once: the next key is already queued

    def action_toggle_log(self) -> None:
        """`o`: the log (the commands' and the program's output) grows to half the screen
        and takes the focus, so the arrow keys scroll it; `o` again shrinks it back."""
        main = self.screen_stack[0]
        main.toggle_class("-big-log")
        log = self.query_one(CommandLog)
        if main.has_class("-big-log"):
            log.focus()
        elif log.has_focus:
            self.query_one(Tape).focus()

    def action_toggle_graph(self) -> None:
        """`v`: the Graph view takes the inspector's place (and `v` gives it back)."""
        main = self.screen_stack[0]
        main.toggle_class("-graph")
        if main.has_class("-graph"):
            event = None if self.state is None else self.state.event
            self.query_one(GraphView).show(self._graph, getattr(event, "node_id", None))

    def action_toggle_side(self) -> None:
        self.screen_stack[0].toggle_class("-side")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self._dark else "textual-dark"
        self.call_after_refresh(self.query_one(Tape).restyle)  # once the new colours apply
        if self.state is not None:
            self.query_one(SourcePane).show(self.state.event, self.state.line, self._dark)


def run_app(session: Any, commands: Any, lesson: Any = None, **run_options: Any) -> int:
    """Run the full-screen debugger until the user quits; returns an exit status (non-zero
    when the app crashed). What the program printed is printed again on the terminal.
    `run_options` go to Textual's `App.run` (`headless=True`, `size=...` for tests)."""
    app = StepgradApp(session, commands, lesson=lesson)
    result = app.run(**run_options)
    printed = app.output.text()
    if app.output.cut:
        sys.stdout.write(f"[stepgrad: the program's first {app.output.cut:,} characters of "
                         f"output are not repeated here]\n")
    if printed:
        sys.stdout.write(printed if printed.endswith("\n") else printed + "\n")
        sys.stdout.flush()
    return app.return_code or int(result or 0)
