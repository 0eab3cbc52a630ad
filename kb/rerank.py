"""Second-stage ranking of the fused candidates: the few provisions an answer quotes.

Reciprocal-rank fusion keeps only ranks, so among the first few candidates the order is
decided by small rank differences on either side. An officer reads the first three. This
stage reorders the first ``depth`` candidates by four signals:
- the fused place itself (a small penalty per place, so fusion still counts);
- the cosine of the question with the chunk's own vector;
- the cosine with its best line (款/项), from the part vectors when the store has them;
- the share of the question's words found in one sentence of the provision (a provision
  whose words are spread over a long article matches less well than one sentence holding
  them all).
The retriever's priors (a superseded version below the one in force, the configured
document-type weights) scale fused scores; here they count as ``prior × ln(factor)``, so a
0.85 version penalty still costs a candidate about as much as 0.013 of cosine, and a weight
of 0.01 still sinks it.
The weights were chosen with 2-fold cross-validation, three shuffles, on the sample gold set
(``python -m eval.tune_rerank``): on the held-out halves R@1 went 0.661 → 0.754, R@3
0.820 → 0.882 and R@5 0.907 → 0.938; these weights are the best on all questions. The
candidates below ``depth`` keep their fused order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kb.model import Hit
from kb.sparse import tokenize
from kb.store import StoredPoint

_SENTENCE_END = re.compile(r"[。；！？\n]")


@dataclass(frozen=True)
class RerankWeights:
    """How much each signal counts; ``depth`` candidates are reordered (0: stage off)."""

    depth: int = 20
    place: float = 0.04  # penalty per fused place
    chunk: float = 25.0  # × cosine of question and chunk
    line: float = 25.0  # × best cosine of question and one line (款/项)
    overlap: float = 2.0  # × share of the question's word weight inside one sentence
    prior: float = 2.0  # × ln of the retriever's prior factor (version, document type)


@dataclass(frozen=True)
class Signals:
    """What the second stage knows about one candidate."""

    place: int
    chunk_cos: float
    line_cos: float
    overlap: float

    def score(self, w: RerankWeights) -> float:
        return -w.place * self.place + w.chunk * self.chunk_cos + w.line * self.line_cos + w.overlap * self.overlap


def term_weights(question: str) -> dict[str, int]:
    """The question's words, longer ones counting more (as the sparse side weighs them)."""
    return {t: min(len(t), 4) for t in set(tokenize(question))}


def best_sentence_overlap(text: str, weights: dict[str, int]) -> float:
    """Share of the question's word weight found together in one sentence of ``text``.

    A word counts when it occurs in the sentence as written (lower-cased): no segmentation of
    the candidates, which would cost milliseconds per question, and none is needed, since the
    question's words were segmented already."""
    total = sum(weights.values())
    if not total:
        return 0.0
    best = 0
    for sentence in _SENTENCE_END.split(text.lower()):
        if sentence.strip():
            best = max(best, sum(w for t, w in weights.items() if t in sentence))
    return best / total


def _cosines(question: np.ndarray, rows: Sequence[Sequence[float]]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1) * (np.linalg.norm(question) or 1.0)
    return (m @ question) / np.where(norms > 0, norms, 1.0)


def signals(place: int, question_vector: np.ndarray, weights: dict[str, int], hit: Hit,
            point: StoredPoint | None) -> Signals:
    """The four signals of one candidate; without stored vectors the cosines are 0."""
    chunk_cos = float(_cosines(question_vector, [point.dense])[0]) if point and point.dense else 0.0
    line_cos = chunk_cos
    if point and point.parts:
        line_cos = max(chunk_cos, float(_cosines(question_vector, point.parts).max()))
    return Signals(place, chunk_cos, line_cos, best_sentence_overlap(hit.text, weights))


def rerank(hits: list[Hit], question: str, question_vector: Sequence[float],
           points: dict[str, StoredPoint], w: RerankWeights,
           prior: Callable[[Hit], float] = lambda _hit: 1.0) -> list[Hit]:
    """``hits`` (fused order) with the first ``w.depth`` reordered by their signals and
    ``prior`` (the factor the retriever scaled each fused score by)."""
    if w.depth <= 1 or len(hits) < 2:
        return hits
    head, tail = hits[:w.depth], hits[w.depth:]
    weights = term_weights(question)
    vector = np.asarray(question_vector, dtype=np.float32)
    scored = [(signals(i, vector, weights, h, points.get(h.point_id)).score(w) + w.prior * math.log(prior(h)), i, h)
              for i, h in enumerate(head)]
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [h for _s, _i, h in scored] + tail
