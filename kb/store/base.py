"""The vector-store interface both backends implement, and the shapes they exchange.

Schema (the same on Qdrant Edge and a Qdrant server): a named dense vector ``dense``
(cosine), a sparse vector ``bm25`` with Qdrant's IDF modifier and, in stores created with
part vectors, a multivector ``parts`` (cosine, MaxSim) holding the chunk's vector and one per
line of the chunk (its 款 and 项), so a question that matches one paragraph of a long
article finds it (README "Part vectors"); payload as written by
:mod:`ingest.pipeline`. Filters are plain dicts ``{field: value | [values]}`` so callers
never touch a backend's filter classes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

DENSE = "dense"
SPARSE = "bm25"
PARTS = "parts"
KEYWORD_FIELDS = ("record", "doc_key", "state", "doc_type", "status", "ingest_hash", "path", "short_title")
_NAMESPACE = uuid.UUID("6f1c3c2e-6a59-4bd6-9c55-1d0b7c1f2a10")

Where = dict[str, str | list[str]]


def point_id(*parts: str) -> str:
    """Deterministic UUID: the same provision text always lands on the same point."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


@dataclass
class StoredPoint:
    id: str
    payload: dict[str, Any]
    dense: list[float] | None = None
    sparse: tuple[list[int], list[float]] | None = None
    parts: list[list[float]] | None = None  # the chunk's vector first, then one per 款/项 line


@dataclass
class Match:
    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fusion:
    """How dense and sparse candidates are combined (:mod:`kb.store.fusion`, Qdrant's formulas)."""

    method: str = "rrf"  # rrf | dbsf
    k: int = 60
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    prefetch_limit: int = 50


def sparse_by_id(records: Iterable[Any]) -> dict[str, tuple[list[int], list[float]]]:
    """The sparse vectors of retrieved records (qdrant-client's and Qdrant Edge's alike: an
    ``id`` and a ``vector`` dict whose sparse entry has ``indices`` and ``values``)."""
    out = {}
    for r in records:
        v = r.vector.get(SPARSE) if isinstance(r.vector, dict) else None
        if v is not None:
            out[str(r.id)] = (list(v.indices), [float(x) for x in v.values])
    return out


class VectorStore(Protocol):
    """What the rest of the system may ask of a vector store."""

    has_parts: bool  # the schema holds the ``parts`` multivector

    def ensure_schema(self, dim: int, parts: bool = False) -> None:
        """Create the collection/shard if missing (with the ``parts`` multivector when
        ``parts``); fail clearly on a dimension mismatch. An existing store keeps the
        schema it was created with."""

    def upsert(self, points: list[StoredPoint]) -> None: ...

    def sparse_vectors(self, ids: list[str]) -> dict[str, tuple[list[int], list[float]]]:
        """The stored sparse vectors of ``ids`` (points without one are left out)."""
        ...

    def set_sparse(self, vectors: dict[str, tuple[list[int], list[float]]]) -> None:
        """Replace the sparse vectors of existing points, their other vectors and payload kept
        (re-tokenizing chunks needs no re-embedding)."""

    def set_payload(self, where: Where, payload: dict[str, Any], where_not: Where | None = None) -> None: ...

    def delete(self, where: Where, where_not: Where | None = None) -> None: ...

    def query(self, *, dense: list[float] | None, sparse: tuple[list[int], list[float]] | None,
              limit: int, where: Where | None = None, fusion: Fusion | None = None,
              use_parts: bool = True, where_not: Where | None = None) -> list[Match]:
        """Dense-only, sparse-only, or hybrid (both given) search among the points that match
        ``where`` and not ``where_not``. The dense side scores ``parts`` (best of the chunk and
        its lines) when the store has them and ``use_parts``, else the chunk vector alone."""

    def get(self, ids: list[str]) -> list[Match]: ...

    def cosines(self, vector: list[float], ids: list[str]) -> dict[str, tuple[float, float]]:
        """(chunk, best line) cosine of ``vector`` with each of ``ids``: the second-stage
        ranking's view of a candidate. The best line is the MaxSim over the ``parts`` rows
        (the chunk's own vector among them); without parts it is the chunk's cosine. Two
        queries filtered to the ids, so no vector leaves the store (reading 20 candidates'
        vectors into Python cost 3 ms, these cost 0.3)."""
        ...

    def scroll(self, where: Where, limit: int | None = None) -> list[Match]: ...

    def count(self, where: Where | None = None) -> int: ...

    def export(self, batch: int = 512) -> Iterator[list[StoredPoint]]:
        """Every point with its vectors and payload, ``batch`` at a time (copying a store)."""
        ...

    def flush(self) -> None: ...

    def optimize(self) -> None:
        """Index and compact after writes (Qdrant Edge does it only when asked)."""

    def close(self) -> None: ...
