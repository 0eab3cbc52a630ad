"""A scripted OpenAI-compatible server on 127.0.0.1, for testing kb.answer.llm over real HTTP.

Mocks of the client would hide exactly what we need to see: timeouts, broken streams, HTTP
errors and garbage as llama-index and the openai client actually meet them. The server speaks
POST /v1/chat/completions (SSE when ``stream`` is true, JSON otherwise) and GET /v1/models,
answers each request with the next scripted :class:`Reply`, and records every request.

Also holds :func:`law_citation`, which builds a Citation from the real 行政处罚法 sample.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kb.answer.model import Citation
from tests.conftest import sample

MAX_BODY = 2_000_000
MAX_SLEEP = 10.0  # no scripted delay outlives a test run


@dataclass
class Reply:
    """One scripted response. ``kind``: text | status | raw | sse (pre-built SSE lines)."""

    kind: str = "text"
    text: str = ""
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before the status line (past the client timeout = timeout)
    stall_after: int = -1  # for streamed text: stop sending after this many chunks, then sleep
    chunk_chars: int = 6
    headers: dict[str, str] = field(default_factory=dict)


def text(content: str, **kw: Any) -> Reply:
    return Reply("text", text=content, **kw)


def status(code: int, message: str = "scripted failure") -> Reply:
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": code}}).encode()
    # Tell the openai client how long to back off, so the retry costs milliseconds.
    return Reply("status", status=code, body=body, headers={"retry-after-ms": "20"})


def raw(body: bytes, content_type: str = "text/event-stream", code: int = 200) -> Reply:
    return Reply("raw", status=code, body=body, content_type=content_type)


def sse(*events: str) -> Reply:
    """Pre-built ``data:`` payloads, sent as SSE (for malformed chunks and error events)."""
    return Reply("raw", body="".join(f"data: {e}\n\n" for e in events).encode(), content_type="text/event-stream")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("messages", [])

    def content(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)


class FakeLLM:
    """The server. Use as a context manager (or the fixture); ``url`` ends in /v1."""

    def __init__(self, model: str = "fake-qwen") -> None:
        self.model = model
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-llm-{self.port}", daemon=True)
        self._thread.start()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply | None:
        with self._lock:
            return self.replies.popleft() if self.replies else None

    def record(self, request: Request) -> None:
        with self._lock:
            if len(self.requests) < 1000:
                self.requests.append(request)

    def close(self) -> None:
        """Wake sleeping handlers, stop serving, release the port."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler_for(server: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a stuck client cannot hold a handler thread forever

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            server.record(Request("GET", self.path, dict(self.headers), None))
            if self.path.rstrip("/") == "/v1/models":
                models = {"object": "list", "data": [{"id": server.model, "object": "model", "created": 0,
                                                      "owned_by": "tests"}]}
                self._send(200, json.dumps(models).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b'{"error": {"message": "request too large"}}')
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            server.record(Request("POST", self.path, dict(self.headers), body))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, b'{"error": {"message": "not found"}}')
                return
            reply = server.next_reply()
            if reply is None:  # 410 is not retried, so a missing script shows up as itself
                self._send(410, b'{"error": {"message": "llm_server: no scripted reply left"}}')
                return
            if reply.delay and server.stopping.wait(min(reply.delay, MAX_SLEEP)):
                return
            try:
                if reply.kind == "text":
                    if body and body.get("stream"):
                        self._stream_text(reply)
                    else:
                        self._send(200, json.dumps(_completion(server.model, reply.text)).encode())
                else:
                    self._send(reply.status, reply.body, reply.content_type, reply.headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test); nothing to tell it

        def _send(self, code: int, payload: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def _stream_text(self, reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
            for i, event in enumerate(_chunks(server.model, reply.text, reply.chunk_chars)):
                if i == reply.stall_after and server.stopping.wait(MAX_SLEEP):
                    return
                self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def _chunks(model: str, content: str, size: int) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    for i in range(0, len(content), size):
        yield {**base, "choices": [{"index": 0, "delta": {"content": content[i:i + size]}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


LAW = "law_xingzheng-chufa-fa_2021.md"


def law_citation(n: int, article: str, status: str = "current", version: str = "2021-01-22") -> Citation:
    """Citation [n] for one article of the real 行政处罚法 sample, read at test time."""
    text = sample(LAW).read_text(encoding="utf-8")
    m = re.search(rf"^{article} .*?(?=^第[一二三四五六七八九十百]+条 |^## |\Z)", text, re.S | re.M)
    assert m, f"{article} not found in {LAW}"
    body = m.group(0).strip()
    return Citation(n=n, doc_key=f"行政处罚法@{version}", title="中华人民共和国行政处罚法", version=version,
                    status=status, path=article, label=article, quote=body, chunk_key=f"行政处罚法@{version}/{article}",
                    chunk_text=body, doc_type="law")
