"""The Slack edge's transports: Bolt over HTTP (its ASGI adapter under uvicorn, hardened) or over Socket Mode."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.adapter.asgi.http_response import AsgiHttpResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.errors import RolloutError
from bot.metrics import content_type, metrics

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
READY_PATH = "/readyz"
MAX_BODY_BYTES = 1 << 20  # Slack's largest payloads (a 40,000-character message, a big modal) are far smaller
DRAIN_BYTES = 16 << 20  # how much of an oversized body is read and discarded so its sender gets the 413
DISPATCH_THREADS = 32  # Bolt's dispatch is synchronous: run it off the event loop, this many at once
TEXT = {"content-type": ["text/plain; charset=utf-8"]}


class ServeError(RolloutError):
    """Rollout cannot start serving; the message says what to do."""


class SlackEvents(SlackRequestHandler):
    """Bolt's ASGI adapter, hardened: a body limit, bad input as 4xx, dispatch off the event loop; plus GET /healthz
    (alive), and with `operations` (bot/operations.py) GET /metrics and /readyz.

    Every request, Events API callbacks included, is answered with Bolt's own response once its listener has
    returned: a question's listener records it in the database first (bot.answering.intake), so an ack always means
    the work is durable. Slow work runs on the workers after the ack; `acking()` is entered around each POST, from
    its arrival until its response is sent, so the workers know when no ack is owed (bot.slack.workers.Workers.acking).
    """

    def __init__(self, app: App, acking: Callable[[], AbstractContextManager] = nullcontext, operations=None):
        super().__init__(app, path=EVENTS_PATH)
        self.operations = operations
        self._dispatching = ThreadPoolExecutor(DISPATCH_THREADS, thread_name_prefix="rollout-dispatch")
        self._acking = acking
        self._ack_seconds = metrics().ack_seconds

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and await self._operate(scope, send):
            return
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            await self._post(AsgiHttpRequest(scope, receive), send)
            return
        await super().__call__(scope, receive, send)

    def close(self) -> None:
        """Once the server has stopped: let the dispatches under way finish, then end the threads."""
        self._dispatching.shutdown(wait=True)

    async def _operate(self, scope, send) -> bool:
        """Answer GET /healthz, /metrics and /readyz; False for any other path."""
        path, loop = scope["path"], asyncio.get_running_loop()
        if path == HEALTH_PATH:
            await _send(send, 200, b"ok\n")
        elif path == METRICS_PATH and self.operations is not None:
            body = await loop.run_in_executor(self._dispatching, self.operations.metrics)
            await _send(send, 200, body, content_type())
        elif path == READY_PATH and self.operations is not None:
            ready, report = await loop.run_in_executor(self._dispatching, self.operations.readiness)
            await _send(send, 200 if ready else 503, json.dumps(report).encode() + b"\n", "application/json")
        else:
            return False
        return True

    async def _post(self, request: AsgiHttpRequest, send) -> None:
        started = time.perf_counter()
        with self._acking():
            parsed = await self._read(request)
            if isinstance(parsed, BoltResponse):
                return await _send_response(send, parsed)
            response = await asyncio.get_running_loop().run_in_executor(self._dispatching, self._dispatch, parsed)
            await _send_response(send, response)
        self._ack_seconds.observe(time.perf_counter() - started)

    async def _read(self, request: AsgiHttpRequest) -> BoltRequest | BoltResponse:
        """The request for Bolt, or the 4xx response to a body that cannot be one."""
        body = await _read_body(request.receive, MAX_BODY_BYTES)
        if body is None:
            return BoltResponse(status=413, body="request body too large\n", headers=TEXT)
        try:
            headers = request.get_headers()
            if retry := headers.get("x-slack-retry-num"):
                log.info("Slack retry %s (%s)", retry, headers.get("x-slack-retry-reason", "no reason given"))
            parsed = BoltRequest(body=body.decode("utf-8"), query=request.query_string, headers=headers)
        except Exception as exc:  # undecodable bytes (body or headers), invalid JSON, JSON that is not an object
            log.info("refused a malformed request: %s", type(exc).__name__)
            return BoltResponse(status=400, body="malformed request body\n", headers=TEXT)
        stamp = parsed.headers.get("x-slack-request-timestamp", ["0"])[0]
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):  # else slack_sdk's verifier raises: a 500
            log.info("refused a request whose X-Slack-Request-Timestamp is not a number")
            return BoltResponse(status=401, body="invalid request timestamp\n", headers=TEXT)
        return parsed

    def _dispatch(self, request: BoltRequest) -> BoltResponse:
        try:
            return self.app.dispatch(request)
        except Exception:  # Bolt handles listener errors itself; this is a payload it could not even route
            log.exception("could not dispatch a request (reference %s)", uuid.uuid4().hex[:8])
            return BoltResponse(status=400, body="could not handle this request\n", headers=TEXT)


class HttpServer:
    """uvicorn serving SlackEvents on host:port (port 0: a free one); in the foreground or in a thread (tests)."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 3000,
                 acking: Callable[[], AbstractContextManager] = nullcontext, operations=None):
        self.socket = _listening_socket(host, port)
        self.events = SlackEvents(app, acking, operations)
        config = uvicorn.Config(self.events, log_config=None, lifespan="off", ws="none", access_log=False,
                                server_header=False, timeout_keep_alive=5, timeout_graceful_shutdown=10,
                                backlog=2048)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM, then return (uvicorn stops gracefully; the caller finishes its work)."""
        # uvicorn re-raises the signal it stopped for once it is done, which by default ends the process at once;
        # with these handlers in place the caller gets to finish the answers it has accepted.
        with stop_signals(lambda: None):
            self.server.run(sockets=[self.socket])
        self.events.close()

    def start(self) -> HttpServer:
        """Serve from a daemon thread; returns once it accepts requests."""
        self._thread = threading.Thread(target=self.serve, name="rollout-http", daemon=True)
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.socket.close()
        self.events.close()


class SocketModeServer:
    """The app over a Socket Mode WebSocket: no public URL needed."""

    def __init__(self, app: App, app_token: str):
        self.handler = SocketModeHandler(app, app_token=app_token)

    def start(self) -> SocketModeServer:
        """Open the connection (apps.connections.open at SLACK_API_URL) and start receiving."""
        self.handler.connect()
        return self

    def stop(self) -> None:
        self.handler.close()

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM."""
        stopping = threading.Event()
        with stop_signals(stopping.set):
            self.start()
            try:
                stopping.wait()
            finally:
                self.stop()


@contextmanager
def stop_signals(on_stop: Callable[[], None]) -> Iterator[None]:
    """Call `on_stop` on SIGINT or SIGTERM instead of ending the process (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda *_: on_stop()) for signum in handled}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def _read_body(receive, limit: int) -> bytes | None:
    """The request body, or None past `limit` bytes.

    An oversized body is still read to its end (and thrown away), up to DRAIN_BYTES: a client
    that is still sending when the connection closes sees a reset instead of our 413.
    """
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            if not more or size > DRAIN_BYTES:
                return None
            continue
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)


async def _send_response(send, response: BoltResponse) -> None:
    http = AsgiHttpResponse(status=response.status, headers=response.headers, body=response.body)
    await send(http.get_response_start())
    await send(http.get_response_body())


async def _send(send, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
