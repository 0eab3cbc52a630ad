"""Retrieval quality on the sample gold set, in the same run as the BM25 baseline.

This is a regression guard with the figures we measured (README): it fails if hybrid
retrieval drops below them or stops beating plain BM25.
"""

from __future__ import annotations

import pytest

from eval.gold import load_gold
from eval.retrieval import evaluate
from kb.retrieve import Retriever


@pytest.mark.slow
def test_sample_gold_recall(sample_kb):
    questions = load_gold("sample")
    assert len(questions) >= 120
    r = Retriever(sample_kb)
    try:
        hybrid, bm25 = evaluate(r, questions, modes=("hybrid",))
    finally:
        r.close()
    assert hybrid.recall(5) >= 0.85
    assert hybrid.recall(5) > bm25.recall(5) + 0.1
    assert hybrid.recall(5, "reference") == 1.0
