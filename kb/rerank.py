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
from collections.abc import Callable
from dataclasses import dataclass

from kb.model import Hit
from kb.sparse import tokenize

_SENTENCE_END = re.compile(r"[。；！？\n]")


@dataclass(frozen=True)
class RerankWeights:
    """How much each signal counts; ``depth`` candidates are reordered (0: stage off)."""

    depth: int = 40
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

    def match(self, w: RerankWeights) -> float:
        """How well the candidate itself matches the question, its fused place left out."""
        return w.chunk * self.chunk_cos + w.line * self.line_cos + w.overlap * self.overlap

    def score(self, w: RerankWeights) -> float:
        return self.match(w) - w.place * self.place


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


def candidate_signals(hits: list[Hit], question: str, cosines: dict[str, tuple[float, float]]) -> list[Signals]:
    """The four signals of each hit (place = its index), the cosines as the store computed
    them (:meth:`kb.store.VectorStore.cosines`); a hit the store did not score gets 0."""
    weights = term_weights(question)
    out = []
    for i, hit in enumerate(hits):
        chunk_cos, line_cos = cosines.get(hit.point_id, (0.0, 0.0))
        out.append(Signals(i, chunk_cos, line_cos, best_sentence_overlap(hit.text, weights)))
    return out


def rerank(hits: list[Hit], question: str, cosines: dict[str, tuple[float, float]], w: RerankWeights,
           prior: Callable[[Hit], float] = lambda _hit: 1.0) -> list[Hit]:
    """``hits`` (fused order) with the first ``w.depth`` reordered by their signals and
    ``prior`` (the factor the retriever scaled each fused score by)."""
    if w.depth <= 1 or len(hits) < 2:
        return hits
    head, tail = hits[:w.depth], hits[w.depth:]
    scored = [(s.score(w) + w.prior * math.log(prior(h)), s.place, h)
              for s, h in zip(candidate_signals(head, question, cosines), head, strict=True)]
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [h for _s, _i, h in scored] + tail
