"""`stepgrad serve lesson 1` in headless Chromium: the app appears and a key steps it.

The server runs on a free local port; Chromium is driven through its DevTools protocol
(aiohttp, which textual-serve already needs, is the websocket client). textual-serve draws
the terminal on a canvas, so the test compares screenshots: the page (opened with the token
`serve` printed, so the browser's cookie lets the websocket in) shows the app, it is
stable while nothing happens, and it changes when `s` (step) is pressed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
    pytest.mark.slow,
]
aiohttp = pytest.importorskip("aiohttp")
pytest.importorskip("textual_serve")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _printed_url(server: subprocess.Popen) -> str:
    """The `http://127.0.0.1:PORT/?token=...` line that `stepgrad serve` prints."""
    for line in server.stdout:
        text = line.decode().strip()
        if "?token=" in text:
            return text
    raise AssertionError("stepgrad serve printed no URL with a token")


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, ws) -> None:
        self.ws, self.next_id = ws, 0

    async def call(self, method: str, **params):
        self.next_id += 1
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result", {})

    async def screenshot(self) -> bytes:
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])

    async def press(self, key: str) -> None:
        for kind in ("keyDown", "keyUp"):  # keyDown with text types it once ("char" would twice)
            await self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                text=key,
                code=f"Key{key.upper()}",
                windowsVirtualKeyCode=ord(key.upper()),
            )


async def _settled(tools: DevTools, seconds: float = 20) -> bytes:
    """Screenshots until two in a row agree (the app has finished drawing)."""
    deadline = time.monotonic() + seconds
    previous = await tools.screenshot()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.7)
        current = await tools.screenshot()
        if current == previous:
            return current
        previous = current
    return previous


async def _app_drawn(tools: DevTools, seconds: float = 60) -> bytes:
    """Wait until the app has replaced textual-serve's small splash and stopped changing
    (a screen full of panes and text compresses to many times the splash's size)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shot = await tools.screenshot()
        if len(shot) > 30_000:
            return await _settled(tools)
        await asyncio.sleep(0.5)
    raise AssertionError("the app never replaced the splash screen")


async def _drive(page_ws: str, url: str) -> tuple[bytes, bytes]:
    async with aiohttp.ClientSession() as client, client.ws_connect(page_ws, max_msg_size=0) as ws:
        tools = DevTools(ws)
        await tools.call("Page.enable")
        await tools.call(
            "Emulation.setDeviceMetricsOverride",
            width=1200,
            height=800,
            deviceScaleFactor=1,
            mobile=False,
        )
        await tools.call("Page.navigate", url=url)
        await asyncio.sleep(2)
        before = await _app_drawn(tools)
        await tools.call(
            "Runtime.evaluate",
            expression="document.querySelector('textarea.xterm-helper-textarea')?.focus()",
        )
        await tools.press("s")
        await asyncio.sleep(1.5)
        after = await _settled(tools)
        return before, after


def test_served_lesson_appears_and_steps_on_a_key(tmp_path):
    port, debug_port = _free_port(), _free_port()
    env = {**os.environ, "STEPGRAD_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(
        [sys.executable, "-m", "stepgrad", "serve", "lesson", "1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    browser = None
    try:
        url = _printed_url(server)  # the page needs the token that serve prints
        page = _wait_for(url)
        assert "stepgrad" in page.lower() or "textual" in page.lower()
        browser = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'chrome'}",
                f"--remote-debugging-port={debug_port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        targets = json.loads(_wait_for(f"http://127.0.0.1:{debug_port}/json/list"))
        page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        before, after = asyncio.run(asyncio.wait_for(_drive(page_ws, url), 90))
        for name, shot in (("before", before), ("after", after)):
            (tmp_path / f"{name}.png").write_bytes(shot)
        if os.environ.get("STEPGRAD_KEEP_SHOTS"):
            for name in ("before", "after"):
                shutil.copy(
                    tmp_path / f"{name}.png", os.environ["STEPGRAD_KEEP_SHOTS"] + f"-{name}.png"
                )
        assert len(before) > 30_000, "the app never appeared"  # (_app_drawn waited for it)
        assert after != before, "pressing s did not change the screen"
    finally:
        for process in (browser, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
