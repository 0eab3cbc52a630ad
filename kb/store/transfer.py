"""Copy a whole knowledge base from one vector store to another, vectors included.

Why: a department starts on the embedded default (Qdrant Edge under ``./data``) and later
moves to a Qdrant server or cluster (``KB_QDRANT_URL``). Re-ingesting there re-parses every
file and needs the embedding cache beside it; copying the stored points moves exactly what
was indexed — document records, chunks, superseded versions and all — in a minute and with
no model. The same copy builds a qdrant-client local-mode index for the scale benchmark,
whose own ingest path is too slow at national size (docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kb.errors import StoreError
from kb.store.base import StoredPoint, VectorStore


def open_target(target: str, collection: str, api_key: str = "") -> VectorStore:
    """The store named by a ``kb copy`` target: ``http(s)://…`` a Qdrant server,
    ``local:PATH`` qdrant-client's local mode, anything else a data folder (Qdrant Edge in
    ``PATH/qdrant``, as ``KB_DATA_DIR`` would use it)."""
    if target.startswith(("http://", "https://", "local:")):
        from kb.store.client import ClientStore

        return ClientStore(target, collection, api_key)
    from kb.store.edge import EdgeStore

    return EdgeStore(Path(target) / "qdrant")


def copy_store(source: VectorStore, target: VectorStore, *, replace: bool = False,
               progress: Callable[[int], None] | None = None) -> int:
    """Copy every point of ``source`` into ``target``; returns the number copied.

    A target that already holds points is refused unless ``replace``, which empties it
    first: merging two knowledge bases point by point would leave documents half from
    each. An interrupted copy is finished by running it again with ``replace``. Point ids
    are kept, so the copy answers every query exactly as the source does; a new target gets
    the source's schema (with or without part vectors), an existing one must match it:
    a chunk without them would be invisible to the dense side of a store that has them.
    """
    total = source.count()
    if total == 0:
        raise StoreError("the source knowledge base is empty; nothing to copy")
    held = target.count()
    if held and not replace:
        raise StoreError(f"the target already holds {held} points; pass --replace to overwrite it")
    copied = 0
    waiting: list[StoredPoint] | None = []  # points read before the first dense vector fixes the schema
    for batch in source.export():
        if waiting is not None:
            waiting.extend(batch)
            dense = next((p.dense for p in waiting if p.dense is not None), None)
            if dense is None:
                continue
            _prepare(source, target, len(dense), replace_points=bool(held))
            batch, waiting = waiting, None
        target.upsert(batch)
        copied += len(batch)
        if progress:
            progress(len(batch))
    if waiting is not None:
        raise StoreError("the source points carry no dense vectors; re-ingest instead of copying")
    target.flush()
    target.optimize()
    if target.count() != total:
        raise StoreError(f"copied {copied} points but the target holds {target.count()} of {total}; "
                         "run the copy again with --replace")
    return copied


def _prepare(source: VectorStore, target: VectorStore, dim: int, replace_points: bool) -> None:
    """Create or check the target's schema, then empty it when replacing."""
    target.ensure_schema(dim, parts=source.has_parts)
    if source.has_parts != target.has_parts:
        have, lack = ("the source", "the target") if source.has_parts else ("the target", "the source")
        raise StoreError(f"{have} has part vectors and {lack} has none; copy into a new folder or collection")
    if replace_points:
        target.delete({})
