"""Qdrant through qdrant-client: a server or cluster (``KB_QDRANT_URL=http://…``), or the
client's local mode (``:memory:`` / ``local:<path>``) which runs the same code path in tests
without a server. Same schema and payload as :mod:`kb.store.edge`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from kb.errors import StoreError
from kb.store.base import DENSE, KEYWORD_FIELDS, PARTS, SPARSE, Fusion, Match, StoredPoint, Where, sparse_by_id
from kb.store.fusion import Search, hybrid, ranked


class ClientStore:
    """One collection on a Qdrant server (or in qdrant-client's local mode)."""

    def __init__(self, url: str, collection: str, api_key: str = "") -> None:
        self.collection = collection
        self._local = url == ":memory:" or url.startswith("local:")
        try:
            if url == ":memory:":
                self.client = QdrantClient(location=":memory:")
            elif url.startswith("local:"):
                self.client = QdrantClient(path=url.removeprefix("local:"))
            else:
                self.client = QdrantClient(url=url, api_key=api_key or None, timeout=30)
            self._exists = self.client.collection_exists(collection)
            self.has_parts = self._exists and PARTS in self._vector_params()
        except (ResponseHandlingException, UnexpectedResponse, OSError, RuntimeError) as exc:
            raise StoreError(f"cannot reach Qdrant at {url}: {exc}; check KB_QDRANT_URL") from exc

    @property
    def exists(self) -> bool:
        return self._exists

    def _vector_params(self) -> dict[str, models.VectorParams]:
        vectors = self.client.get_collection(self.collection).config.params.vectors
        return vectors if isinstance(vectors, dict) else {}

    def ensure_schema(self, dim: int, parts: bool = False) -> None:
        if self._exists:
            vectors = self._vector_params()
            size = vectors[DENSE].size if DENSE in vectors else None
            if size != dim:
                raise StoreError(
                    f"collection {self.collection} holds {size}-dim vectors but the embedder makes "
                    f"{dim}-dim ones; set KB_COLLECTION to a new name"
                )
            return
        vectors_config = {DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)}
        if parts:
            vectors_config[PARTS] = models.VectorParams(
                size=dim, distance=models.Distance.COSINE,
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM))
        self.client.create_collection(
            self.collection,
            vectors_config=vectors_config,
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        for name in KEYWORD_FIELDS if not self._local else ():  # local mode has no payload indexes
            self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.KEYWORD)
        self._exists = True
        self.has_parts = parts

    def upsert(self, points: list[StoredPoint]) -> None:
        if not points:
            return
        structs = []
        for p in points:
            vector: dict[str, Any] = {}
            if p.dense is not None:
                vector[DENSE] = [float(x) for x in p.dense]
            if p.sparse is not None and p.sparse[0]:
                vector[SPARSE] = models.SparseVector(indices=list(p.sparse[0]), values=list(p.sparse[1]))
            if p.parts and self.has_parts:
                vector[PARTS] = [[float(x) for x in row] for row in p.parts]
            structs.append(models.PointStruct(id=p.id, vector=vector, payload=p.payload))
        self.client.upsert(self.collection, structs, wait=True)

    def sparse_vectors(self, ids: list[str]) -> dict[str, tuple[list[int], list[float]]]:
        if not self._exists or not ids:
            return {}
        return sparse_by_id(self.client.retrieve(self.collection, ids, with_payload=False, with_vectors=[SPARSE]))

    def set_sparse(self, vectors: dict[str, tuple[list[int], list[float]]]) -> None:
        if not vectors:
            return
        self.client.update_vectors(self.collection, [
            models.PointVectors(id=i, vector={SPARSE: models.SparseVector(indices=list(ix), values=list(vals))})
            for i, (ix, vals) in vectors.items()], wait=True)

    def set_payload(self, where: Where, payload: dict[str, Any], where_not: Where | None = None) -> None:
        self.client.set_payload(self.collection, payload, points=_filter(where, where_not), wait=True)

    def delete(self, where: Where, where_not: Where | None = None) -> None:
        self.client.delete(self.collection, points_selector=models.FilterSelector(filter=_filter(where, where_not)),
                           wait=True)

    def query(self, *, dense: list[float] | None, sparse: tuple[list[int], list[float]] | None,
              limit: int, where: Where | None = None, fusion: Fusion | None = None,
              use_parts: bool = True, where_not: Where | None = None) -> list[Match]:
        if not self._exists:
            return []
        flt = _filter(where, where_not) if where or where_not else None
        fusion = fusion or Fusion()
        dense_q: list[float] | list[list[float]] | None = [float(x) for x in dense] if dense is not None else None
        using = DENSE
        if dense_q is not None and self.has_parts and use_parts:
            dense_q, using = [dense_q], PARTS
        sparse_q = (models.SparseVector(indices=list(sparse[0]), values=list(sparse[1]))
                    if sparse is not None and sparse[0] else None)
        def search(query: Any, using: str) -> Search:
            def run(n: int) -> list[Match]:
                result = self.client.query_points(self.collection, query=query, using=using, query_filter=flt,
                                                  limit=n, with_payload=False)
                return [Match(str(p.id), float(p.score)) for p in result.points]
            return run

        if dense_q is not None and sparse_q is not None:
            return hybrid(search(dense_q, using), search(sparse_q, SPARSE), limit, fusion, self.get)
        if dense_q is not None:
            return ranked(search(dense_q, using), limit, self.get)
        if sparse_q is not None:
            return ranked(search(sparse_q, SPARSE), limit, self.get)
        return []

    def get(self, ids: list[str]) -> list[Match]:
        if not self._exists or not ids:
            return []
        return [Match(str(r.id), 0.0, dict(r.payload or {}))
                for r in self.client.retrieve(self.collection, ids, with_payload=True)]

    def cosines(self, vector: list[float], ids: list[str]) -> dict[str, tuple[float, float]]:
        if not self._exists or not ids:
            return {}
        only = models.Filter(must=[models.HasIdCondition(has_id=list(ids))])
        v = [float(x) for x in vector]

        def scores(query: Any, using: str) -> dict[str, float]:
            result = self.client.query_points(self.collection, query=query, using=using, query_filter=only,
                                              limit=len(ids), with_payload=False)
            return {str(p.id): float(p.score) for p in result.points}

        chunk = scores(v, DENSE)
        line = scores([v], PARTS) if self.has_parts else chunk
        return {i: (c, max(c, line.get(i, c))) for i, c in chunk.items()}

    def scroll(self, where: Where, limit: int | None = None) -> list[Match]:
        if not self._exists:
            return []
        out: list[Match] = []
        offset = None
        while True:
            page = 1000 if limit is None else min(1000, limit - len(out))
            records, offset = self.client.scroll(self.collection, scroll_filter=_filter(where), limit=page,
                                                 offset=offset, with_payload=True)
            out.extend(Match(str(r.id), 0.0, dict(r.payload or {})) for r in records)
            if offset is None or (limit is not None and len(out) >= limit):
                return out

    def export(self, batch: int = 512) -> Iterator[list[StoredPoint]]:
        if not self._exists:
            return
        offset = None
        while True:
            records, offset = self.client.scroll(self.collection, limit=batch, offset=offset,
                                                 with_payload=True, with_vectors=True)
            yield [_stored_point(r) for r in records]
            if offset is None:
                return

    def count(self, where: Where | None = None) -> int:
        if not self._exists:
            return 0
        return int(self.client.count(self.collection, count_filter=_filter(where) if where else None,
                                     exact=True).count)

    def flush(self) -> None:
        """Writes are sent with wait=True; nothing is buffered client-side."""

    def optimize(self) -> None:
        """The server optimises in the background."""

    def close(self) -> None:
        self.client.close()


def _stored_point(record: models.Record) -> StoredPoint:
    vectors = record.vector if isinstance(record.vector, dict) else {}
    sparse = vectors.get(SPARSE)
    return StoredPoint(str(record.id), dict(record.payload or {}), vectors.get(DENSE),
                       (list(sparse.indices), list(sparse.values)) if sparse is not None else None,
                       vectors.get(PARTS))


def _conditions(where: Where) -> list[models.FieldCondition]:
    return [models.FieldCondition(key=k, match=models.MatchAny(any=list(v)) if isinstance(v, list)
                                  else models.MatchValue(value=v)) for k, v in where.items()]


def _filter(where: Where | None, where_not: Where | None = None) -> models.Filter:
    return models.Filter(must=_conditions(where or {}) or None,
                         must_not=_conditions(where_not) if where_not else None)
