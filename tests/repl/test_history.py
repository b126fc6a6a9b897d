"""Where the history lives, and that a home the REPL cannot write never stops it."""

from __future__ import annotations

from pathlib import Path

from prompt_toolkit.history import InMemoryHistory

from stepgrad.tui.repl.history import SafeFileHistory, data_dir, open_history


def test_data_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "home"
    monkeypatch.delenv("STEPGRAD_HOME")
    assert data_dir() == tmp_path / "xdg" / "stepgrad"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".local" / "share" / "stepgrad"


def test_history_creates_its_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path / "a" / "b"))
    history = open_history()
    assert isinstance(history, SafeFileHistory)
    history.append_string("step")
    assert "+step" in (tmp_path / "a" / "b" / "repl_history").read_text()


def test_a_directory_that_cannot_be_made_falls_back_to_memory(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("STEPGRAD_HOME", str(blocker / "stepgrad"))
    history = open_history()
    assert isinstance(history, InMemoryHistory)
    history.append_string("step")


def test_a_file_that_cannot_be_written_is_ignored(monkeypatch, tmp_path):
    # (as root, chmod does not stop writes; a directory where the file should be does)
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path))
    (tmp_path / "repl_history").mkdir()
    history = open_history()
    history.append_string("step")
    assert list(history.load_history_strings()) == []
    assert Path(tmp_path / "repl_history").is_dir()
