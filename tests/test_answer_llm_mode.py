"""Answerer in LLM mode, end to end: real retrieval over five sample documents, the real
llama-index client, the loopback server. tests/test_llm_answer.py covers generate() alone;
this checks what the composer makes of its results — the mode, the citations kept, the notes,
the fallback to extractive — because that is what an officer is shown."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from eval.llm_server import FakeLLM, Reply, provisions_in_prompt, raw, text
from kb.answer import NO_BASIS, Answerer
from kb.answer.prompt import NO_ANSWER
from kb.answer.sentences import split_sentences
from kb.answer.verify import quote_is_verbatim
from kb.retrieve import Retriever

QUESTION = "哪些情形执法人员可以当场收缴罚款"  # answered (not abstained) over small_kb
FELL_BACK = "已改用摘录式回答"


@pytest.fixture(scope="module")
def retriever(small_kb):
    r = Retriever(small_kb)
    yield r
    r.close()


@pytest.fixture
def server():
    with FakeLLM() as s:
        yield s


def answerer_for(small_kb, retriever: Retriever, url: str, model: str = "fake-qwen") -> Answerer:
    settings = dataclasses.replace(small_kb, llm_base_url=url, llm_model=model, llm_timeout=3.0)
    return Answerer(settings, retriever)


def first_sentence(provision: str) -> str:
    """A verbatim sentence of the provision, without its end mark, that holds no quote marks."""
    for s in split_sentences(provision):
        core = s.text.strip().rstrip("。；：")
        if len(core) >= 8 and not any(ch in core for ch in "「」“”[]"):
            return core
    raise AssertionError(f"no quotable sentence in {provision[:60]!r}")


def quoting_first(extra: str = ""):
    """A responder quoting provision [1] verbatim (plus ``extra``); remembers the quote."""
    seen: list[str] = []

    def respond(messages) -> Reply:
        quote = first_sentence(provisions_in_prompt(messages)[1])
        seen.append(quote)
        return text(f"「{quote}」[1]。{extra}")

    return respond, seen


def test_a_good_reply_becomes_an_llm_answer_with_verified_citations(small_kb, retriever, server):
    server.responder, quotes = quoting_first()
    a = answerer_for(small_kb, retriever, server.url).answer(QUESTION)
    assert a.mode == "llm" and not a.abstained and a.text == f"「{quotes[0]}」[1]。"
    assert [c.n for c in a.citations] == [1]
    c = a.citations[0]
    assert quote_is_verbatim(c.quote, c.chunk_text) and quote_is_verbatim(quotes[0], c.chunk_text)
    assert not any("已删除" in n or FELL_BACK in n for n in a.notes)
    (req,) = [r for r in server.requests if r.method == "POST"]
    assert QUESTION in req.content("user") and c.chunk_text[:20] in req.content("user")


def test_a_planted_bad_citation_is_removed_with_a_note(small_kb, retriever, server):
    server.responder, quotes = quoting_first("\n违法所得应当全部没收并处十倍罚款[9]。")
    a = answerer_for(small_kb, retriever, server.url).answer(QUESTION)
    assert a.mode == "llm" and a.text == f"「{quotes[0]}」[1]。"
    assert "[9]" not in a.text and "十倍罚款" not in a.text
    assert [c.n for c in a.citations] == [1]
    assert any("已删除 1 句" in n for n in a.notes)


def test_an_endpoint_that_is_down_falls_back_to_extractive(small_kb, retriever):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    a = answerer_for(small_kb, retriever, f"http://127.0.0.1:{port}/v1").answer(QUESTION)
    assert a.mode == "extractive" and not a.abstained and a.citations
    assert any(FELL_BACK in n and "cannot reach" in n for n in a.notes)
    assert all(quote_is_verbatim(c.quote, c.chunk_text) for c in a.citations)


@pytest.mark.parametrize("reply", [
    raw(b"\x00\xff\xfe<html>502 Bad Gateway</html>\x81", content_type="text/html"),  # garbage bytes
    text("罚款一百万元，情节严重的吊销执照。"),  # fluent, but cites nothing
])
def test_garbage_output_falls_back_to_extractive(small_kb, retriever, server, reply):
    server.script(reply)
    a = answerer_for(small_kb, retriever, server.url).answer(QUESTION)
    assert a.mode == "extractive" and not a.abstained and a.citations
    assert any(FELL_BACK in n for n in a.notes) and FELL_BACK in a.reason
    assert "一百万" not in a.text


def test_a_model_abstention_becomes_an_abstained_answer(small_kb, retriever, server):
    server.script(text(f"{NO_ANSWER}。"))
    a = answerer_for(small_kb, retriever, server.url).answer(QUESTION)
    assert a.abstained and a.mode == "llm" and a.text == NO_BASIS and not a.citations
    assert "no basis" in a.reason
