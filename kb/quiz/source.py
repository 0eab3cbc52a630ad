"""The provisions questions are made from, read from the store, and how a question cites one.

Generation reads live chunks only (``record=chunk, state=live``): a staged chunk of an
interrupted ingest must never become a question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kb.quiz.model import SourceRef
from kb.quiz.stems import text_hash
from kb.store import VectorStore, Where

# 执法领域 by law; market-regulation rules are recognised by their title.
FIELD_BY_LAW = {
    "食品安全法": "市场监管", "药品管理法": "市场监管", "城乡规划法": "城市管理", "环境保护法": "生态环境",
    "道路交通安全法": "交通运输", "安全生产法": "应急管理", "治安管理处罚法": "公安治安",
}


@dataclass(frozen=True)
class SourceChunk:
    """One stored chunk (an article or a part of a long one) with what a question needs."""

    doc_key: str
    title: str
    short_title: str
    doc_type: str
    version: str
    path: str
    part: int
    chunk_key: str
    text: str
    ordinal: int = 0

    @classmethod
    def from_payload(cls, p: dict) -> SourceChunk:
        return cls(p.get("doc_key", ""), p.get("title", ""), p.get("short_title", ""), p.get("doc_type", ""),
                   p.get("version", ""), p.get("path", ""), int(p.get("part", 0)), p.get("chunk_key", ""),
                   p.get("text", ""), int(p.get("ordinal", 0)))

    def ref(self, quote: str) -> SourceRef:
        """A SourceRef pinned to this chunk's current text; ``quote`` must be a verbatim span."""
        return SourceRef(self.doc_key, self.path, self.chunk_key, text_hash(self.text), quote)


def load_chunks(store: VectorStore, doc_keys: Iterable[str] | None = None) -> list[SourceChunk]:
    """Live chunks in document order (by document, then ordinal and part)."""
    where: Where = {"record": "chunk", "state": "live"}
    if doc_keys is not None:
        where["doc_key"] = list(doc_keys)
    chunks = [SourceChunk.from_payload(m.payload) for m in store.scroll(where)]
    return sorted(chunks, key=lambda c: (c.doc_key, c.ordinal, c.part))


def field_for(short_title: str, title: str = "") -> str:
    """The enforcement field a document belongs to; 综合 when it serves every field."""
    if short_title in FIELD_BY_LAW:
        return FIELD_BY_LAW[short_title]
    if "市场监督管理" in title or "市场监督管理" in short_title:
        return "市场监管"
    return "综合"


def tags_for(chunk: SourceChunk, skill: str = "法律适用") -> dict[str, list[str]]:
    return {"法规": [chunk.short_title], "领域": [field_for(chunk.short_title, chunk.title)], "技能": [skill]}
