"""Ingest: load → parse structure → chunk → embed → upsert, one document at a time.

Guarantees, because a provincial deployment re-runs this on thousands of files:
- Idempotent: an unchanged document (same file hash, same pipeline version) is skipped
  without touching the model; a changed one replaces its chunks.
- Atomic from a reader's view: new chunks are written *staged* (invisible to search), then
  made live while the old ones are deleted, then the document record is written last.
- Resumable: a run killed at any point leaves every committed document intact; the next run
  redoes only the unfinished one (its vectors come from the embedding cache).
- A bad file fails alone with a one-line reason; the other files still go in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ingest.loaders import load
from ingest.sparse_refresh import sync_sparse
from kb.aliases import document_names
from kb.chunking import chunk_document, embed_text, part_texts
from kb.config import Settings
from kb.embed import CachedEmbedder, cached_embedder
from kb.errors import KBError, StructureError
from kb.library import doc_record_id, doc_text_id, get_document, refresh_statuses
from kb.metadata import short_title
from kb.model import Chunk, Document, SourceText
from kb.sparse import add_terms, sparse_vector
from kb.store import StoredPoint, VectorStore, open_store, point_id
from kb.structure import parse_structure

# Bump when parsing, chunking or the embedded text changes: every document is then redone.
# 3: a line between a heading and its first article no longer stretches the 序言
# 4: sparse vectors tokenized with every stored document's names (ingest.sparse_refresh)
PIPELINE_VERSION = "4"
SUFFIXES = {".md", ".txt", ".pdf", ".docx", ".html", ".htm"}
# Files in a folder walk that are not documents: LawRefBook section indexes, our manifests.
SKIP_NAMES = {"_index.md", "MANIFEST.tsv", "README.md"}


@dataclass
class FileResult:
    path: str
    status: str  # added | replaced | unchanged | failed
    doc_key: str = ""
    chunks: int = 0
    message: str = ""
    seconds: float = 0.0
    embed_seconds: float = 0.0


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    retokenized: int = 0  # stored chunks cut again because document names were learned or forgotten

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus documents found under folders (sorted, stable)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*")
                              if f.is_file() and f.suffix.lower() in SUFFIXES and f.name not in SKIP_NAMES))
        else:
            out.append(p)
    return out


_PART_LINE = re.compile(r"^(总则|附则|分则|[\u4e00-\u9fff]{1,6}编)$")


def build_document(source: SourceText) -> Document:
    """Document metadata from what the file declares, completed from its text.

    A code published as one file per part (the 民法典's 总则, 物权编, … in LawRefBook) keeps
    the code's title for citations but gets the part in its key, so parts never replace
    each other.
    """
    meta = source.meta
    title = str(meta.get("title") or Path(source.path).stem)
    version = str(meta.get("version") or meta.get("promulgated") or meta.get("effective") or "")
    short = short_title(title)
    lines = [ln.strip() for ln in source.text.split("\n", 2)]
    part = lines[1] if len(lines) > 1 and lines[0] == title and _PART_LINE.match(lines[1]) else ""
    name = f"{short}·{part}" if part else short
    key = f"{name}@{version}" if version else name
    return Document(
        key=key, title=title, short_title=short, doc_type=str(meta.get("doc_type") or "policy"),
        issuer=str(meta.get("issuer") or ""), doc_number=str(meta.get("doc_number") or ""),
        promulgated=str(meta.get("promulgated") or ""), effective=str(meta.get("effective") or ""),
        version=version, status=str(meta.get("status") or "current"), source_path=source.path,
        content_hash=source.content_hash, aliases=list(meta.get("aliases") or []),
        revisions=list(meta.get("revisions") or []),
    )


def prepare(source: SourceText) -> tuple[Document, list[Chunk], str]:
    """Parse and chunk; raises StructureError when nothing indexable is found."""
    doc = build_document(source)
    parsed = parse_structure(source.text, doc.doc_type)
    chunks = chunk_document(doc.key, doc.short_title, source.text, parsed)
    if not chunks:
        raise StructureError(source.path, "no text to index was found; check that the file holds the document body")
    return doc, chunks, parsed.style


class Ingestor:
    """Holds the store and the embedder for a run of many files."""

    def __init__(self, settings: Settings, store: VectorStore | None = None,
                 embedder: CachedEmbedder | None = None) -> None:
        self.settings = settings
        self.store = store or open_store(settings)
        self.embedder = embedder or cached_embedder(settings)
        self.store.ensure_schema(self.embedder.dim, parts=settings.part_vectors)
        self._repaired = sync_sparse(self.store)  # after a killed run or a removal; teaches the names

    def ingest(self, paths: Iterable[str | Path],
               on_file: Callable[[FileResult, int, int], None] | None = None) -> IngestReport:
        """Ingest every file; ``on_file(result, index, total)`` after each one."""
        report = IngestReport()
        seen_hashes: dict[str, str] = {}
        files = expand_paths(paths)
        for index, path in enumerate(files, 1):
            started = time.perf_counter()
            try:
                result = self._ingest_one(path, seen_hashes)
            except KBError as exc:
                result = FileResult(str(path), "failed", message=str(exc))
            except OSError as exc:
                result = FileResult(str(path), "failed", message=f"{path}: cannot read ({exc.strerror or exc})")
            result.seconds = time.perf_counter() - started
            report.results.append(result)
            if on_file:
                on_file(result, index, len(files))
        changed = any(r.status in {"added", "replaced"} for r in report.results)
        if changed:
            refresh_statuses(self.store)
        report.retokenized = self._repaired + sync_sparse(self.store)
        self._repaired = 0
        if changed:
            # Qdrant Edge never optimises on its own: without this a bulk load stays in
            # unindexed segments full of replaced points (national corpus: store query p50
            # 25.8 → 10.2 ms and peak memory 802 → 461 MiB after it; see README).
            self.store.optimize()
        self.store.flush()
        return report

    def _ingest_one(self, path: Path, seen_hashes: dict[str, str]) -> FileResult:
        source = load(path)
        doc, chunks, style = prepare(source)
        # A store with part vectors records it in the hash, so a document stored without them
        # (copied in from an older store) is redone rather than skipped.
        ingest_hash = point_id(source.content_hash, PIPELINE_VERSION, self.embedder.name,
                               *(["parts"] if self.store.has_parts else []))
        if source.content_hash in seen_hashes and seen_hashes[source.content_hash] != str(path):
            raise KBError(f"{path}: same content as {seen_hashes[source.content_hash]} in this run; "
                          "ingest one of them")
        seen_hashes[source.content_hash] = str(path)
        existing = get_document(self.store, doc.key)
        if existing and existing.payload.get("ingest_hash") == ingest_hash:
            return FileResult(str(path), "unchanged", doc.key, existing.chunks, "unchanged, skipped")
        duplicate = self._same_content_elsewhere(source.content_hash, doc.key)
        if duplicate:
            raise KBError(f"{path}: same content as {duplicate} already in the knowledge base; "
                          f"`kb remove {duplicate}` first if this file should replace it")
        add_terms(document_names(doc.title, doc.short_title, doc.aliases))
        texts = [embed_text(c) for c in chunks]
        t0 = time.perf_counter()
        vectors = self.embedder.embed_passages(texts)
        parts = self._part_vectors(chunks, vectors) if self.store.has_parts else [None] * len(chunks)
        embed_seconds = time.perf_counter() - t0
        points = [
            StoredPoint(point_id(c.key, ingest_hash), self._chunk_payload(doc, c, ingest_hash),
                        dense=vectors[i].tolist(), sparse=sparse_vector(texts[i]), parts=parts[i])
            for i, c in enumerate(chunks)
        ]
        for i in range(0, len(points), 256):
            self.store.upsert(points[i:i + 256])
        # Flip: old chunks go, new ones become visible, then the record commits the document.
        self.store.delete({"record": "chunk", "doc_key": doc.key}, where_not={"ingest_hash": ingest_hash})
        self.store.set_payload({"record": "chunk", "doc_key": doc.key, "ingest_hash": ingest_hash},
                               {"state": "live"})
        self.store.upsert([
            StoredPoint(doc_text_id(doc.key), {"record": "doctext", "doc_key": doc.key, "text": source.text}),
            StoredPoint(doc_record_id(doc.key), self._doc_payload(doc, source, chunks, style, ingest_hash)),
        ])
        self.store.flush()
        status = "replaced" if existing else "added"
        return FileResult(str(path), status, doc.key, len(chunks), status, embed_seconds=embed_seconds)

    def _part_vectors(self, chunks: list[Chunk], vectors: np.ndarray) -> list[list[list[float]]]:
        """Each chunk's ``parts`` multivector: its own vector, then one per line (款/项)."""
        per_chunk = [part_texts(c) for c in chunks]
        flat = self.embedder.embed_passages([t for texts in per_chunk for t in texts])
        out, at = [], 0
        for i, texts in enumerate(per_chunk):
            out.append([vectors[i].tolist(), *(v.tolist() for v in flat[at:at + len(texts)])])
            at += len(texts)
        return out

    def _same_content_elsewhere(self, content_hash: str, doc_key: str) -> str | None:
        for m in self.store.scroll({"record": "document", "content_hash": content_hash}, limit=5):
            if m.payload.get("doc_key") != doc_key:
                return str(m.payload.get("doc_key"))
        return None

    @staticmethod
    def _chunk_payload(doc: Document, c: Chunk, ingest_hash: str) -> dict:
        return {
            "record": "chunk", "state": "staged", "ingest_hash": ingest_hash,
            "doc_key": doc.key, "title": doc.title, "short_title": doc.short_title,
            "doc_type": doc.doc_type, "status": doc.status, "version": doc.version,
            "path": c.path, "part": c.part, "chunk_key": c.key, "breadcrumb": c.breadcrumb,
            "heading": c.heading, "text": c.text, "start": c.start, "end": c.end,
            "ordinal": c.ordinal, "attrs": c.attrs,
        }

    @staticmethod
    def _doc_payload(doc: Document, source: SourceText, chunks: list[Chunk], style: str,
                     ingest_hash: str) -> dict:
        return {
            "record": "document", "state": "live", "ingest_hash": ingest_hash,
            "doc_key": doc.key, "title": doc.title, "short_title": doc.short_title,
            "doc_type": doc.doc_type, "status": doc.status,
            "status_declared": "status" in source.meta.get("declared", []), "version": doc.version,
            "issuer": doc.issuer, "doc_number": doc.doc_number, "promulgated": doc.promulgated,
            "effective": doc.effective, "aliases": doc.aliases, "revisions": doc.revisions,
            "source_path": doc.source_path, "content_hash": doc.content_hash, "format": source.fmt,
            "structure": style, "chunk_count": len(chunks),
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def close(self) -> None:
        self.store.close()
