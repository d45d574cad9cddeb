"""FakeSlack: the Slack Web API on a loopback port, recording every call, checking Block Kit, injecting faults.

`rollout demo` runs the bot against it; the tests do too (tests/fakes re-exports it)."""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from slack_sdk import WebClient

from .block_kit import message_errors, view_errors
from .loopback import JsonRequestHandler, LoopbackServer, ServedFake
from .methods import METHODS, error
from .payloads import BOT_USER_ID
from .workspace import Workspace

JSON_PARAMS = ("blocks", "attachments", "view", "files")
VIEW_METHODS = ("views.open", "views.push", "views.update", "views.publish")


@dataclass(frozen=True)
class Call:
    """One request that reached the fake: params merged from query, form and JSON body."""

    method: str
    params: dict
    headers: dict
    time: float
    path: str = ""
    status: int = 200
    response: dict | None = None

    @property
    def ok(self) -> bool:
        """Whether Slack accepted it (HTTP 200 and "ok": true)."""
        return self.status == 200 and bool(self.response and self.response.get("ok"))


@dataclass(frozen=True)
class Violation:
    """A Block Kit limit a call broke."""

    method: str
    errors: list[str]


@dataclass(frozen=True)
class Fault:
    """An injected failure: an HTTP status, or status 0 to drop the connection unanswered; with `error`, a 200 whose
    body is Slack's refusal (`{"ok": false, "error": "not_in_channel"}`)."""

    status: int
    retry_after: int | None = None
    error: str | None = None


@dataclass
class RateLimit:
    """At most `per_second` calls in any one-second window (to one method, or to all)."""

    per_second: int
    method: str | None = None
    recent: deque = field(default_factory=deque)

    def admits(self, method: str, now: float) -> bool:
        """Count this call if it fits in the window."""
        if self.method not in (None, method):
            return True
        while self.recent and now - self.recent[0] >= 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.per_second:
            return False
        self.recent.append(now)
        return True


class _SlackHandler(JsonRequestHandler):
    def do_POST(self) -> None:
        self.server.owner.handle(self)

    do_GET = do_POST


class FakeSlack(ServedFake):
    """Slack's Web API on http://127.0.0.1:<port>/api/, plus response_url and file-upload endpoints."""

    def __init__(self, bot_user_id: str = BOT_USER_ID, usergroups: dict[str, list[str]] | None = None):
        self.workspace = Workspace(bot_user_id, usergroups)
        self._calls: list[Call] = []
        self._violations: list[Violation] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._rate_limit: RateLimit | None = None
        self._holds: dict[str, deque[bool]] = {}  # method -> for each call to hold: act on it once released?
        self._held: list[str] = []  # the methods of the calls held so far
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._server = LoopbackServer(_SlackHandler, self)
        self.workspace.root_url = self._server.root_url

    # -- addresses ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The Web API base URL for WebClient(base_url=...), with its trailing slash."""
        return f"{self._server.root_url}/api/"

    def response_url(self, response_id: str) -> str:
        """A response_url (as in slash commands and actions) whose posts are recorded as method "response_url"."""
        return f"{self._server.root_url}/response/{response_id}"

    def client(self, token: str = "xoxb-test", **kwargs) -> WebClient:
        """A slack_sdk WebClient pointed at this fake."""
        return WebClient(token=token, base_url=self.base_url, **kwargs)

    # -- what tests read ---------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every call so far, in arrival order (a snapshot)."""
        with self._changed:
            return list(self._calls)

    @property
    def violations(self) -> list[Violation]:
        """Every Block Kit limit broken so far (a snapshot)."""
        with self._changed:
            return list(self._violations)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one method, e.g. "chat.postMessage" or "response_url"."""
        return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10, predicate=None) -> list[Call]:
        """Block until `count` calls to `method` (matching `predicate`) arrived; returns all that match."""
        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and (predicate is None or predicate(c))]

        with self._changed:
            if self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                return matching()
            seen = [c.method for c in self._calls]
        raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s; calls so far: {seen}")

    def wait_for_call(self, predicate, since: int = 0, timeout: float = 10) -> Call | None:
        """The first call after the first `since` calls that matches `predicate`, waiting up to `timeout` seconds for
        it to arrive; None if none did."""
        def found() -> Call | None:
            return next((c for c in self._calls[since:] if predicate(c)), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout)
            return found()

    # -- what tests arrange -----------------------------------------------------------------------------------

    def fail_next(self, method: str, times: int = 1, status: int = 429, retry_after: int | None = 1) -> None:
        """Answer the next `times` calls to `method` with `status` (429 ratelimited, 500, 503...) and Retry-After."""
        with self._changed:
            self._faults.setdefault(method, deque()).extend([Fault(status, retry_after)] * times)

    def refuse_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with Slack's refusal `error` (not_in_channel, channel_not_found...)
        without acting on them."""
        with self._changed:
            self._faults.setdefault(method, deque()).extend([Fault(200, None, error)] * times)

    def clear_faults(self) -> None:
        """Answer every call normally again: queued failures and refusals are forgotten, any rate limit lifted."""
        with self._changed:
            self._faults.clear()
            self._rate_limit = None

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without answering the next `times` calls to `method`."""
        with self._changed:
            self._faults.setdefault(method, deque()).extend([Fault(0)] * times)

    def rate_limit(self, per_second: int | None, method: str | None = None) -> None:
        """Answer 429 + Retry-After: 1 beyond `per_second` calls a second (to `method`, or all); None lifts it."""
        with self._changed:
            self._rate_limit = RateLimit(per_second, method) if per_second else None

    def hold_next(self, method: str, times: int = 1, act: bool = True) -> None:
        """Keep the next `times` calls to `method` waiting, unanswered, until `release` (a Slack slow to answer);
        then act on them as usual (`act`), or drop them unanswered without acting (as if they never arrived)."""
        with self._changed:
            self._holds.setdefault(method, deque()).extend([act] * times)

    def wait_held(self, method: str, count: int = 1, timeout: float = 30) -> None:
        """Block until `count` calls to `method` are being held (or were)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._held.count(method) >= count, timeout):
                raise AssertionError(f"expected {count} held call(s) to {method} within {timeout}s")

    def release(self) -> None:
        """Let every held call go (and those held from now on pass at once)."""
        self._released.set()

    def stop(self) -> None:
        """Let held calls go, then stop serving."""
        self.release()
        super().stop()

    # -- serving ------------------------------------------------------------------------------------------------

    def handle(self, request: JsonRequestHandler) -> None:
        """Route one HTTP request: /api/<method>, /response/<id> or /upload/<file id>."""
        url = urlsplit(request.path)
        body = request.read_body()
        kind, _, name = url.path.strip("/").partition("/")
        if kind == "upload":
            return self._upload(request, name, body)
        try:
            params = parse_params(request.headers.get("Content-Type", ""), body, url.query)
        except ValueError:  # malformed JSON or UTF-8
            self._record(request, name, {}, 200, error("invalid_json"))
            return request.send_json(200, error("invalid_json"))
        if kind == "api":
            token = bearer_token(request.headers.get("Authorization", "")) or params.get("token")
            return self._serve(request, name, params, lambda: self._answer(name, params, token))
        if kind == "response":
            return self._serve(request, "response_url", params, lambda: self._answer_response_url(params))
        request.send_json(404, error("not_found"))

    def _serve(self, request: JsonRequestHandler, method: str, params: dict, answer) -> None:
        if not self._wait_if_held(method):
            return self._inject(request, method, params, Fault(0))
        fault = self._take_fault(method)
        if fault is not None:
            return self._inject(request, method, params, fault)
        with self._changed:
            response = answer()
        self._record(request, method, params, 200, response)
        request.send_json(200, response)

    def _answer(self, method: str, params: dict, token: str | None) -> dict:
        handler = METHODS.get(method)
        if handler is None:
            return error("unknown_method")
        if not token:
            return error("not_authed")
        if problem := token_problem(method, token):
            return error(problem)
        if problem := self._block_problem(method, params):
            return problem
        return handler(self.workspace, params)

    def _answer_response_url(self, params: dict) -> dict:
        return self._block_problem("response_url", params) or {"ok": True}

    def _block_problem(self, method: str, params: dict) -> dict | None:
        if method in VIEW_METHODS:
            errors = view_errors(params.get("view"))
        else:
            errors = message_errors(params)
        if not errors:
            return None
        self._violations.append(Violation(method, errors))
        messages = {"messages": [f"[ERROR] {e}" for e in errors]}
        if method in VIEW_METHODS:
            return error("invalid_arguments", response_metadata=messages)
        return error("invalid_blocks", errors=errors, response_metadata=messages)

    def _upload(self, request: JsonRequestHandler, file_id: str, body: bytes) -> None:
        with self._changed:
            file = self.workspace.files.get(file_id)
            if file is not None:
                file["content"] = body
        status = 200 if file is not None else 404
        self._record(request, "upload", {"file_id": file_id, "size": len(body)}, status, None)
        request.send_body(status, f"OK - {len(body)}".encode() if file else b"Not Found", "text/plain")

    def _wait_if_held(self, method: str) -> bool:
        """Hold the call if one is asked for; whether to act on it."""
        with self._changed:
            holds = self._holds.get(method)
            if not holds:
                return True
            act = holds.popleft()
            self._held.append(method)
            self._changed.notify_all()
        self._released.wait()
        return act

    def _take_fault(self, method: str) -> Fault | None:
        with self._changed:
            queued = self._faults.get(method)
            if queued:
                return queued.popleft()
            if self._rate_limit and not self._rate_limit.admits(method, time.monotonic()):
                return Fault(429, 1)
        return None

    def _inject(self, request: JsonRequestHandler, method: str, params: dict, fault: Fault) -> None:
        if fault.status == 0:
            self._record(request, method, params, 0, None)
            request.close_connection = True
            return
        body = error(fault.error or ("ratelimited" if fault.status == 429 else "internal_error"))
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        self._record(request, method, params, fault.status, body)
        request.send_json(fault.status, body, headers)

    def _record(self, request: JsonRequestHandler, method: str, params: dict, status: int, response) -> None:
        call = Call(method, params, dict(request.headers), time.time(), urlsplit(request.path).path, status, response)
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()


def parse_params(content_type: str, body: bytes, query: str) -> dict:
    """Merge query string, form or JSON body; decode blocks/attachments/view/files sent as JSON strings."""
    params = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    text = body.decode("utf-8")
    if "json" in content_type:
        params.update(json.loads(text or "{}"))
    elif text:
        params.update({key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()})
    for key in JSON_PARAMS:
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except json.JSONDecodeError:
                pass  # left as sent, so the Block Kit check reports it
    return params


def bearer_token(authorization: str) -> str | None:
    """The token in an "Authorization: Bearer ..." header."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def token_problem(method: str, token: str) -> str | None:
    """Slack's answer to a token of the wrong kind: app-level tokens only open Socket Mode connections."""
    if not token.startswith(("xoxb-", "xoxp-", "xapp-")):
        return "invalid_auth"
    if (method == "apps.connections.open") != token.startswith("xapp-"):
        return "not_allowed_token_type"
    return None
