"""Vector stores: Qdrant Edge (embedded default) and qdrant-client (server / local mode)."""

from __future__ import annotations

from kb.config import Settings
from kb.store.base import DENSE, SPARSE, Fusion, Match, StoredPoint, VectorStore, Where, point_id

__all__ = ["DENSE", "SPARSE", "Fusion", "Match", "StoredPoint", "VectorStore", "Where", "open_store", "point_id"]


def open_store(settings: Settings) -> VectorStore:
    """The store the configuration names; Edge under data_dir unless KB_QDRANT_URL is set."""
    if settings.qdrant_url:
        from kb.store.client import ClientStore

        return ClientStore(settings.qdrant_url, settings.collection, settings.qdrant_api_key)
    from kb.store.edge import EdgeStore

    return EdgeStore(settings.qdrant_path)
