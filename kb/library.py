"""The catalogue of documents in the knowledge base, kept inside the vector store itself.

Each document has one vector-less *document record* (payload ``record=document``) next to its
chunks. Writing that record is the last step of an ingest, so it doubles as the commit
marker: a document whose record is missing or carries another hash is re-ingested, and
chunks left over from an interrupted run are swept away. One source of truth, shared by every
process that points at the same Qdrant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb.aliases import document_names
from kb.errors import NotFoundError
from kb.store import Match, VectorStore, point_id


def doc_record_id(doc_key: str) -> str:
    return point_id("document", doc_key)


def doc_text_id(doc_key: str) -> str:
    """The full normalised text lives in its own record so listing documents stays light."""
    return point_id("doctext", doc_key)


def document_text(store: VectorStore, doc_key: str) -> str:
    """The text every chunk offset points into."""
    found = store.get([doc_text_id(doc_key)])
    if not found:
        raise NotFoundError(f"no text stored for {doc_key!r}; re-ingest the document")
    return str(found[0].payload.get("text", ""))


@dataclass
class DocumentInfo:
    """What `kb docs` lists and the app's 法规库 page shows."""

    key: str
    title: str
    short_title: str
    doc_type: str
    status: str
    version: str
    chunks: int
    source_path: str
    payload: dict[str, Any]

    def names(self) -> list[str]:
        """Every name a question may use for this document (kb.aliases.document_names)."""
        return document_names(self.title, self.short_title, self.payload.get("aliases", []))


def _info(m: Match) -> DocumentInfo:
    p = m.payload
    return DocumentInfo(p["doc_key"], p.get("title", ""), p.get("short_title", ""), p.get("doc_type", ""),
                        p.get("status", "unknown"), p.get("version", ""), int(p.get("chunk_count", 0)),
                        p.get("source_path", ""), p)


def list_documents(store: VectorStore) -> list[DocumentInfo]:
    """Every committed document, sorted by type then title."""
    docs = [_info(m) for m in store.scroll({"record": "document"})]
    return sorted(docs, key=lambda d: (d.doc_type, d.title, d.version))


def get_document(store: VectorStore, doc_key: str) -> DocumentInfo | None:
    found = store.get([doc_record_id(doc_key)])
    return _info(found[0]) if found else None


def find_documents(store: VectorStore, name: str) -> list[DocumentInfo]:
    """Documents whose key, title, short title or alias matches ``name`` (exact first)."""
    name = name.strip().strip("《》")
    docs = list_documents(store)
    exact = [d for d in docs if name in (d.key, d.title, d.short_title) or name in d.payload.get("aliases", [])]
    if exact:
        return exact
    return [d for d in docs if name in d.title or name in d.key]


def resolve_document(store: VectorStore, name: str) -> DocumentInfo:
    """One document for a user-typed name: the current version when several match."""
    matches = find_documents(store, name)
    if not matches:
        raise NotFoundError(f"no document matches {name!r}; `kb docs` lists what is in the knowledge base")
    current = [d for d in matches if d.status == "current"] or matches
    return sorted(current, key=lambda d: d.version, reverse=True)[0]


def remove_document(store: VectorStore, doc_key: str) -> int:
    """Delete a document's chunks and its record; returns how many chunks went."""
    info = get_document(store, doc_key)
    if info is None:
        raise NotFoundError(f"no document with key {doc_key!r}; `kb docs` lists the keys")
    n = store.count({"record": "chunk", "doc_key": doc_key})
    store.delete({"doc_key": doc_key})
    store.flush()
    return n


def refresh_statuses(store: VectorStore) -> list[tuple[str, str]]:
    """When several versions of one title are present, the newest is current and the others
    amended — unless a status was declared in the document's front matter.
    Returns the (doc_key, new status) pairs that changed."""
    by_title: dict[str, list[DocumentInfo]] = {}
    for doc in list_documents(store):
        by_title.setdefault(doc.title, []).append(doc)
    changed: list[tuple[str, str]] = []
    for versions in by_title.values():
        ordered = sorted(versions, key=lambda d: d.version, reverse=True)
        for i, doc in enumerate(ordered):
            if doc.payload.get("status_declared"):
                continue
            want = "current" if i == 0 else "amended"
            if doc.status != want:
                store.set_payload({"doc_key": doc.key}, {"status": want})
                changed.append((doc.key, want))
    if changed:
        store.flush()
    return changed
