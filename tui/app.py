"""The full-screen debugger: a Textual app over one Session and its Commands.

    from stepgrad.debug import Session, Commands
    from stepgrad.tui.app import run_app
    session = Session.for_function(train)
    session.start()
    run_app(session, Commands(session))

Who does what:
- the program runs in the session's own thread;
- commands (from keys, the command line or the palette) wait in a queue and run one at a
  time in a thread worker (`commands.run` blocks until the move is done), so keys are
  never lost, never applied twice, and the UI never freezes during a long `continue`;
- the worker and the session listener talk to the UI only through messages
  (`CommandDone`, `StateChanged`), handled here by pushing attributes down to widgets.
Every key is bound to a command name (`action_command`); layout lives in app.tcss.
"""

from __future__ import annotations

import gc
import queue
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Input, TabbedContent, TabPane
from textual.worker import get_current_worker

from stepgrad import events as ev
from stepgrad.tui import passes
from stepgrad.tui.palette import CommandProvider
from stepgrad.tui.screens.help_screen import HelpScreen
from stepgrad.tui.screens.quit_screen import QuitScreen
from stepgrad.tui.screens.too_small_screen import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from stepgrad.tui.widgets.breakpoint_list import BreakpointList
from stepgrad.tui.widgets.command_line import CommandLine
from stepgrad.tui.widgets.command_log import CommandLog
from stepgrad.tui.widgets.inspector import Inspector, Selection
from stepgrad.tui.widgets.lesson_pane import LessonPane
from stepgrad.tui.widgets.source_pane import SourcePane
from stepgrad.tui.widgets.status_line import StatusLine
from stepgrad.tui.widgets.tape import Tape
from stepgrad.tui.widgets.training_pane import TrainingPane

LESSON_COMMANDS = ("lesson", "hint", "diagnose", "reveal", "fixed", "predict")


class StepgradApp(App[int]):
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
        Binding("t", "toggle_side", "Panels", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
    ]

    class CommandDone(Message):
        """The worker finished command `line`; `output` is its text, `state` the session's."""

        def __init__(self, line: str, output: str, state: Any) -> None:
            self.line, self.output, self.state = line, output, state
            super().__init__()

    class StateChanged(Message):
        """The session reported a stop or progress (posted from the program's thread)."""

        def __init__(self, state: Any) -> None:
            self.state = state
            super().__init__()

    def __init__(self, session: Any, commands: Any, lesson: Any = None) -> None:
        super().__init__()
        self.session, self.commands, self.lesson = session, commands, lesson
        self.model: passes.Pass | None = None
        self._history: Any = None
        self.busy = 0                       # commands queued or running
        self.state: Any = None
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._unsubscribe: Any = None
        self._tidy_timer: Any = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="tape-column"):
                yield Input(placeholder="filter nodes", id="tape-filter")
                yield Tape(id="tape")
            with Vertical(id="center"):
                yield Inspector(id="inspector")
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
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for widget, title in (("#tape", "tape"), ("#inspector", "inspector"),
                              ("#source", "source"), ("#log", "log")):
            self.query_one(widget).border_title = title
        self._unsubscribe = self.session.add_listener(
            lambda state: self.post_message(self.StateChanged(state)))
        self._run_commands()
        if self.session.status == "not started":
            self._submit_raw("\0start")
        else:
            self.query_one(CommandLog).add_command("where", self.commands.position())
            self._show(self.session.state)
        self.query_one(Tape).focus()
        self._fit(self.size.width, self.size.height)
        gc.freeze()

    def on_unmount(self) -> None:
        self._queue.put(None)
        if self._unsubscribe is not None:
            self._unsubscribe()
        gc.unfreeze()

    def _keep_collections_short(self) -> None:
        """A full garbage collection walks every recorded event (50+ ms on a 2,000-node
        graph: a stutter after a key). So objects that survived a command are frozen out of
        automatic collections, and a real collection runs once the user pauses."""
        gc.freeze()
        if self._tidy_timer is not None:
            self._tidy_timer.stop()
        self._tidy_timer = self.set_timer(3.0, self._collect_when_idle)

    def _collect_when_idle(self) -> None:
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """More panes as the terminal grows; a notice instead of a crash when too small."""
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small and not isinstance(self.screen, TooSmallScreen):
            self.push_screen(TooSmallScreen())
        elif not small and isinstance(self.screen, TooSmallScreen):
            self.pop_screen()
        main = self.screen_stack[0]
        main.set_class(width >= 120, "-wide")
        main.set_class(width >= 170, "-huge")
        main.set_class(height >= 36, "-tall")
        main.set_class(height < 30, "-short")

    # ------------------------------------------------------------------ commands
    def action_command(self, name: str) -> None:
        """Every command key comes here with the command's name."""
        if name == "interrupt":
            self.session.interrupt()
            self.query_one(CommandLog).add_note("pause requested: the program stops at its "
                                                "next event")
        elif name == "quit":
            self._quit()
        elif name == "break":
            self.submit_command(self._toggle_breakpoint_line())
        else:
            self.submit_command(name)

    def submit_command(self, line: str) -> None:
        """Queue a command line; it runs after those already waiting."""
        word = line.strip().split(" ")[0]
        if word in ("quit", "q", "exit"):
            self._quit()
            return
        if word in ("interrupt",):
            self.action_command("interrupt")
            return
        self._submit_raw(line)

    def prefill_command(self, text: str) -> None:
        command = self.query_one(CommandLine)
        command.value = text
        command.cursor_position = len(text)
        command.focus()

    def _submit_raw(self, line: str) -> None:
        self.busy += 1
        self._queue.put(line)
        if self.state is not None:
            self.query_one(StatusLine).show(self.state, queued=self.busy)

    @work(thread=True, name="commands", group="commands")
    def _run_commands(self) -> None:
        """The one worker that runs commands, in the order they were queued."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                line = self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
            if line is None:
                return
            if line == "\0start":
                self.session.start()
                line, output = "", self.commands.position()
            else:
                output = self.commands.run(line)
            self.post_message(self.CommandDone(line, output, self.session.state))

    def _toggle_breakpoint_line(self) -> str:
        """`b`: break at the selected node, or clear the breakpoint already there."""
        row = self.query_one(Tape).selected_row
        event = self.state.event if self.state is not None else None
        name = row.label if row is not None and row.kind == "node" else getattr(event, "name", "")
        if not name:
            return "break"
        for bp in self.session.state.breakpoints:
            if bp.spec == name:
                return f"clear {bp.number}"
        return f"break {name}"

    def _quit(self) -> None:
        if self.session.status in ("paused", "running"):
            self.push_screen(QuitScreen(), self._quit_answered)
        else:
            self._stop_and_exit()

    def _quit_answered(self, quit_: bool | None) -> None:
        if quit_:
            self._stop_and_exit()

    @work(thread=True, name="quit")
    def _stop_and_exit(self) -> None:
        output = self.commands.run("quit")
        self.post_message(self.CommandDone("quit", output, self.session.state))

    # ------------------------------------------------------------------ results arrive
    def on_stepgrad_app_command_done(self, message: CommandDone) -> None:
        if message.line != "quit":
            self.busy = max(0, self.busy - 1)
        self._keep_collections_short()
        if self.commands.finished:
            self.exit(0)
            return
        log = self.query_one(CommandLog)
        log.add_command(message.line or "(start)", message.output)
        word = message.line.split(" ")[0]
        if self.lesson is not None and word in LESSON_COMMANDS:
            self.query_one(LessonPane).add_note(message.line, message.output)
        self._show(self.session.state if self.busy == 0 else message.state)

    def on_stepgrad_app_state_changed(self, message: StateChanged) -> None:
        state = message.state
        if self.busy or state.status == "running":
            self._show_progress(state)
        else:
            self._show(state)

    def _show_progress(self, state: Any) -> None:
        """While the program runs: status and training only (the tape waits for a stop)."""
        self.query_one(StatusLine).show(state, queued=self.busy)
        self.query_one(TrainingPane).show(state)

    def _show(self, state: Any) -> None:
        """Push a paused (or finished) state down into every widget."""
        self.state = state
        self.screen_stack[0].set_class(state.line is not None, "-lines")
        self._show_progress(state)
        self.query_one(BreakpointList).show(state.breakpoints, state.displays)
        tape = self.query_one(Tape)
        if state.cursor < 0 or state.cursor < state.first:
            tape.show(None, state.cursor)
            return
        try:
            self.model = self._model_for(state)
        except IndexError:        # the history moved under us: the next message redraws
            return
        tape.show(self.model, state.cursor)
        if tape.selected is None:
            self._inspect(state.cursor, current=True)
        else:
            self.query_one(SourcePane).show(state.event, state.line, self._dark)

    def _model_for(self, state: Any) -> passes.Pass:
        """The pass holding the cursor: the current one extended, or a new one."""
        history, model = self.session.history, self.model
        if model is not None and self._history is history and model.start >= history.first:
            if state.cursor in model or (state.cursor > model.end
                                         and model.extend(history, state.cursor)
                                         and state.cursor in model):
                model.extend(history, state.head)
                return model
        self._history = history
        return passes.build(history, state.cursor, state.head)

    def _inspect(self, index: int, current: bool) -> None:
        view = self.session.node_view(index)
        contributions = []
        if isinstance(view.event, ev.BackwardStep) and self.model is not None:
            contributions = passes.contributions(self.session.history, self.model,
                                                 view.event.node_id, index)
        self.query_one(Inspector).show(Selection(view, contributions, current))
        line = self.state.line if current and self.state is not None else None
        self.query_one(SourcePane).show(view.event, line, self._dark)

    @on(Tape.NodeSelected)
    def _node_selected(self, message: Tape.NodeSelected) -> None:
        if self.state is not None and self.state.status != "running":
            self._inspect(message.index, current=message.index == self.state.cursor)
            self.query_one(StatusLine).show(self.state, self.busy, selected=message.index)

    @on(CommandLine.Entered)
    def _command_entered(self, message: CommandLine.Entered) -> None:
        self.submit_command(message.line)

    # ------------------------------------------------------------------ UI-only actions
    @property
    def _dark(self) -> bool:
        return self.current_theme.dark

    def action_help(self) -> None:
        keys = [(b.key_display or b.key, f"{b.description}: {b.action}")
                for b in self.BINDINGS if isinstance(b, Binding)]
        self.push_screen(HelpScreen(self.commands.infos(), keys))

    def action_filter(self) -> None:
        field = self.query_one("#tape-filter", Input)
        field.add_class("-visible")
        field.focus()

    @on(Input.Changed, "#tape-filter")
    def _filter_changed(self, message: Input.Changed) -> None:
        self.query_one(Tape).set_filter(message.value)

    @on(Input.Submitted, "#tape-filter")
    def _filter_done(self) -> None:
        self.query_one(Tape).focus()

    def on_key(self, event: events.Key) -> None:
        field = self.query_one("#tape-filter", Input)
        if event.key == "escape" and field.has_focus:
            field.value = ""
            field.remove_class("-visible")
            self.query_one(Tape).focus()
            event.stop()

    def action_focus_command(self) -> None:
        self.query_one(CommandLine).focus()

    def action_toggle_side(self) -> None:
        self.screen_stack[0].toggle_class("-side")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self._dark else "textual-dark"
        self.call_after_refresh(self.query_one(Tape).restyle)  # once the new colours apply
        if self.state is not None:
            self.query_one(SourcePane).show(self.state.event, self.state.line, self._dark)


def run_app(session: Any, commands: Any, lesson: Any = None) -> int:
    """Run the full-screen debugger until the user quits; returns an exit status."""
    app = StepgradApp(session, commands, lesson=lesson)
    result = app.run()
    return int(result or 0)
