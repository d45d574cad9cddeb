"""The Slack edge's transports: Bolt over HTTP (its ASGI adapter under uvicorn, hardened) or over Socket Mode."""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.adapter.asgi.http_response import AsgiHttpResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1 << 20  # Slack's largest payloads (a 40,000-character message, a big modal) are far smaller
DRAIN_BYTES = 16 << 20  # how much of an oversized body is read and discarded so its sender gets the 413
DISPATCH_THREADS = 32  # Bolt's dispatch is synchronous: run it off the event loop, this many at once
# Events acked early are handed to Bolt together, this long after the first: when 40 arrive at once, dispatching
# each at its ack starts threads (Bolt, claims, 👀, answers) that take the GIL from the acks still owed (measured:
# ack p99 140-150 ms that way, 30-42 ms with the window; BENCHMARKS.md). Delays an answer by at most this.
ACK_WINDOW_SECONDS = 0.03
TEXT = {"content-type": ["text/plain; charset=utf-8"]}


class ServeError(Exception):
    """Rollout cannot start serving; the message says what to do."""


class SlackEvents(SlackRequestHandler):
    """Bolt's ASGI adapter, hardened: GET /healthz, a body limit, bad input as 4xx, dispatch off the event loop.

    An Events API callback is acked straight from the event loop once its signature checks out, and dispatched to
    Bolt after the response: its answer is always an empty 200 (listeners hand work to the workers; errors are
    logged), so Slack's ack need not wait for a dispatch thread. Bolt still verifies every request itself. Other
    requests (slash commands, clicks, modals, url_verification) get Bolt's own response, as before.
    """

    def __init__(self, app: App, signing_secret: str | None = None):
        super().__init__(app, path=EVENTS_PATH)
        self._dispatching = ThreadPoolExecutor(DISPATCH_THREADS, thread_name_prefix="rollout-dispatch")
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._acked: list[BoltRequest] = []  # acked, waiting for the window to close
        self._undispatched = 0  # acked, not yet through Bolt
        self._dispatched = threading.Condition()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH and scope["method"] in ("GET", "HEAD"):
            await _send(send, 200, b"ok\n")
            return
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            await self._post(AsgiHttpRequest(scope, receive), send)
            return
        await super().__call__(scope, receive, send)

    def wait_dispatched(self, timeout: float) -> bool:
        """Block until every event acked so far has been through Bolt (its work is with the workers now)."""
        with self._dispatched:
            return self._dispatched.wait_for(lambda: self._undispatched == 0, timeout)

    def close(self) -> None:
        """Once the server has stopped: dispatch the events already acked (answers are owed), then end the threads."""
        self._hand_over_acked()  # a window still open when the event loop ended
        self._dispatching.shutdown(wait=True)

    async def _post(self, request: AsgiHttpRequest, send) -> None:
        parsed = await self._read(request)
        if isinstance(parsed, BoltResponse):
            return await _send_response(send, parsed)
        if self._acks_early(parsed):
            await _send_response(send, BoltResponse(status=200, body=""))
            return self._dispatch_after_window(parsed)
        response = await asyncio.get_running_loop().run_in_executor(self._dispatching, self._dispatch, parsed)
        await _send_response(send, response)

    def _dispatch_after_window(self, request: BoltRequest) -> None:
        """Hand an acked event to Bolt with the others acked in the same window (on the event loop only)."""
        if not self._acked:
            asyncio.get_running_loop().call_later(ACK_WINDOW_SECONDS, self._hand_over_acked)
        self._acked.append(request)
        with self._dispatched:
            self._undispatched += 1

    def _hand_over_acked(self) -> None:
        acked, self._acked = self._acked, []
        for request in acked:
            self._dispatching.submit(self._dispatch_acked, request)

    def _acks_early(self, request: BoltRequest) -> bool:
        """Whether this is an Events API callback, with an event, signed with our secret: always an empty 200."""
        event = request.body.get("event")
        if self._verifier is None or request.body.get("type") != "event_callback" or not isinstance(event, dict):
            return False
        timestamp = request.headers.get("x-slack-request-timestamp", ["0"])[0]
        signature = request.headers.get("x-slack-signature", [""])[0]
        return self._verifier.is_valid(request.raw_body, timestamp, signature)

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

    def _dispatch_acked(self, request: BoltRequest) -> None:
        try:
            response = self._dispatch(request)
        finally:
            with self._dispatched:
                self._undispatched -= 1
                self._dispatched.notify_all()
        if response.status != 200:  # Slack already has its 200; say what Bolt would have answered instead
            log.info("Bolt answered HTTP %s to an event acked before dispatch", response.status)


class HttpServer:
    """uvicorn serving SlackEvents on host:port (port 0: a free one); in the foreground or in a thread (tests)."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 3000, signing_secret: str | None = None):
        self.socket = _listening_socket(host, port)
        self.events = SlackEvents(app, signing_secret)
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


async def _send(send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
