"""Bad command lines: exit status 2 and one line on stderr that says what was wrong, before
anything starts (no lesson runs, no server listens, no script is read)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stepgrad import cli

TINY = str(Path(__file__).parents[1] / "repl" / "tiny_train.py")

BAD = {
    "negative seed": ["lesson", "1", "--seed", "-1"],
    "seed not a number": ["lesson", "1", "--seed", "x"],
    "empty bug": ["lesson", "1", "--bug", ""],
    "port too big": ["serve", "lesson", "1", "--port", "99999"],
    "port zero": ["serve", "lesson", "1", "--port", "0"],
    "host not an address": ["serve", "lesson", "1", "--host", "256.1.1.1"],
    "serve a missing lesson": ["serve", "lesson", "99"],
    "serve a missing script": ["serve", "debug", "missing.py"],
    "serve nothing known": ["serve", "notebook"],
    "serve a lesson with a bad seed": ["serve", "--", "lesson", "1", "--seed", "-1"],
    "zero sessions": ["serve", "lesson", "1", "--max-sessions", "0"],
    "debug a folder": ["debug", "/tmp"],
    "debug /dev/null": ["debug", "/dev/null"],
    "debug a missing script": ["debug", "no_such_script.py"],
    "trailing --history in debug": ["debug", TINY, "--history"],
    "trailing --history in lesson": ["lesson", "1", "--history"],
    "--history abc in lesson": ["lesson", "1", "--history", "abc"],
    "--history abc in debug": ["debug", "--history", "abc", TINY],
    "--history abc after the script": ["debug", TINY, "--history", "abc"],
    "--history=abc after the script": ["debug", TINY, "--history=abc"],
    "--history abc in replay": ["replay", "run.sgtrace", "--history", "abc"],
}


@pytest.mark.parametrize("argv", BAD.values(), ids=BAD.keys())
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        status = cli.main(argv)
        raise SystemExit(status)
    assert stop.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("stepgrad") and "Traceback" not in err


def test_a_busy_port_exits_2_before_serving(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["serve", "lesson", "1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "in use" in err and str(port + 1) in err


def test_the_command_line_itself_exits_2() -> None:
    """Through the real entry point: what a learner's shell sees."""
    done = subprocess.run([sys.executable, "-m", "stepgrad", "lesson", "1", "--seed", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("stepgrad lesson: error: argument --seed: -1 is negative; "
                                   "use 0 or more (see stepgrad lesson --help)")


def test_a_public_server_warns_and_names_the_risk(capsys: pytest.CaptureFixture[str]) -> None:
    from argparse import Namespace

    from stepgrad.tui.serve import _announce

    _announce(Namespace(host="0.0.0.0", port=8000, max_sessions=1), ["lesson", "1"],
              ["t1", "t2"])
    out, err = capsys.readouterr()
    assert "WARNING" in err and "run Python" in err
    assert out.count("/?token=t") == 2
    _announce(Namespace(host="127.0.0.1", port=8000, max_sessions=1), ["lesson", "1"], ["t"])
    assert capsys.readouterr().err == ""


def _small_trace(path: Path) -> int:
    import stepgrad as sg

    with sg.trace() as recorded:
        x = sg.tensor([[1.0, 2.0]] * 50, requires_grad=True)
        for _ in range(10):
            (x * x).sum().backward()
    recorded.save(path)
    return len(recorded)


@pytest.mark.parametrize("history, dropped", [("4KB", True), ("256MB", False)])
def test_replay_with_a_history_size_says_what_it_dropped(
    tmp_path: Path, history: str, dropped: bool
) -> None:
    path = tmp_path / "run.sgtrace"
    total = _small_trace(path)
    done = subprocess.run(
        [sys.executable, "-m", "stepgrad", "replay", str(path), "--history", history, "--repl"],
        input="where\nq\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (f"the trace has {total} events; the first" in done.stdout) is dropped
    assert ("replay starts at #" in done.stdout) is dropped
