"""Where the extractive answer's CLOSE_MARGIN comes from: ``python -m eval.citation_margin``.

An extractive answer quotes three provisions, and a fourth or fifth when it matches the
question about as well as the first (kb/answer/extractive.py). "About as well" is measured on
the retrieval alone, never on which provision is gold: for every gold question that is not an
explicit reference, the gap between the first provision's match score and the third's; the
median gap is the margin. The script also prints how many extra provisions that margin quotes
per question.
"""

from __future__ import annotations

import statistics
import sys

from eval.gold import load_gold
from kb.answer import RETRIEVE_K
from kb.answer.extractive import CLOSE_MARGIN, MAX_PROVISIONS, MIN_PROVISIONS, quoted_provisions
from kb.config import load_settings
from kb.retrieve import Retriever


def match_scores(retriever: Retriever, query: str) -> list[float] | None:
    """The second stage's match score of the first MAX_PROVISIONS hits; None for references."""
    result = retriever.search(query, k=RETRIEVE_K)
    if any(r.article for r in result.references) or len(result.hits) < MIN_PROVISIONS:
        return None
    return [s.match(retriever.rerank) for s in retriever.signals(query, result.hits[:MAX_PROVISIONS])]


def main(gold: str = "sample") -> int:
    retriever = Retriever(load_settings())
    try:
        scores = [m for q in load_gold(gold) if (m := match_scores(retriever, q.query)) is not None]
    finally:
        retriever.close()
    gaps = [m[0] - m[MIN_PROVISIONS - 1] for m in scores]
    quartiles = statistics.quantiles(gaps, n=4)
    extra = [quoted_provisions(m) - MIN_PROVISIONS for m in scores]
    print(f"{len(gaps)} questions of gold set {gold}; gap between provision 1 and {MIN_PROVISIONS}: "
          f"quartiles {quartiles[0]:.3f} / {quartiles[1]:.3f} (median) / {quartiles[2]:.3f}")
    print(f"CLOSE_MARGIN in kb/answer/extractive.py: {CLOSE_MARGIN:.2f}; with it an answer quotes "
          f"{statistics.mean(extra):.2f} extra provisions on average (none in {extra.count(0)} questions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
