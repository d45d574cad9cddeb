"""FakeOpenAI: an OpenAI-compatible chat completions endpoint on a loopback port, answering from a reply queue."""

import itertools
import json
import re
import threading
import time
from collections.abc import Callable

import pytest

from .loopback import JsonRequestHandler, LoopbackServer, ServedFake

_ids = itertools.count(1)


def openai_error(message: str, code: str | None = None) -> dict:
    """OpenAI's error body."""
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


def completion(request: dict, text: str) -> dict:
    """A non-streaming chat.completion answering `request` with `text`."""
    return {
        "id": f"chatcmpl-fake{next(_ids)}", "object": "chat.completion", "created": int(time.time()),
        "model": request.get("model", ""), "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": usage(request, text),
    }


def completion_chunks(request: dict, text: str) -> list[dict]:
    """The chat.completion.chunk events that stream `text`: role, one chunk per word, stop, then usage if asked."""
    base = {"id": f"chatcmpl-fake{next(_ids)}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": request.get("model", ""), "system_fingerprint": "fp_fake"}

    def chunk(delta: dict, finish_reason: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

    pieces = re.findall(r"\s*\S+", text) or [text]
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in pieces]
    chunks.append(chunk({}, "stop"))
    if (request.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": usage(request, text)})
    return chunks


def usage(request: dict, text: str) -> dict:
    """Token counts, approximated by words."""
    prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
    answer = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": prompt + answer}


class _OpenAIHandler(JsonRequestHandler):
    def do_GET(self) -> None:
        self.server.owner.handle(self)

    do_POST = do_GET


class FakeOpenAI(ServedFake):
    """POST /v1/chat/completions (JSON or SSE stream) and GET /v1/models; replies from `.replies`, then `.responder`."""

    def __init__(self, models: tuple[str, ...] = ("fake-model",)):
        self.models = models
        self.replies: list[str] = []
        self.responder: Callable[[dict], str] | None = None
        self._requests: list[dict] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(_OpenAIHandler, self)

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, e.g. for ChatOpenAI(base_url=...)."""
        return f"{self._server.root_url}/v1"

    @property
    def requests(self) -> list[dict]:
        """Every chat completion request body so far (a snapshot)."""
        with self._lock:
            return list(self._requests)

    def handle(self, request: JsonRequestHandler) -> None:
        """Route one HTTP request."""
        path = request.path.split("?")[0].rstrip("/")
        body = request.read_body()
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return request.send_json(401, openai_error("You didn't provide an API key.", "missing_api_key"))
        if request.command == "GET" and path == "/v1/models":
            return request.send_json(200, self._model_list())
        if request.command == "POST" and path == "/v1/chat/completions":
            return self._chat_completion(request, json.loads(body or b"{}"))
        request.send_json(404, openai_error(f"Unknown request URL: {request.command} {path}", "unknown_url"))

    def _chat_completion(self, request: JsonRequestHandler, body: dict) -> None:
        text = self._next_reply(body)
        if text is None:
            message = "FakeOpenAI has no reply: append to .replies or set .responder"
            return request.send_json(400, openai_error(message, "fake_no_reply"))
        if body.get("stream"):
            return send_event_stream(request, completion_chunks(body, text))
        request.send_json(200, completion(body, text))

    def _next_reply(self, body: dict) -> str | None:
        with self._lock:
            self._requests.append(body)
            if self.replies:
                return self.replies.pop(0)
        return self.responder(body) if self.responder else None

    def _model_list(self) -> dict:
        models = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for m in self.models]
        return {"object": "list", "data": models}


def send_event_stream(request: JsonRequestHandler, events: list[dict]) -> None:
    """Write server-sent events in a chunked response, ending with OpenAI's `data: [DONE]`."""
    request.send_response(200)
    request.send_header("Content-Type", "text/event-stream; charset=utf-8")
    request.send_header("Cache-Control", "no-cache")
    request.send_header("Transfer-Encoding", "chunked")
    request.end_headers()
    for data in [json.dumps(event) for event in events] + ["[DONE]"]:
        payload = f"data: {data}\n\n".encode("utf-8")
        request.wfile.write(f"{len(payload):x}\r\n".encode("ascii") + payload + b"\r\n")
        request.wfile.flush()
    request.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def fake_openai():
    """A running FakeOpenAI for one test (import this fixture into a conftest to use it)."""
    with FakeOpenAI() as fake:
        yield fake
