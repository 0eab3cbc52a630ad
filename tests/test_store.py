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


def test_query_leaves_out_what_where_not_names(store):
    """The background index searches every document except those the knowledge base holds."""
    store.upsert(_points())
    live = {"record": "chunk", "state": "live"}
    assert [m.payload["doc_key"] for m in store.query(dense=[1, 0, 0, 0], sparse=None, limit=3, where=live,
                                                      where_not={"doc_key": ["A"]})] == ["B"]
    assert [m.payload["doc_key"] for m in store.query(dense=[1, 0, 0, 0], sparse=None, limit=3, where=live,
                                                      where_not={"doc_key": ["A", "B"]})] == []


def test_set_payload_and_delete_by_filter(store):
    store.upsert(_points())
    store.set_payload({"doc_key": "B", "state": "staged"}, {"state": "live"})
    assert store.count({"state": "live"}) == 3
    store.delete({"doc_key": "B"}, where_not={"path": "第一条"})
    assert {m.payload["path"] for m in store.scroll({"doc_key": "B"})} == {"第一条"}


def test_set_sparse_replaces_only_the_sparse_vector(store):
    store.upsert(_points())
    store.set_sparse({point_id("a"): ([7], [3.0])})
    live = {"record": "chunk", "state": "live"}
    by_term = store.query(dense=None, sparse=([7], [1.0]), limit=3, where=live)
    assert [m.payload["doc_key"] for m in by_term] == ["A", "B"]  # a now holds term 7, three times
    assert store.query(dense=None, sparse=([5], [1.0]), limit=3, where=live) == []  # and no longer 5
    (a,) = [p for batch in store.export() for p in batch if p.id == point_id("a")]
    assert a.dense == pytest.approx([1, 0, 0, 0]) and a.payload["path"] == "第一条"
    assert (list(a.sparse[0]), list(a.sparse[1])) == ([7], [3.0])
    assert store.sparse_vectors([point_id("a"), point_id("b"), point_id("doc")]) == {
        point_id("a"): ([7], [3.0]), point_id("b"): ([1, 7], [1.0, 1.0])}  # the record has none


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


@pytest.mark.parametrize("backend", ["edge", "client"])
def test_part_vectors_score_the_best_line_and_survive_reopening(backend, tmp_path):
    """A chunk whose second line matches the question beats one whose whole-chunk vector is
    only half-way there; the plain chunk vector (use_parts=False) ranks them the other way."""
    def open_(path):
        return EdgeStore(path / "edge") if backend == "edge" else ClientStore(f"local:{path / 'local'}", "t")

    store = open_(tmp_path)
    store.ensure_schema(4, parts=True)
    assert store.has_parts
    live = {"record": "chunk", "state": "live"}
    store.upsert([
        StoredPoint(point_id("long"), {**live, "doc_key": "L"}, dense=[1, 0, 0, 0],
                    parts=[[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]]),
        StoredPoint(point_id("half"), {**live, "doc_key": "H"}, dense=[0.6, 0, 0.8, 0], parts=[[0.6, 0, 0.8, 0]]),
    ])
    assert [m.payload["doc_key"] for m in store.query(dense=[0, 0, 1, 0], sparse=None, limit=2)] == ["L", "H"]
    assert [m.payload["doc_key"] for m in store.query(dense=[0, 0, 1, 0], sparse=None, limit=2,
                                                      use_parts=False)] == ["H", "L"]
    exported = {p.payload["doc_key"]: p for batch in store.export() for p in batch}
    assert len(exported["L"].parts) == 3 and exported["L"].dense == pytest.approx([1, 0, 0, 0])
    cosines = store.cosines([0, 0, 1, 0], [point_id("long"), point_id("half"), point_id("absent")])
    assert set(cosines) == {point_id("long"), point_id("half")}  # an unknown id is simply not there
    assert cosines[point_id("long")] == pytest.approx((0.0, 1.0))  # whole chunk away, third line on it
    assert cosines[point_id("half")] == pytest.approx((0.8, 0.8))
    store.close()
    reopened = open_(tmp_path)
    reopened.ensure_schema(4)  # an existing store keeps the schema it was created with
    assert reopened.has_parts
    assert reopened.query(dense=[0, 0, 1, 0], sparse=None, limit=1)[0].payload["doc_key"] == "L"
    reopened.close()


def test_store_without_part_vectors_ignores_them(store):
    assert not store.has_parts
    store.upsert([StoredPoint(point_id("x"), {"record": "chunk", "state": "live", "doc_key": "X"},
                              dense=[1, 0, 0, 0], parts=[[1, 0, 0, 0], [0, 1, 0, 0]])])
    assert store.query(dense=[1, 0, 0, 0], sparse=None, limit=1)[0].payload["doc_key"] == "X"
    assert [p.parts for batch in store.export() for p in batch] == [None]
    assert store.cosines([0.6, 0.8, 0, 0], [point_id("x")]) == {point_id("x"): pytest.approx((0.6, 0.6))}
    assert store.cosines([1, 0, 0, 0], []) == {}
