"""`stepgrad serve` lets in only its owner, and every process it starts ends.

A real server on a free port, an aiohttp websocket client (textual-serve brings aiohttp):
no token is refused, a foreign Origin is refused, the token is accepted, a second session
beyond the cap is refused; when the browser leaves and when the server stops, the app
process and what the user's script started (here a grandchild that ignores SIGTERM and
SIGINT) are gone. Processes are found through /proc, without psutil.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

aiohttp = pytest.importorskip("aiohttp")
pytest.importorskip("textual_serve")
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

STUBBORN_SCRIPT = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"])
with open(os.environ["PIDFILE"], "a") as f:
    f.write(f"{child.pid}\\n")
while True:  # a user program that emits no events and never ends
    pass
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    """Running (a zombie that nobody reaped yet counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path: Path):
    """`stepgrad serve debug stubborn.py` on a free port: (process, base URL, token, pidfile)."""
    script = tmp_path / "stubborn.py"
    script.write_text(textwrap.dedent(STUBBORN_SCRIPT))
    pidfile = tmp_path / "grandchildren"
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "stepgrad", "serve", "debug", str(script), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PIDFILE": str(pidfile)},
    )
    try:
        header = process.stdout.readline()
        assert header.startswith("Serving"), header + process.stderr.read()
        url = process.stdout.readline().strip()
        token = re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=([\w-]{20,})", url).group(1)
        _wait_until(lambda: _listening(port), 30, "the server to listen")
        yield process, f"127.0.0.1:{port}", token, pidfile
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pid in _grandchildren(pidfile):  # only if the test failed half-way
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _grandchildren(pidfile: Path) -> list[int]:
    return [int(x) for x in pidfile.read_text().split()] if pidfile.exists() else []


async def _refused(session, url: str, **options) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
        await session.ws_connect(url, **options)
    return refusal.value.status


async def _connect_when_free(session, url: str, **options):
    """The slot frees when the server has finished ending the last session's processes."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return await session.ws_connect(url, **options)
        except aiohttp.WSServerHandshakeError as error:
            if error.status != 429 or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _check_the_guard(address: str, token: str, pidfile: Path, server_pid: int) -> None:
    origin = {"Origin": f"http://{address}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://{address}/") as page:
            assert page.status == 403 and "token" in await page.text()
        async with http.get(f"http://{address}/?token={token}x") as page:
            assert page.status == 403
        async with http.get(f"http://{address}/?token={token}") as page:
            assert page.status == 200 and token in page.headers["Set-Cookie"]
            assert page.headers["Referrer-Policy"] == "no-referrer"  # the token stays here
    async with aiohttp.ClientSession() as http:  # no cookie jar from the page above
        ws_url = f"ws://{address}/ws"
        assert await _refused(http, ws_url, headers=origin) == 403
        assert await _refused(http, f"{ws_url}?token={token[:-1]}", headers=origin) == 403
        foreign = {"Origin": "http://evil.example"}
        assert await _refused(http, f"{ws_url}?token={token}", headers=foreign) == 403
        first = await http.ws_connect(f"{ws_url}?token={token}", headers=origin)
        await asyncio.to_thread(_wait_until, lambda: _grandchildren(pidfile), 60,
                                "the user's script to start its grandchild")
        assert await _refused(http, f"{ws_url}?token={token}", headers=origin) == 429
        app = _children(server_pid)
        assert len(app) == 1
        await first.close()  # the browser leaves
        ended = _grandchildren(pidfile) + app
        await asyncio.to_thread(_wait_until, lambda: not any(map(_alive, ended)), 30,
                                "the app and its grandchild to end after the browser left")
        second = await _connect_when_free(http, f"{ws_url}?token={token}", headers=origin)
        await asyncio.to_thread(_wait_until, lambda: len(_grandchildren(pidfile)) == 2, 60,
                                "the second session's grandchild")
        assert len(_children(server_pid)) == 1
        await second.close()


def test_only_the_owner_gets_in_and_every_process_ends(server) -> None:
    process, address, token, pidfile = server
    asyncio.run(_check_the_guard(address, token, pidfile, process.pid))
    # a third session, still open when the server is stopped
    asyncio.run(_open_and_stop(address, token, pidfile, process))


async def _open_and_stop(address: str, token: str, pidfile: Path, process) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await _connect_when_free(http, f"ws://{address}/ws?token={token}")  # no Origin
        await asyncio.to_thread(_wait_until, lambda: len(_grandchildren(pidfile)) == 3, 60,
                                "the third session's grandchild")
        app = _children(process.pid)
        process.send_signal(signal.SIGINT)  # Ctrl+C
        await asyncio.to_thread(process.wait, 30)
        await ws.close()
    spawned = _grandchildren(pidfile) + app
    _wait_until(lambda: not any(map(_alive, spawned)), 10, "every process to end")


def test_a_loopback_alias_is_the_same_origin() -> None:
    from stepgrad.tui.serve import Guard

    class Request:
        def __init__(self, host: str, origin: str | None) -> None:
            self.host, self.headers = host, {} if origin is None else {"Origin": origin}

    assert Guard.origin_allowed(Request("127.0.0.1:8000", "http://localhost:8000"))
    assert Guard.origin_allowed(Request("127.0.0.1:8000", None))
    assert not Guard.origin_allowed(Request("127.0.0.1:8000", "http://localhost:8001"))
    assert not Guard.origin_allowed(Request("127.0.0.1:8000", "null"))
    assert not Guard.origin_allowed(Request("10.0.0.5:8000", "http://10.0.0.6:8000"))


def test_a_killed_server_takes_its_app_processes_with_it(server) -> None:
    """SIGKILL gives the server no chance to clean up: each app process notices its parent
    is gone and ends its own process group (the app and the script's grandchild)."""
    process, address, token, pidfile = server

    async def open_session() -> list[int]:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"ws://{address}/ws?token={token}")
            await asyncio.to_thread(_wait_until, lambda: _grandchildren(pidfile), 60,
                                    "the user's script to start its grandchild")
            spawned = _children(process.pid) + _grandchildren(pidfile)
            process.kill()
            process.wait(10)
            await ws.close()
            return spawned

    spawned = asyncio.run(open_session())
    try:
        assert len(spawned) == 2
        _wait_until(lambda: not any(map(_alive, spawned)), 5, "the orphans to end")
    finally:  # if they did not, end them here rather than leave them spinning
        for pid in filter(_alive, spawned):
            os.kill(pid, signal.SIGKILL)
