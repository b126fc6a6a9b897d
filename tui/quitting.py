"""How the app ends: `q`, `quit`, Ctrl-Q and the palette's Quit all come here.

While the program is alive (paused or running) the app asks first (QuitScreen); then the
core's `quit` stops the program's thread, in a worker of its own because the command
worker may be inside a long `continue`. Once quitting has begun, nothing else may open a
screen (a palette opened during shutdown crashed Textual with `NoMatches`), so the app
asks `Quitter.quitting` before pushing one.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from stepgrad.tui.screens.quit_screen import QuitScreen


class QuitDone(Message):
    """The program's thread has stopped: the app can exit with `status`."""

    def __init__(self, output: str, status: int = 0) -> None:
        self.output, self.status = output, status
        super().__init__()


class Quitter:
    """Asks, then stops the session, then lets the app exit (on the QuitDone message)."""

    def __init__(self, app: Any, session: Any, commands: Any) -> None:
        self.app, self.session, self.commands = app, session, commands
        self.quitting = False

    def request(self) -> None:
        """Quit, asking first while the program is alive; a second request while the
        question is open, or after quitting began, does nothing."""
        if self.quitting or isinstance(self.app.screen, QuitScreen):
            return
        if self.session.status in ("paused", "running"):
            self.app.push_screen(QuitScreen(), self._answered)
        else:
            self.stop_and_exit()

    def _answered(self, quit_: bool | None) -> None:
        if quit_:
            self.stop_and_exit()

    def stop_and_exit(self) -> None:
        if self.quitting:
            return
        self.quitting = True
        self.app.run_worker(self._stop, thread=True, name="quit", group="quit")

    def _stop(self) -> None:
        output = self.commands.run("quit")
        self.app.post_message(QuitDone(output))
