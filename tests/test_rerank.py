"""The second-stage ranking (kb/rerank.py): its signals, and what it does to real searches
over Qdrant Edge with the real e5 model (five sample documents)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kb.model import Hit
from kb.rerank import RerankWeights, best_sentence_overlap, rerank, term_weights
from kb.retrieve import Retriever

# Questions in everyday words whose answering article of the 行政处罚法 / 行政强制法 the
# fused ranking puts below the first place on the whole sample corpus (eval/gold/sample.jsonl).
EVERYDAY = {
    "罚款数额小能不能让执法人员在现场直接把钱收走": ("行政处罚法", "第六十八条"),
    "行政强制措施的种类": ("行政强制法", "第九条"),
    "执法人员当场收罚款却不给收据，我能不交吗": ("行政处罚法", "第七十条"),
    "十三岁的孩子干了违法的事要不要罚": ("行政处罚法", "第三十条"),
    "一件事能不能被罚两回钱": ("行政处罚法", "第二十九条"),
}


@pytest.fixture(scope="module")
def retrievers(small_kb):
    reranked = Retriever(small_kb)
    fused = Retriever(replace(small_kb, rerank_depth=0), store=reranked.store)
    yield fused, reranked
    reranked.close()


def _hit(key: str, text: str) -> Hit:
    return Hit(key, "D", key, "t", "t", "law", "current", "2021", "t", text, 0.0, point_id=key)


def test_overlap_counts_words_found_together_in_one_sentence():
    weights = term_weights("查封扣押的期限")
    together = "查封、扣押的期限不得超过三十日。"
    spread = "查封应当制作现场笔录。扣押物品应当妥善保管。期限由法律规定。"
    assert best_sentence_overlap(together, weights) > best_sentence_overlap(spread, weights)
    assert best_sentence_overlap("", weights) == 0.0
    assert best_sentence_overlap(together, {}) == 0.0


def test_head_is_reordered_by_cosine_and_the_tail_keeps_its_place():
    """Three candidates: the third's best line points the question's way. Only the first
    ``depth`` move; a candidate the store did not score goes by words and place alone."""
    hits = [_hit("a", "甲"), _hit("b", "乙"), _hit("c", "丙"), _hit("d", "丁")]
    cosines = {"a": (0.85, 0.85), "b": (0.86, 0.87), "c": (0.88, 0.93), "d": (0.95, 0.95)}  # e5: bunched
    out = rerank(hits, "问题", cosines, RerankWeights(depth=3))
    assert [h.chunk_key for h in out] == ["c", "b", "a", "d"]  # d is past the depth: stays last
    assert [h.chunk_key for h in rerank(hits, "问题", cosines, RerankWeights(depth=0))] == list("abcd")
    missing = rerank(hits, "问题", {}, RerankWeights(depth=4))
    assert [h.chunk_key for h in missing] == list("abcd")  # no cosines, no words: the fused order
    sunk = rerank(hits, "问题", cosines, RerankWeights(depth=3), prior=lambda h: 0.01 if h.chunk_key == "c" else 1.0)
    assert [h.chunk_key for h in sunk] == ["b", "a", "c", "d"]  # a 0.01 document-type weight still sinks it


def test_reranking_permutes_only_the_head(retrievers):
    fused, reranked = retrievers
    depth = reranked.rerank.depth
    for question in EVERYDAY:
        a = [h.chunk_key for h in fused.search(question, k=depth + 5).hits]
        b = [h.chunk_key for h in reranked.search(question, k=depth + 5).hits]
        assert sorted(a[:depth]) == sorted(b[:depth]) and a[depth:] == b[depth:]


def test_everyday_questions_find_their_article_higher(retrievers):
    """Measured on the five-document store: the answering article's mean place improves and
    it comes first more often than with the fused order alone."""
    fused, reranked = retrievers

    def place(r: Retriever, question: str) -> int:
        name, path = EVERYDAY[question]
        hits = r.search(question, k=10).hits
        return next((i + 1 for i, h in enumerate(hits) if name in h.title and h.path == path), 11)

    before = [place(fused, q) for q in EVERYDAY]
    after = [place(reranked, q) for q in EVERYDAY]
    assert sum(after) < sum(before), (before, after)
    assert after.count(1) > before.count(1), (before, after)


def test_signals_of_the_first_hit_feed_the_abstention_evidence(retrievers):
    _fused, reranked = retrievers
    hits = reranked.search("查封扣押的期限最长多少天", k=3).hits
    signals = reranked.signals("查封扣押的期限最长多少天", hits)
    assert len(signals) == 3
    assert all(s.line_cos >= s.chunk_cos > 0.5 for s in signals)  # the best line is never worse
    assert signals[0].place == 0 and signals[0].overlap > 0
