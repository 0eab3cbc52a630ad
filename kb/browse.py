"""Browsing a document by its structure: the provisions in reading order with the heading
(编/章/节) each sits under, and an article's neighbours. Used by the 法规库 page; nothing here
embeds or searches, it reads the stored chunks."""

from __future__ import annotations

from dataclasses import dataclass

from kb.store.base import VectorStore


@dataclass(frozen=True)
class Provision:
    """One provision of a document as stored (a long article's parts joined back)."""

    doc_key: str
    path: str  # 第三十三条, 二/（一）/2, 基本案情
    heading: str  # 第四章 行政处罚的管辖和适用 (empty when the document has none)
    breadcrumb: str
    ordinal: int
    text: str
    chunk_keys: tuple[str, ...]


def outline(store: VectorStore, doc_key: str) -> list[Provision]:
    """The document's live provisions in reading order."""
    matches = store.scroll({"record": "chunk", "state": "live", "doc_key": doc_key})
    parts: dict[str, list[dict]] = {}
    for m in matches:
        parts.setdefault(m.payload.get("path", ""), []).append(m.payload)
    out = []
    for path, rows in parts.items():
        rows.sort(key=lambda p: int(p.get("part", 0)))
        first = rows[0]
        out.append(Provision(doc_key, path, first.get("heading", ""), first.get("breadcrumb", ""),
                             int(first.get("ordinal", 0)), "\n".join(r.get("text", "") for r in rows),
                             tuple(r.get("chunk_key", "") for r in rows)))
    return sorted(out, key=lambda p: p.ordinal)


def by_heading(provisions: list[Provision]) -> list[tuple[str, list[Provision]]]:
    """Consecutive provisions grouped under their heading, in order (a heading may recur
    after another one only if the source interleaves them, and is then listed twice)."""
    groups: list[tuple[str, list[Provision]]] = []
    for p in provisions:
        if groups and groups[-1][0] == p.heading:
            groups[-1][1].append(p)
        else:
            groups.append((p.heading, [p]))
    return groups


def neighbours(provisions: list[Provision], path: str) -> tuple[Provision | None, Provision | None]:
    """The provisions just before and after ``path`` in reading order."""
    paths = [p.path for p in provisions]
    if path not in paths:
        return None, None
    i = paths.index(path)
    return (provisions[i - 1] if i > 0 else None), (provisions[i + 1] if i + 1 < len(provisions) else None)
