"""Answers with verifiable citations.

``answer(question, history=None, filters=None) -> Answer``. The order of decisions:
1. an empty question gets a clear message, a long paste is cut (kb.query.normalize_query);
2. a follow-up is resolved against the previous turn (kb.answer.followup);
3. an explicit article reference returns that article whole;
4. otherwise the retrieval evidence decides whether the knowledge base has a basis at all
   (kb.answer.abstain) — if not, we say 「知识库中未找到相关依据」 and offer the nearest
   provisions as possibly related;
5. with an LLM configured, a generated answer whose every sentence is checked against the
   supplied provisions (kb.answer.verify); on any LLM failure, the extractive answer, saying so;
6. without one, the extractive answer (kb.answer.extractive).
Every quote is a verbatim slice of its cited chunk; notes say which version is cited when it
is not the current one or when other versions exist.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kb.answer.abstain import Evidence, gather, should_abstain, warm_up
from kb.answer.extractive import MAX_PROVISIONS, citation_for, extract, whole_provision
from kb.answer.followup import resolve_followup
from kb.answer.model import Answer, Citation
from kb.background import BackgroundMatch, hint_titles
from kb.config import Settings, load_settings
from kb.errors import KBError
from kb.model import Hit
from kb.query import jargon_in, normalize_query, with_jargon
from kb.rerank import Signals
from kb.retrieve import Retriever

__all__ = ["Answer", "Answerer", "Citation", "answer"]

NO_BASIS = "知识库中未找到相关依据。"
STATUS_ZH = {"current": "现行有效", "amended": "已被修订", "repealed": "已废止", "unknown": "效力未标注"}
RETRIEVE_K = 6


class Answerer:
    """Holds the retriever (model + store); one per process."""

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None) -> None:
        self.settings = settings or load_settings()
        self.retriever = retriever or Retriever(self.settings)
        try:
            _ = self.retriever.background  # a misconfigured background fails here, not on a question
        except KBError:
            if retriever is None:  # ours: release the store (one holder per Edge folder)
                self.retriever.close()
            raise
        warm_up()  # jieba's dictionaries load here, not on the first officer's question

    def answer(self, question: str, history: list[str] | None = None, filters: dict[str, Any] | None = None,
               on_token: Callable[[str], None] | None = None) -> Answer:
        q = normalize_query(question)
        if not q:
            return Answer(question, "请输入要查询的问题。", abstained=True, reason="empty question", mode="none")
        resolved = resolve_followup(q, [normalize_query(h) for h in history or []])
        doc_types = (filters or {}).get("doc_types")
        result = self.retriever.search(resolved, k=RETRIEVE_K, doc_types=doc_types)
        hits = result.hits
        direct = [h for h in hits if any(r.article and h.path == r.article for r in result.references)]
        # only what this question cites: a follow-up carries the previous question along
        not_held = [f"知识库中没有名为《{name}》的文件" for name in result.not_held if name in q]
        if direct:
            ex = whole_provision(direct)
            return self._finish(Answer(question, ex.text, ex.citations, 1.0, mode="reference",
                                       resolved_question=resolved, notes=[f"{n}，无法引用其条文。" for n in not_held]))
        if result.missing or not_held:
            # An article number alone would find the same-numbered article of other laws; that
            # reads like an answer and is not one.
            advice = "请核对条文序号。" if result.missing else "可在法规库中查看已收录的文件。"
            return Answer(question, "；".join([*result.missing, *not_held]) + "。" + advice, abstained=True,
                          reason="the referenced provision or document is not in the knowledge base",
                          mode="none", resolved_question=resolved)
        if not hits:
            return Answer(question, NO_BASIS, abstained=True, reason="nothing retrieved", mode="none",
                          resolved_question=resolved)
        # An officers' name for a rule (首违不罚) is judged and quoted by the statute's wording, as it was searched.
        searched = with_jargon(resolved)
        evidence, signals, background = self.evidence(searched, hits, doc_types)
        abstain, conf = should_abstain(evidence)
        if abstain and not result.scoped_to:
            related = [citation_for(i + 1, h, 0, _first_sentence_end(h.text), None) for i, h in enumerate(hits[:3])]
            return Answer(question, NO_BASIS, abstained=True, confidence=conf, mode="none", related=related,
                          reason=f"retrieval evidence too weak (confidence {conf:.2f})", resolved_question=resolved,
                          notes=_not_held_note(evidence.background_margin, background))
        matches = [x.match(self.retriever.rerank) for x in signals]
        answer = self._compose(question, resolved, searched, hits, matches, history, on_token)
        answer.confidence = conf
        answer.notes.extend(f"「{name}」按条文的表述理解为「{wording}」。" for name, wording in jargon_in(resolved))
        return self._finish(answer)

    def evidence(self, searched: str, hits: list[Hit], doc_types: list[str] | None = None
                 ) -> tuple[Evidence, list[Signals], list[BackgroundMatch]]:
        """What decides whether to answer ``searched`` (the question as searched, officers'
        names for rules spelled out) from its hybrid ``hits``: the abstention evidence, the
        second-stage signals of the provisions an answer may quote, and the nearest documents
        of the background. eval/calibrate_abstain fits the model on exactly this."""
        neighbours = self.retriever.dense_neighbours(searched, doc_types=doc_types)
        signals = self.retriever.signals(searched, hits[:MAX_PROVISIONS])
        background = self.retriever.background_nearest(searched)
        evidence = gather(searched, hits, [n.score for n in neighbours], signals[0], self.retriever.term_in_corpus,
                          background)
        return evidence, signals, background

    def _compose(self, question: str, resolved: str, searched: str, hits: list[Hit], matches: list[float],
                 history: list[str] | None, on_token: Callable[[str], None] | None) -> Answer:
        from kb.answer import llm

        note = ""
        if llm.llm_configured(self.settings):
            citations = [citation_for(i + 1, h, 0, len(h.text), None) for i, h in enumerate(hits[:MAX_PROVISIONS])]
            try:
                _draft, verified = llm.generate(resolved, citations, self.settings, history=history,
                                                on_token=on_token)
            except llm.LLMError as exc:
                note = f"大模型服务不可用或输出无法核验（{exc}），已改用摘录式回答。"
            else:
                if verified.abstained:
                    return Answer(question, NO_BASIS, abstained=True, mode="llm", resolved_question=resolved,
                                  reason="the model found no basis in the supplied provisions")
                used = [c for c in citations if c.n in verified.used]
                notes = [f"已删除 {len(verified.dropped)} 句无法在所引条文中核验的内容。"] if verified.dropped else []
                return Answer(question, verified.text, used, mode="llm", notes=notes, resolved_question=resolved)
        ex = extract(searched, hits[:MAX_PROVISIONS], matches=matches)
        answer = Answer(question, ex.text, ex.citations, mode="extractive", resolved_question=resolved)
        if note:
            answer.notes.append(note)
            answer.reason = note
        return answer

    def _finish(self, answer: Answer) -> Answer:
        """Say which version is cited when it is not the current one, or when others exist."""
        titles = {}
        for d in self.retriever.documents:
            titles.setdefault(d.title, []).append(d)
        for c in answer.citations:
            versions = titles.get(c.title, [])
            if c.status != "current":
                version = c.version or "未标注日期"
                answer.notes.append(f"《{c.title}》引用的是{version}版本（{STATUS_ZH.get(c.status, c.status)}）。")
            elif len(versions) > 1:
                answer.notes.append(f"知识库中《{c.title}》有{len(versions)}个版本，本答案引用现行的{c.version}版本。")
        answer.notes = list(dict.fromkeys(answer.notes))
        return answer


def _not_held_note(margin: float | None, background: list[BackgroundMatch]) -> list[str]:
    """Where the answer probably lies, when a document we do not hold clearly fits the
    question better than anything we hold."""
    titles = hint_titles(background, margin)
    if not titles:
        return []
    return [f"这个问题可能涉及知识库未收录的{'、'.join(f'《{t}》' for t in titles)}，可查阅该文件或请管理员收录。"]


def _first_sentence_end(text: str) -> int:
    for i, ch in enumerate(text):
        if ch in "。；\n" and i > 10:
            return i + 1
    return len(text)


_default: Answerer | None = None
_lock = threading.Lock()


def answer(question: str, history: list[str] | None = None, filters: dict[str, Any] | None = None) -> Answer:
    """Answer with the process-wide Answerer built from the configuration."""
    global _default
    with _lock:
        if _default is None:
            _default = Answerer()
    return _default.answer(question, history, filters)
