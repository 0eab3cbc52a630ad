"""Hybrid fusion on our side (kb.store.fusion), against both backends: it must score exactly as
Qdrant's own fusion does where there are no ties, and where there are ties the order must
depend only on the data, never on the order the points were written."""

from __future__ import annotations

import random

import pytest
import qdrant_edge as qe
from qdrant_client import models

from kb.store import Fusion, StoredPoint, point_id
from kb.store import fusion as fusion_module
from kb.store.base import DENSE, SPARSE, Match
from kb.store.client import ClientStore
from kb.store.edge import EdgeStore

DIM = 8
FUSIONS = [Fusion("rrf", 60, 1.0, 1.0, 50), Fusion("rrf", 2, 2.0, 1.0, 20), Fusion("rrf", 10, 1.0, 0.5, 30),
           Fusion("rrf", 2, 0.0, 1.0, 20), Fusion("dbsf", prefetch_limit=30)]


def _open(backend: str, path) -> EdgeStore | ClientStore:
    s = EdgeStore(path / "edge") if backend == "edge" else ClientStore(f"local:{path / 'local'}", "t")
    s.ensure_schema(DIM)
    return s


def _random_points(rng: random.Random, n: int) -> list[StoredPoint]:
    return [StoredPoint(point_id(str(i)), {"record": "chunk", "n": i},
                        dense=[rng.uniform(-1, 1) for _ in range(DIM)],
                        sparse=(sorted(rng.sample(range(40), 4)), [rng.uniform(0.1, 3) for _ in range(4)]))
            for i in range(n)]


def _native(store, dense: list[float], sparse: tuple[list[int], list[float]], fusion: Fusion, limit: int):
    """Qdrant fusing the two prefetches itself: what the store did before kb.store.fusion."""
    if isinstance(store, EdgeStore):
        dq = qe.Query.Nearest(dense, using=DENSE)
        sq = qe.Query.Nearest(qe.SparseVector(*sparse), using=SPARSE)
        method = (qe.Fusion.Rrf(k=fusion.k, weights=[fusion.dense_weight, fusion.sparse_weight])
                  if fusion.method == "rrf" else qe.Fusion.Dbsf())
        points = store.shard.query(qe.QueryRequest(
            limit=limit, query=method, with_payload=False,
            prefetches=[qe.Prefetch(limit=fusion.prefetch_limit, query=dq),
                        qe.Prefetch(limit=fusion.prefetch_limit, query=sq)]))
    else:
        method = (models.RrfQuery(rrf=models.Rrf(k=fusion.k, weights=[fusion.dense_weight, fusion.sparse_weight]))
                  if fusion.method == "rrf" else models.FusionQuery(fusion=models.Fusion.DBSF))
        points = store.client.query_points(
            store.collection, query=method, limit=limit,
            prefetch=[models.Prefetch(query=dense, using=DENSE, limit=fusion.prefetch_limit),
                      models.Prefetch(query=models.SparseVector(indices=sparse[0], values=sparse[1]),
                                      using=SPARSE, limit=fusion.prefetch_limit)]).points
    return [(str(p.id), float(p.score)) for p in points]


def _groups(scored: list[tuple[str, float]], last: float) -> list[set[str]]:
    """Ids grouped by equal score, best first, without the group scoring ``last``."""
    groups: list[tuple[float, set[str]]] = []
    for i, s in scored:
        if s == pytest.approx(last, rel=1e-5):
            continue
        if groups and s == pytest.approx(groups[-1][0], rel=1e-5):
            groups[-1][1].add(i)
        else:
            groups.append((s, {i}))
    return [g for _, g in groups]


@pytest.mark.parametrize("backend", ["edge", "client"])
def test_fused_scores_are_qdrants_own_where_nothing_ties(backend, tmp_path):
    rng = random.Random(7)
    store = _open(backend, tmp_path)
    store.upsert(_random_points(rng, 150))
    for fusion in FUSIONS:
        for _ in range(5):
            dense = [rng.uniform(-1, 1) for _ in range(DIM)]
            sparse = (sorted(rng.sample(range(40), 3)), [1.0, 1.0, 1.0])
            ours = [(m.id, m.score) for m in store.query(dense=dense, sparse=sparse, limit=25, fusion=fusion)]
            native = _native(store, dense, sparse, fusion, 25)
            assert [s for _, s in ours] == pytest.approx([s for _, s in native], rel=1e-5)
            # the same points hold each score; Qdrant orders equal scores arbitrarily, so compare
            # by group, leaving out the last group, which the cut may split differently
            assert _groups(ours, native[-1][1]) == _groups(native, native[-1][1])
    store.close()


@pytest.mark.parametrize("backend", ["edge", "client"])
def test_ties_are_ranked_by_the_data_not_by_where_points_sit(backend, tmp_path):
    """80 chunks share one sparse vector (as the same article in two versions of a law does), so
    50 of them make the sparse prefetch and their sparse ranks are pure ties. Written in opposite
    orders, or rewritten after the fact, two stores must still fuse identically."""
    rng = random.Random(11)
    points = [StoredPoint(point_id(str(i)), {"record": "chunk", "n": i},
                          dense=[rng.uniform(-1, 1) for _ in range(DIM)], sparse=([3, 9], [1.0, 2.0]))
              for i in range(80)]
    forward, backward = _open(backend, tmp_path / "f"), _open(backend, tmp_path / "b")
    forward.upsert(points)
    for p in reversed(points):
        backward.upsert([p])
    backward.set_sparse({p.id: p.sparse for p in points[:40]})  # rewriting moves points too
    dense = [rng.uniform(-1, 1) for _ in range(DIM)]
    for fusion in FUSIONS:
        a = [(m.id, m.score) for m in forward.query(dense=dense, sparse=([3], [1.0]), limit=30, fusion=fusion)]
        b = [(m.id, m.score) for m in backward.query(dense=dense, sparse=([3], [1.0]), limit=30, fusion=fusion)]
        assert a == b
    tied = forward.query(dense=None, sparse=([9], [1.0]), limit=10)
    assert [m.id for m in tied] == sorted(p.id for p in points)[:10]  # the cut chose among all 80
    assert [m.id for m in backward.query(dense=None, sparse=([9], [1.0]), limit=10)] == [m.id for m in tied]
    forward.close()
    backward.close()


def _tied_store(backend: str, path, n: int = 80) -> tuple[EdgeStore | ClientStore, list[StoredPoint]]:
    rng = random.Random(3)
    points = [StoredPoint(point_id(str(i)), {"record": "chunk", "doc_key": f"d{i}"},
                          dense=[rng.uniform(-1, 1) for _ in range(DIM)], sparse=([9], [1.0])) for i in range(n)]
    store = _open(backend, path)
    store.upsert(points)
    return store, points


@pytest.mark.parametrize("backend", ["edge", "client"])
def test_a_tie_at_the_cut_is_followed_without_payloads_and_within_bounds(backend, tmp_path, monkeypatch):
    store, points = _tied_store(backend, tmp_path)
    asked: list[int] = []

    def search(n: int) -> list[Match]:
        asked.append(n)
        return store.query(dense=None, sparse=([9], [1.0]), limit=n)

    assert [m.id for m in fusion_module.best(search, 10)] == sorted(p.id for p in points)[:10]
    assert asked[-1] > len(points)  # followed to the end of the 80-way tie
    assert asked == [11, 22, 44, 88]
    asked.clear()
    monkeypatch.setattr(fusion_module, "MAX_FETCH", 32)
    assert len(fusion_module.best(search, 10)) == 10
    assert asked == [11, 22, 32]  # stops at the bound
    store.close()


@pytest.mark.parametrize("backend", ["edge", "client"])
def test_a_point_deleted_between_search_and_payload_read_is_dropped(backend, tmp_path):
    """The app's admin page can remove a document while another session searches: a fused
    match whose point is gone must not come back as a hit without text."""
    store, points = _tied_store(backend, tmp_path, n=20)

    def search(n: int) -> list[Match]:
        return [Match(m.id, m.score) for m in store.query(dense=None, sparse=([9], [1.0]), limit=n)]

    def payloads_after_a_removal(ids: list[str]) -> list[Match]:
        store.delete({"doc_key": "d3"})
        return store.get(ids)

    fused = fusion_module.hybrid(search, search, 20, Fusion("rrf", 2, 1.0, 1.0, 20), payloads_after_a_removal)
    assert len(fused) == 19
    assert points[3].id not in {m.id for m in fused}
    assert all(m.payload["doc_key"] for m in fused)
    store.close()
