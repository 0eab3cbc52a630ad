"""`kb copy`: a knowledge base moved between stores keeps every point, vector and answer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kb.cli import main
from kb.errors import StoreError
from kb.retrieve import Retriever
from kb.store import StoredPoint, open_store, point_id
from kb.store.client import ClientStore
from kb.store.edge import EdgeStore
from kb.store.transfer import copy_store, open_target
from tests.conftest import make_settings

QUESTIONS = ("当事人要求听证的期限", "查封扣押的期限最长多少天", "罚款决定与罚款收缴分离", "行政处罚法第三十三条")


def _snapshot(store) -> dict[str, StoredPoint]:
    return {p.id: p for batch in store.export(batch=97) for p in batch}


@pytest.fixture
def source(small_kb):
    store = open_store(small_kb)
    yield store
    store.close()


def test_copy_to_local_mode_keeps_every_point_payload_and_vector(source, tmp_path):
    target = ClientStore(f"local:{tmp_path / 'local'}", "copy")
    copied = copy_store(source, target)
    want, got = _snapshot(source), _snapshot(target)
    assert copied == len(want) == len(got) == source.count()
    assert set(got) == set(want)
    assert any(p.parts for p in want.values())
    records = {p.payload.get("record") for p in want.values()}
    assert {"chunk", "document"} <= records  # document records travel with their chunks
    for pid, p in want.items():
        q = got[pid]
        assert q.payload == p.payload
        assert (q.dense is None) == (p.dense is None)
        if p.dense is not None:
            np.testing.assert_allclose(q.dense, p.dense, rtol=1e-6, atol=1e-7)
        assert (q.parts is None) == (p.parts is None)
        if p.parts is not None:
            np.testing.assert_allclose(q.parts, p.parts, rtol=1e-6, atol=1e-7)
        assert (q.sparse is None) == (p.sparse is None)
        if p.sparse is not None:
            assert dict(zip(*q.sparse, strict=True)) == pytest.approx(dict(zip(*p.sparse, strict=True)))
    target.close()


def test_edge_copy_answers_every_question_as_the_source(small_kb, tmp_path):
    copy_dir = tmp_path / "copy"
    src, dst = open_store(small_kb), open_target(str(copy_dir), "unused")
    copy_store(src, dst)
    src.close()
    dst.close()

    def answers(settings) -> dict[str, tuple[list[str], list[str]]]:
        """Per question: the fused top 10, and the top 3 after the second stage. Fusion ranks
        equal scores by point id (kb.store.fusion), so where the copy put its points does not
        matter: the lists must be the same all the way down."""
        fused = Retriever(replace(settings, rerank_depth=0))
        reranked = Retriever(settings, store=fused.store)
        out = {q: ([h.chunk_key for h in fused.search(q, k=10).hits],
                   [h.chunk_key for h in reranked.search(q, k=3).hits]) for q in QUESTIONS}
        fused.close()
        return out

    want = answers(small_kb)
    assert answers(make_settings(copy_dir)) == want
    assert all(fused and reranked for fused, reranked in want.values())


def test_non_empty_target_is_refused_unless_replaced(source, tmp_path):
    target = ClientStore(f"local:{tmp_path / 'local'}", "copy")
    target.ensure_schema(384, parts=True)
    stale = StoredPoint(point_id("stale"), {"record": "chunk", "state": "live", "doc_key": "gone"},
                        dense=[1.0] + [0.0] * 383)
    target.upsert([stale])
    with pytest.raises(StoreError, match="already holds 1 points"):
        copy_store(source, target)
    assert target.count() == 1  # refused: untouched
    copy_store(source, target, replace=True)
    assert target.count() == source.count()
    assert target.get([stale.id]) == []
    target.close()


def test_schemas_with_and_without_part_vectors_do_not_mix(source, tmp_path):
    target = ClientStore(f"local:{tmp_path / 'local'}", "copy")
    target.ensure_schema(384, parts=False)
    with pytest.raises(StoreError, match="the source has part vectors and the target has none"):
        copy_store(source, target, replace=True)
    assert target.count() == 0
    plain = ClientStore(f"local:{tmp_path / 'plain'}", "plain")
    plain.ensure_schema(4)
    plain.upsert([StoredPoint(point_id("p"), {"record": "chunk"}, dense=[1.0, 0, 0, 0])])
    with_parts = ClientStore(f"local:{tmp_path / 'parts'}", "parts")
    with_parts.ensure_schema(4, parts=True)
    with pytest.raises(StoreError, match="the target has part vectors and the source has none"):
        copy_store(plain, with_parts)
    for store in (target, plain, with_parts):
        store.close()


def test_empty_source_is_a_clear_error(tmp_path):
    empty = EdgeStore(tmp_path / "empty")
    target = ClientStore(f"local:{tmp_path / 'local'}", "copy")
    with pytest.raises(StoreError, match="empty; nothing to copy"):
        copy_store(empty, target)
    assert not target.exists


def test_cli_copy_then_refuses_a_second_copy(small_kb, tmp_path, capsys):
    target = tmp_path / "moved"
    assert main(["--data-dir", str(small_kb.data_dir), "copy", str(target), "-q"]) == 0
    out = capsys.readouterr().out
    assert f"points to {target}" in out
    assert main(["--data-dir", str(small_kb.data_dir), "copy", str(target), "-q"]) == 1
    assert "pass --replace" in capsys.readouterr().err
    assert main(["--data-dir", str(small_kb.data_dir), "copy", str(target), "-q", "--replace"]) == 0


class _OnePointBatches:
    """The real store, exported one point at a time: the copy must hold back the points read
    before the first one carrying a dense vector, which fixes the target's schema."""

    def __init__(self, store: ClientStore) -> None:
        self.store = store
        self.has_parts = store.has_parts

    def count(self, where=None) -> int:
        return self.store.count(where)

    def export(self, batch: int = 512):
        return self.store.export(batch=1)


def test_points_without_vectors_before_the_first_chunk_are_copied_too(tmp_path):
    source = ClientStore(f"local:{tmp_path / 'src'}", "src")
    source.ensure_schema(4)
    records = [StoredPoint(point_id("doc", str(i)), {"record": "document", "doc_key": str(i)}) for i in range(6)]
    chunk = StoredPoint(point_id("chunk"), {"record": "chunk", "state": "live", "doc_key": "0"}, dense=[1.0, 0, 0, 0])
    source.upsert([*records, chunk])
    first = next(iter(source.export(batch=1)))[0]
    assert first.dense is None  # the case under test: the export starts with a point without vectors
    target = ClientStore(f"local:{tmp_path / 'dst'}", "dst")
    assert copy_store(_OnePointBatches(source), target) == 7
    assert target.count() == 7 and target.count({"record": "chunk"}) == 1
    for store in (source, target):
        store.close()
