"""The store contract, run against both backends: Qdrant Edge and qdrant-client (local mode)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kb.errors import StoreError
from kb.store import Fusion, StoredPoint, point_id
from kb.store.client import ClientStore
from kb.store.edge import EdgeStore


@pytest.fixture(params=["edge", "client"])
def store(request, tmp_path):
    s = EdgeStore(tmp_path / "edge") if request.param == "edge" else ClientStore(f"local:{tmp_path / 'local'}", "t")
    s.ensure_schema(4)
    yield s
    s.close()


def _points():
    return [
        StoredPoint(point_id("a"), {"record": "chunk", "state": "live", "doc_key": "A", "path": "第一条"},
                    dense=[1, 0, 0, 0], sparse=([1, 5], [1.0, 2.0])),
        StoredPoint(point_id("b"), {"record": "chunk", "state": "live", "doc_key": "B", "path": "第一条"},
                    dense=[0, 1, 0, 0], sparse=([1, 7], [1.0, 1.0])),
        StoredPoint(point_id("c"), {"record": "chunk", "state": "staged", "doc_key": "B", "path": "第二条"},
                    dense=[0.9, 0.1, 0, 0], sparse=([5], [1.0])),
        StoredPoint(point_id("doc"), {"record": "document", "doc_key": "A"}),
    ]


def test_upsert_count_get_scroll(store):
    store.upsert(_points())
    assert store.count() == 4
    assert store.count({"record": "chunk"}) == 3
    assert [m.payload["doc_key"] for m in store.get([point_id("doc")])] == ["A"]
    assert {m.payload["path"] for m in store.scroll({"doc_key": "B"})} == {"第一条", "第二条"}
    assert len(store.scroll({"record": "chunk"}, limit=2)) == 2


def test_dense_sparse_and_hybrid_queries_with_filters(store):
    store.upsert(_points())
    live = {"record": "chunk", "state": "live"}
    dense = store.query(dense=[1, 0, 0, 0], sparse=None, limit=3, where=live)
    assert [m.payload["doc_key"] for m in dense] == ["A", "B"]  # staged point c is filtered out
    sparse = store.query(dense=None, sparse=([7], [1.0]), limit=3, where=live)
    assert [m.payload["doc_key"] for m in sparse] == ["B"]
    for fusion in (Fusion("rrf", 2, 2.0, 1.0, 10), Fusion("dbsf")):
        hybrid = store.query(dense=[0, 1, 0, 0], sparse=([7], [1.0]), limit=3, where=live, fusion=fusion)
        assert hybrid[0].payload["doc_key"] == "B"
    assert store.query(dense=[1, 0, 0, 0], sparse=None, limit=3, where={**live, "doc_key": ["B"]})[0].payload[
        "doc_key"] == "B"


def test_set_payload_and_delete_by_filter(store):
    store.upsert(_points())
    store.set_payload({"doc_key": "B", "state": "staged"}, {"state": "live"})
    assert store.count({"state": "live"}) == 3
    store.delete({"doc_key": "B"}, where_not={"path": "第一条"})
    assert {m.payload["path"] for m in store.scroll({"doc_key": "B"})} == {"第一条"}


def test_dimension_mismatch_is_a_clear_error(tmp_path):
    edge = EdgeStore(tmp_path / "e")
    edge.ensure_schema(4)
    edge.close()
    with pytest.raises(StoreError, match="4-dim"):
        EdgeStore(tmp_path / "e").ensure_schema(8)


def test_second_process_gets_a_clear_message(tmp_path):
    edge = EdgeStore(tmp_path / "e")
    edge.ensure_schema(4)
    code = (
        "import sys\nfrom kb.store.edge import EdgeStore\nfrom kb.errors import StoreError\n"
        f"try:\n    EdgeStore({str(tmp_path / 'e')!r})\nexcept StoreError as e:\n    print(e); sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    edge.close()
    assert proc.returncode == 3, proc.stderr
    assert "open in another process" in proc.stdout
