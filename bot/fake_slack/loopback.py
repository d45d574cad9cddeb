"""A real HTTP server on a free loopback port, served from a daemon thread."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # fan-out benchmarks open many connections at once; the default backlog is 5


class LoopbackServer:
    """Serves `handler_class` on 127.0.0.1:<free port>; the handler reaches its owner as `self.server.owner`."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler], owner: object):
        self._server = _ThreadingServer(("127.0.0.1", 0), handler_class)
        self._server.owner = owner
        # A short poll keeps stop() quick: shutdown() waits for serve_forever's next poll.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root_url(self) -> str:
        """The server's origin, e.g. "http://127.0.0.1:54321"."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Start answering requests."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class ServedFake:
    """Start/stop and context-manager plumbing for a fake serving from `self._server`."""

    _server: LoopbackServer

    def start(self) -> Self:
        """Start serving; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class JsonRequestHandler(BaseHTTPRequestHandler):
    """Reads raw bodies and writes JSON replies over HTTP/1.1; stays quiet in test output."""

    protocol_version = "HTTP/1.1"

    def read_body(self) -> bytes:
        """The request body, as sent."""
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        """Write a complete JSON response."""
        self.send_body(status, json.dumps(body).encode("utf-8"), "application/json; charset=utf-8", headers)

    def send_body(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Write a complete response with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Keep request logs out of pytest output."""
