"""Which questions cite a provision whose text changed: run after every re-ingest.

A question pins each source to the sha256 of the chunk text it was made from. A source is
*changed* when the version of its law now in force has no chunk at the same provision path
with that hash — because the article was reworded, removed, or the whole law is gone. The
version in force is found by title: a law re-ingested as a new version gets a new doc_key
(行政处罚法@2021-01-22 → 行政处罚法@2024-…), and its questions must still be checked
against it, not against the superseded text that may still sit next to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kb.library import DocumentInfo, list_documents
from kb.quiz.model import Question, SourceRef
from kb.quiz.stems import text_hash
from kb.store import VectorStore


def _name(doc_key: str) -> str:
    """The title part of a key (行政处罚法@2021-01-22 → 行政处罚法): what survives a new version
    when the old document record is gone."""
    return doc_key.split("@", 1)[0]


class _Library:
    """The live provisions, indexed for the comparisons below (one scroll of the store)."""

    def __init__(self, store: VectorStore) -> None:
        docs = list_documents(store)
        self.by_key: dict[str, DocumentInfo] = {d.key: d for d in docs}
        self.by_title: dict[str, list[DocumentInfo]] = defaultdict(list)
        self.by_name: dict[str, list[DocumentInfo]] = defaultdict(list)
        for d in docs:
            self.by_title[d.title].append(d)
            self.by_name[_name(d.key)].append(d)
        self.hashes: dict[tuple[str, str], set[str]] = defaultdict(set)
        for m in store.scroll({"record": "chunk", "state": "live"}):
            p = m.payload
            self.hashes[(p.get("doc_key", ""), p.get("path", ""))].add(text_hash(p.get("text", "")))

    def in_force(self, ref: SourceRef) -> DocumentInfo | None:
        """The version of the cited document now in force (current status, newest version)."""
        cited = self.by_key.get(ref.doc_key)
        family = self.by_title[cited.title] if cited else self.by_name.get(_name(ref.doc_key), [])
        if not family:
            return None
        current = [d for d in family if d.status == "current"] or family
        return sorted(current, key=lambda d: d.version, reverse=True)[0]

    def unchanged(self, ref: SourceRef) -> bool:
        doc = self.in_force(ref)
        return doc is not None and ref.text_hash in self.hashes.get((doc.key, ref.path), set())


def changed_sources(questions: Iterable[Question], store: VectorStore) -> set[str]:
    """Ids of the questions with at least one source whose text is no longer in force."""
    library = _Library(store)
    return {q.id for q in questions if not all(library.unchanged(ref) for ref in q.sources)}


def flag_changed(questions: list[Question], store: VectorStore) -> list[Question]:
    """Set ``flagged`` on the questions :func:`changed_sources` finds; returns those."""
    ids = changed_sources(questions, store)
    out = []
    for q in questions:
        if q.id in ids:
            q.flagged = True
            out.append(q)
    return out
