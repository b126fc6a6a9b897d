"""`stepgrad serve lesson N`: the full-screen debugger in a web browser, for its owner only.

Each browser session runs its own `stepgrad lesson N` process, drawn by Textual's web
driver (textual-serve). The debugger's `p` command is a Python shell, so whoever reaches the
app can run code as the user who served it. The server therefore lets in only the person it
was started for, the way Jupyter does:

- an unguessable token (`secrets.token_urlsafe`) in the URL that `serve` prints; the page
  checks it and hands it to the browser as a cookie, the websocket checks the cookie or a
  `?token=` (with a constant-time compare);
- the websocket's `Origin` must be the page's own host: another site open in the same
  browser cannot drive the app (cross-site websocket hijacking);
- at most `--max-sessions` live sessions per token (default 1): a leaked URL cannot fork
  processes without bound;
- 127.0.0.1 by default; any other `--host` prints a warning that names the risk. A classroom
  server (`--public --tokens 30`: one URL per student) is the teacher's explicit choice.

When the browser leaves or the server stops, every app process it started ends: asked to
quit, then SIGTERM to its whole process group, then SIGKILL after a grace period; and each
app process watches the server and kills its own group when the server is gone, even when
the server was killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import secrets
import shlex
import signal
import socket
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
GRACE_SECONDS = 2.0  # for each of: the app's own quit, then SIGTERM, before SIGKILL


class ServeError(ValueError):
    """A `stepgrad serve` argument that cannot work; the message is one line."""


# -- checking the arguments before anything starts ---------------------------------------
def check_what(what: list[str]) -> list[str]:
    """The `stepgrad` arguments each session runs, from `lesson N ...` or `debug SCRIPT ...`;
    ServeError if the lesson or script does not exist (said now, not in every browser)."""
    if len(what) >= 2 and what[0] == "lesson":
        from stepgrad.lessons.registry import LessonNotFound, get_lesson

        try:
            get_lesson(what[1])
        except LessonNotFound as error:
            raise ServeError(str(error.args[0] if error.args else error)) from None
        from stepgrad.cli import build_parser

        build_parser().parse_args(what)  # --seed -1, --bug "": exit 2 now, not in each browser
        return list(what)
    if len(what) >= 2 and what[0] == "debug":
        script = next((w for w in what[1:] if not w.startswith("--")), None)
        if script is None or not os.path.isfile(script):
            raise ServeError(f"debug: {script!r} is not a Python file")
        return list(what)
    raise ServeError(f"serve what? Expected 'lesson N' or 'debug SCRIPT', got {' '.join(what)!r}")


def check_address(host: str, port: int) -> None:
    """ServeError (one line) unless `host:port` can be listened on right now."""
    if not 0 < port < 65536:
        raise ServeError(f"--port {port} is not a port; use 1 to 65535 (default 8000)")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host.replace(".", "").isdigit():  # 256.1.1.1 looks like an address but is none
            raise ServeError(f"--host {host} is not an IP address or a host name") from None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
            probe.bind(address)
    except socket.gaierror as error:
        raise ServeError(f"--host {host}: {error.strerror}") from None
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}; "
                         f"is another server using it? Try --port {port + 1}") from None


def is_loopback(host: str) -> bool:
    try:
        return host in LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the guard: tokens, Origin, a cap on sessions ------------------------------------------
class Guard:
    """Who may open the page and the websocket; counts live sessions per token."""

    def __init__(self, tokens: list[str], max_sessions: int, port: int) -> None:
        self.tokens = tokens
        self.max_sessions = max_sessions
        self.cookie = f"stepgrad-token-{port}"  # cookies ignore ports: one name per server
        self.live: dict[str, int] = {}

    def token_of(self, request: Any) -> str | None:
        """The valid token the request carries (query or cookie), else None."""
        for offered in (request.query.get("token"), request.cookies.get(self.cookie)):
            if offered:
                for token in self.tokens:  # constant time: no early exit inside a compare
                    if secrets.compare_digest(offered.encode(), token.encode()):
                        return token
        return None

    @staticmethod
    def origin_allowed(request: Any) -> bool:
        """A browser's websocket must come from a page of this very server. No Origin at all
        means no browser (a script that has the token anyway)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        if parts.netloc == request.host:
            return True
        server = urlsplit(f"//{request.host}")  # 127.0.0.1 and localhost are the same machine
        return (parts.port == server.port and is_loopback(parts.hostname or "")
                and is_loopback(server.hostname or ""))


def _guard_middleware(guard: Guard) -> Any:
    from aiohttp import web

    @web.middleware
    async def guard_requests(request: web.Request, handler: Any) -> web.StreamResponse:
        """Every request but the static files needs the token; the websocket also a
        same-site Origin and a free session slot."""
        if request.path.startswith("/static/"):
            return await handler(request)
        token = guard.token_of(request)
        if token is None:
            raise web.HTTPForbidden(text="stepgrad serve: this address needs the token "
                                    "that `stepgrad serve` printed (http://host:port/?token=...)\n")
        if request.path != "/ws":
            response = await handler(request)
            response.set_cookie(guard.cookie, token, httponly=True, samesite="Strict")
            # the page loads a font from Google: never send them a URL that holds the token
            response.headers["Referrer-Policy"] = "no-referrer"
            return response
        if not guard.origin_allowed(request):
            raise web.HTTPForbidden(text="stepgrad serve: websocket from another site refused\n")
        if guard.live.get(token, 0) >= guard.max_sessions:
            raise web.HTTPTooManyRequests(
                text=f"stepgrad serve: this token already has {guard.max_sessions} session(s) "
                "open; close the other tab, or start the server with --max-sessions N\n")
        guard.live[token] = guard.live.get(token, 0) + 1
        released = False

        def release() -> None:
            """The session's websocket closed: its slot is free (its process is ending)."""
            nonlocal released
            if not released:
                released, guard.live[token] = True, guard.live[token] - 1

        request["release_session"] = release
        try:
            return await handler(request)
        finally:
            release()

    return guard_requests


# -- app processes that always end ----------------------------------------------------------
def _service_class() -> Any:
    # A class inside a function for the same reason as _server_class: textual-serve is optional.
    from textual_serve.app_service import AppService

    class OwnedAppService(AppService):
        """textual-serve's AppService, with the process in its own process group so that
        stopping it ends the app and anything the user's script started."""

        async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
            environment = self._build_environment(width=width, height=height)
            self._process = process = await asyncio.create_subprocess_exec(
                *shlex.split(self.command), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env=environment, start_new_session=True)
            self._stdin = process.stdin
            return process

        async def stop(self) -> None:
            """Ask the app to quit; SIGTERM its group after a grace period, SIGKILL after
            another (an app busy in a user's `while True` ignores the first two)."""
            process = self._process
            if process is None:
                return
            if process.returncode is None:
                await self.send_meta({"type": "quit"})
            for kill in (signal.SIGTERM, signal.SIGKILL):
                try:
                    await asyncio.wait_for(asyncio.shield(process.wait()), GRACE_SECONDS)
                except asyncio.TimeoutError:
                    pass
                try:
                    os.killpg(process.pid, kill)  # the group: grandchildren end too
                except (ProcessLookupError, PermissionError):
                    pass
            await process.wait()
            if self._task is not None:
                await self._task
                self._task = None

    return OwnedAppService


def _server_class() -> Any:
    # Longer than a function should be because it holds a class: defined inside a function
    # so that textual-serve and aiohttp are imported only by `stepgrad serve` (an optional
    # extra), and a missing install is one line, not an ImportError on `import stepgrad.tui`.
    from aiohttp import web
    from textual_serve.server import Server

    OwnedAppService = _service_class()

    class GuardedServer(Server):
        """textual-serve's Server behind a Guard, ending every app process it started."""

        def __init__(self, command: str, guard: Guard, **options: Any) -> None:
            super().__init__(command, **options)
            self.guard = guard
            self.services: set[Any] = set()
            self.sockets: set[web.WebSocketResponse] = set()

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(_guard_middleware(self.guard))
            return app

        async def handle_index(self, request: web.Request) -> Any:
            # The page's websocket and static URLs use the address the browser typed, so the
            # cookie the page sets goes with the websocket (localhost vs 127.0.0.1). The
            # template reads public_url before its first await: no other request interleaves.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """Upstream's handler with an OwnedAppService, stopped whatever happens."""
            websocket = web.WebSocketResponse(heartbeat=15)
            size = [_int(request.query.get(k), d) for k, d in (("width", 80), ("height", 24))]
            service = None
            try:
                await websocket.prepare(request)
                self.sockets.add(websocket)
                service = OwnedAppService(
                    self.command, write_bytes=websocket.send_bytes,
                    write_str=websocket.send_str, close=websocket.close,
                    download_manager=self.download_manager, debug=self.debug)
                self.services.add(service)
                await service.start(*size)
                await self._process_messages(websocket, service)
                # A reload must not wait for the old process to end: the slot frees now,
                # while stop() below ends that process within its grace periods.
                request["release_session"]()
            except asyncio.CancelledError:
                pass
            except Exception as error:  # noqa: BLE001 (a bad message ends this session only)
                self.console.print(f"stepgrad serve: session ended: {error!r}")
            finally:
                if service is not None:
                    await asyncio.shield(service.stop())
                    self.services.discard(service)
                self.sockets.discard(websocket)
                await websocket.close()
            return websocket

        async def on_startup(self, app: web.Application) -> None:
            pass  # serve() has printed the URLs; upstream's logo would bury them

        async def on_shutdown(self, app: web.Application) -> None:
            """The server stops: end every app process (concurrently, each with its grace)
            and close every websocket, so that no handler keeps the server waiting."""
            await asyncio.gather(*(s.stop() for s in list(self.services)),
                                 *(ws.close(message=b"stopped") for ws in list(self.sockets)),
                                 return_exceptions=True)

    return GuardedServer


def _int(text: str | None, default: int) -> int:
    try:
        return max(1, min(int(text or default), 1000))
    except ValueError:
        return default


# -- the command ------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    """`stepgrad serve`: check everything, print the URLs with their tokens, serve until
    Ctrl+C. Returns 2 with one line on stderr for arguments that cannot work."""
    try:
        what = check_what(list(args.what))
        check_address(args.host, args.port)
        server_class = _server_class()
    except ServeError as error:
        print(f"stepgrad serve: {error}", file=sys.stderr)
        return 2
    except ImportError:
        print("stepgrad serve: textual-serve is not installed; install it with "
              "pip install 'stepgrad[serve]'", file=sys.stderr)
        return 2
    tokens = [secrets.token_urlsafe(24) for _ in range(args.tokens)]
    command = shlex.join([sys.executable, "-m", "stepgrad.tui.serve", *what])
    server = server_class(command, Guard(tokens, args.max_sessions, args.port),
                          host=args.host, port=args.port, title="stepgrad")
    os.environ["STEPGRAD_SERVE_PID"] = str(os.getpid())  # app processes check their parent
    _announce(args, what, tokens)
    try:
        server.serve()
    except OSError as error:  # lost the port between the check and now
        print(f"stepgrad serve: cannot listen on {args.host}:{args.port}: {error.strerror}",
              file=sys.stderr)
        return 2
    return 0


def _announce(args: argparse.Namespace, what: list[str], tokens: list[str]) -> None:
    host = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host
    host = f"[{host}]" if ":" in host else host
    if not is_loopback(args.host):
        print(f"stepgrad serve: WARNING: listening on {args.host}, not this machine only. "
              "Anyone on the network who has a URL below can run Python as "
              f"{_user()} on this machine (the debugger's `p` is a Python shell). "
              "Share each URL with one person only.", file=sys.stderr)
    sessions = f"{args.max_sessions} session{'s' if args.max_sessions > 1 else ''}"
    print(f"Serving `stepgrad {' '.join(what)}`, {sessions} per URL (Ctrl+C stops):")
    for token in tokens:
        print(f"    http://{host}:{args.port}/?token={token}")
    sys.stdout.flush()


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return "you"


def _served_app(argv: list[str]) -> int:
    """One browser session's process: `stepgrad ARGV`, which ends with the server."""
    server = os.environ.get("STEPGRAD_SERVE_PID")
    if server is None or str(os.getppid()) != server:
        return 1  # the server is already gone: nobody to serve
    threading.Thread(target=_end_with, args=(int(server),), name="serve-watchdog",
                     daemon=True).start()
    from stepgrad.cli import main

    return main(argv)


def _end_with(server: int, every: float = 0.5) -> None:
    """Watch the server; when it is gone (even killed with SIGKILL, which lets it clean up
    nothing) kill this process's whole group: the app and whatever the user's script
    started. A thread, not a signal handler: it runs even while the user's code spins."""
    while os.getppid() == server:
        time.sleep(every)
    os.killpg(0, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(_served_app(sys.argv[1:]))
