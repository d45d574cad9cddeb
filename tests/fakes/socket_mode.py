"""FakeSocketMode: Slack's Socket Mode WebSocket endpoint on ws://127.0.0.1:<port>/link, envelopes pushed by tests."""

import json
import threading
import uuid

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from . import payloads
from .slack_api import FakeSlack

HELLO = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": payloads.APP_ID},
         "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060}}


class FakeSocketMode:
    """Greets each connection with hello, sends envelopes to the newest one and records the app's acks.

    Stop this fake before closing a SocketModeHandler built with auto_reconnect_enabled=False: slack_sdk's builtin
    client otherwise spends up to 3 s in close(), waiting out a blocking recv.
    """

    def __init__(self, slack: FakeSlack | None = None):
        self._slack = slack
        self._server = serve(self._session, "127.0.0.1", 0, compression=None, close_timeout=1)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._changed = threading.Condition()
        self._connection: ServerConnection | None = None
        self._received: list[dict] = []
        self.connection_count = 0

    @property
    def url(self) -> str:
        """The WebSocket URL apps.connections.open hands out."""
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def start(self) -> "FakeSocketMode":
        """Start accepting connections; point the FakeSlack's apps.connections.open here."""
        self._thread.start()
        if self._slack is not None:
            self._slack.workspace.socket_mode_url = self.url
        return self

    def stop(self) -> None:
        """Close connections and the listening socket."""
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeSocketMode":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def received(self) -> list[dict]:
        """Every JSON message the app sent (acks included), a snapshot."""
        with self._changed:
            return list(self._received)

    def wait_connected(self, timeout: float = 10) -> ServerConnection:
        """Block until an app holds an open connection; returns it."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._connection is not None, timeout):
                raise AssertionError(f"no Socket Mode connection within {timeout}s")
            return self._connection

    def push(self, kind: str, payload: dict, accepts_response_payload: bool = False, **extra) -> str:
        """Send one envelope of `kind` (events_api, slash_commands, interactive); returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload, **extra}
        self.wait_connected().send(json.dumps(envelope))
        return envelope_id

    def push_event(self, event: dict, event_id: str | None = None, retry_attempt: int = 0,
                   retry_reason: str = "") -> str:
        """Deliver an event as Slack does over Socket Mode (same envelope as the HTTP Events API)."""
        payload = payloads.event_callback(event, event_id)
        return self.push("events_api", payload, retry_attempt=retry_attempt, retry_reason=retry_reason)

    def push_command(self, command: str = "/rollout", text: str = "", **fields) -> str:
        """Invoke a slash command; `fields` as in payloads.command_form (user_id, channel_id, response_url...)."""
        return self.push("slash_commands", payloads.command_form(command, text, **fields), True)

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> dict:
        """Block until the app acknowledged this envelope; returns the ack (with "payload" if it answered)."""
        def ack() -> dict | None:
            return next((m for m in self._received if m.get("envelope_id") == envelope_id), None)

        with self._changed:
            if self._changed.wait_for(lambda: ack() is not None, timeout):
                return ack()
        raise AssertionError(f"envelope {envelope_id} not acknowledged within {timeout}s")

    def _session(self, connection: ServerConnection) -> None:
        if connection.request.path.split("?")[0] != "/link":
            return connection.close(1008, "unknown path")
        with self._changed:
            self._connection = connection
            self.connection_count += 1
            self._changed.notify_all()
        try:
            connection.send(json.dumps(HELLO))
            for message in connection:
                self._receive(message)
        except ConnectionClosed:
            pass
        finally:
            self._forget(connection)

    def _receive(self, message: str | bytes) -> None:
        try:
            received = json.loads(message)
        except json.JSONDecodeError:
            received = {"text": message}
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()

    def _forget(self, connection: ServerConnection) -> None:
        with self._changed:
            if self._connection is connection:
                self._connection = None
            self._changed.notify_all()


@pytest.fixture
def fake_socket_mode(fake_slack):
    """A running FakeSocketMode wired to the `fake_slack` fixture's apps.connections.open."""
    with FakeSocketMode(fake_slack) as fake:
        yield fake
