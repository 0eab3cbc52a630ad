"""Find a cited provision (「行政处罚法」「第三十三条」) in the knowledge base.

Drills are written by trainers who cite laws the way officers speak (处罚法, 行政强制法,
《中华人民共和国行政处罚法》); names resolve exactly as the retriever resolves them — the
corpus titles and short titles plus the alias table (kb.aliases) — with
kb.library.resolve_document as the fallback, and the current version preferred.
"""

from __future__ import annotations

from typing import Protocol

from kb.errors import NotFoundError
from kb.library import DocumentInfo, list_documents, resolve_document
from kb.model import Hit
from kb.numerals import canonical_label
from kb.retrieve import Retriever, hit_from_match
from kb.store import VectorStore


class ProvisionResolver(Protocol):
    def resolve(self, law: str, article: str) -> list[Hit]:
        """The chunks (parts, in order) of the provision; NotFoundError saying what is missing."""


class KBResolver:
    """Resolves against one store; build it once for a batch of drill files."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store
        self._by_name: dict[str, list[DocumentInfo]] = {}
        for doc in list_documents(store):
            for name in doc.names():
                self._by_name.setdefault(name, []).append(doc)

    @classmethod
    def for_retriever(cls, retriever: Retriever) -> KBResolver:
        return cls(retriever.store)

    def document(self, law: str) -> DocumentInfo:
        name = law.strip().strip("《》")
        docs = self._by_name.get(name)
        if not docs:
            return resolve_document(self.store, name)
        current = [d for d in docs if d.status == "current"] or docs
        return sorted(current, key=lambda d: d.version, reverse=True)[0]

    def resolve(self, law: str, article: str) -> list[Hit]:
        doc = self.document(law)
        path = canonical_label(article.strip())
        matches = self.store.scroll({"record": "chunk", "state": "live", "doc_key": doc.key, "path": path})
        if not matches:
            raise NotFoundError(f"《{doc.title}》({doc.key}) has no {path}")
        return [hit_from_match(m, 1.0) for m in sorted(matches, key=lambda m: m.payload.get("part", 0))]
