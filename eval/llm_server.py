"""A scripted OpenAI-compatible server on 127.0.0.1, for testing kb.answer.llm over real HTTP.

Mocks of the client would hide exactly what we need to see: timeouts, broken streams, HTTP
errors and garbage as llama-index and the openai client actually meet them. The server speaks
POST /v1/chat/completions (SSE when ``stream`` is true, JSON otherwise) and GET /v1/models,
answers each request with the next scripted :class:`Reply`, and records every request.

When the script runs out, an optional *responder* — a function of the request's messages
returning a Reply — answers instead. That lets an evaluation run hundreds of questions
through the real client path with replies built from whatever provisions each prompt holds
(eval/answers.py plants errors that way); :func:`provisions_in_prompt` reads them back.
:func:`question_writer` is such a responder for the question-generation prompts of
kb.quiz.llm_generate: it writes valid question JSON from the provisions it was shown.

It lives in eval/ (not tests/) because the answer evaluation runs it in-process outside
pytest. Also holds :func:`law_citation`, a test helper that builds a Citation from the real
行政处罚法 sample.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kb.answer.model import Citation

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


Responder = Callable[[list[dict[str, Any]]], Reply]


class FakeLLM:
    """The server. Use as a context manager (or the fixture); ``url`` ends in /v1.

    ``responder`` (optional) answers a chat request when no scripted reply is left; it is
    called on the handler thread with the request's ``messages``.
    """

    def __init__(self, model: str = "fake-qwen", responder: Responder | None = None) -> None:
        self.model = model
        self.responder = responder
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

    def next_reply(self, messages: list[dict[str, Any]] | None = None) -> Reply | None:
        """The next scripted reply, else the responder's, else None."""
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return self.responder(messages or []) if self.responder else None

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
            try:
                reply = server.next_reply((body or {}).get("messages", []))
            except Exception as exc:  # a responder bug shows up as itself (410 is not retried)
                msg = json.dumps({"error": {"message": f"llm_server: responder failed: {exc!r}"}})
                self._send(410, msg.encode())
                return
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


_PROVISION = re.compile(r"<<<条文 \[(\d+)\]\n.*?\n正文：\n(.*?)\n>>>", re.S)
_CUT = "\n（以下从略）"


def provisions_in_prompt(messages: list[dict[str, Any]]) -> dict[int, str]:
    """The numbered provision texts a kb.answer.prompt user message supplied: {n: text}.

    A long provision is cut in the prompt (「以下从略」); the text returned is the part the
    model saw, so anything quoted from it is still verbatim in the full chunk.
    """
    user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    return {int(n): body.removesuffix(_CUT) for n, body in _PROVISION.findall(user)}


_QTYPE = re.compile(r"^题型：\S+?（(\w+)）$", re.M)
_COUNT = re.compile(r"^题数：(\d+)$", re.M)


def requested_question(messages: list[dict[str, Any]]) -> tuple[str, int]:
    """The question type and count a kb.quiz.llm_generate prompt asks for: ("judge", 2)."""
    user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    qtype, count = _QTYPE.search(user), _COUNT.search(user)
    return (qtype.group(1) if qtype else "", int(count.group(1)) if count else 1)


def question_writer(messages: list[dict[str, Any]]) -> Reply:
    """A well-behaved question writer for kb.quiz.llm_generate prompts, built from whatever
    provisions the prompt holds: 判断 quotes a standalone sentence as it stands (对); 填空
    blanks the first enforcement fact (a deadline, an amount…) of a sentence. Other types get
    an empty list, as a model that finds nothing to ask would answer. Tests plant bad output
    by scripting replies; this is the model that behaves."""
    from kb.quiz.facts import find_facts
    from kb.quiz.judge import standalone
    from kb.quiz.sentences import sentences

    qtype, count = requested_question(messages)
    out: list[dict[str, Any]] = []
    for n, body in provisions_in_prompt(messages).items():
        for sent in sentences(body):
            if len(out) >= count:
                break
            if sent.is_lead or sent.is_item:
                continue
            if qtype == "judge" and standalone(sent.text):
                out.append({"type": "判断", "stem": f"{sent.text}。", "options": ["对", "错"], "answer": "对",
                            "explanation": "条文原文如此。", "quote": sent.text, "provision": n})
            facts = find_facts(sent.text) if qtype == "blank" else []
            if facts and sent.text.count(facts[0].value) == 1:
                f = facts[0]
                out.append({"type": "填空", "stem": f"{sent.text[:f.start]}______{sent.text[f.end:]}。", "options": [],
                            "answer": f.value, "explanation": f"应填「{f.value}」。", "quote": sent.text,
                            "provision": n})
    return text(json.dumps({"questions": out}, ensure_ascii=False))


LAW = "law_xingzheng-chufa-fa_2021.md"


def law_citation(n: int, article: str, status: str = "current", version: str = "2021-01-22") -> Citation:
    """Citation [n] for one article of the real 行政处罚法 sample, read at test time (skips the
    test when the sample corpus is absent)."""
    from tests.conftest import sample  # test-only helper; the eval never calls this

    text = sample(LAW).read_text(encoding="utf-8")
    m = re.search(rf"^{article} .*?(?=^第[一二三四五六七八九十百]+条 |^## |\Z)", text, re.S | re.M)
    assert m, f"{article} not found in {LAW}"
    body = m.group(0).strip()
    return Citation(n=n, doc_key=f"行政处罚法@{version}", title="中华人民共和国行政处罚法", version=version,
                    status=status, path=article, label=article, quote=body, chunk_key=f"行政处罚法@{version}/{article}",
                    chunk_text=body, doc_type="law")
