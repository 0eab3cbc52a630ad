"""Hybrid search fused on our side, every tie settled by point id.

Qdrant fuses prefetched lists itself, but it ranks equal scores in the order the points sit in
its segments. Equal scores are common: the sparse side gives the same BM25 score to chunks with
the same query words, and two versions of a law share article texts. Where points sit changes
when they are rewritten (re-tokenizing rewrites sparse vectors) or copied to another store, so
the same question on the same data could fuse differently, and a different fifth candidate
means a different answer. Here each list is cut at a score boundary chosen by (score, id) and
fused with Qdrant's own formulas, so only the data decides the order.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from kb.store.base import Fusion, Match

Search = Callable[[int], list[Match]]  # limit → the store's best matches (ids and scores), best first
Payloads = Callable[[list[str]], list[Match]]  # ids → their matches with payload (a store's ``get``)

# How far a tie at the cut is followed. Sparse scores tie in groups (chunks holding the same
# query words the same number of times); on the sample corpus the group at the 30th place had
# 6 to 11 members, and reading 1,000 ids without payload took under a millisecond. A tie
# running past this many matches is cut in the store's order.
MAX_FETCH = 8192


def best(search: Search, limit: int) -> list[Match]:
    """The ``limit`` best matches of ``search``, ties broken by id. When the score at the cut is
    shared with matches beyond it, more are fetched (up to MAX_FETCH) so the cut chooses among
    all of them."""
    if limit <= 0:
        return []
    fetch = limit + 1
    while True:
        found = search(fetch)
        if len(found) < fetch or found[-1].score != found[limit - 1].score or fetch >= MAX_FETCH:
            break
        fetch = min(fetch * 2, MAX_FETCH)  # the tie at the cut runs to the end of what was fetched
    return sorted(found, key=_order)[:limit]


def ranked(search: Search, limit: int, payloads: Payloads) -> list[Match]:
    """One list's ``limit`` best, with payloads."""
    return _with_payloads(best(search, limit), payloads)


def hybrid(dense: Search, sparse: Search, limit: int, fusion: Fusion, payloads: Payloads) -> list[Match]:
    """The ``limit`` best of the dense and sparse candidate lists (``fusion.prefetch_limit``
    each), fused by weighted RRF or DBSF exactly as Qdrant computes them, with payloads."""
    lists = [best(dense, fusion.prefetch_limit), best(sparse, fusion.prefetch_limit)]
    if fusion.method == "rrf":
        scored = _rrf(lists, fusion.k, [fusion.dense_weight, fusion.sparse_weight])
    else:
        scored = _dbsf(lists)
    return _with_payloads(sorted(scored, key=_order)[:limit], payloads)


def _with_payloads(matches: list[Match], payloads: Payloads) -> list[Match]:
    """Searches read ids and scores only; the payloads (chunk texts, the costly part) are read
    for the final few. A point deleted in between (an ingest or removal in the app's process)
    is dropped rather than returned without its text."""
    found = {m.id: m.payload for m in payloads([m.id for m in matches])} if matches else {}
    return [Match(m.id, m.score, found[m.id]) for m in matches if m.id in found]


def _order(m: Match) -> tuple[float, str]:
    return -m.score, m.id


def _rrf(lists: list[list[Match]], k: int, weights: list[float]) -> list[Match]:
    """Qdrant's weighted RRF: a match at 0-based ``position`` of a list with weight ``w`` adds
    ``1 / ((position + 1) / w + k - 1)``; weight 1 gives the textbook ``1 / (position + k)``. A
    list of weight 0 or less adds nothing, but its matches still take part (with score 0)."""
    fused: dict[str, Match] = {}
    for matches, weight in zip(lists, weights, strict=True):
        for position, m in enumerate(matches):
            _add(fused, m, 1.0 / ((position + 1) / weight + k - 1) if weight > 0 else 0.0)
    return list(fused.values())


def _dbsf(lists: list[list[Match]]) -> list[Match]:
    """Qdrant's distribution-based score fusion: each list's scores mapped from
    mean ± 3 sample standard deviations onto 0–1, then summed."""
    fused: dict[str, Match] = {}
    for matches in lists:
        for m, score in zip(matches, _distribution_normalized([m.score for m in matches]), strict=True):
            _add(fused, m, score)
    return list(fused.values())


def _distribution_normalized(scores: list[float]) -> list[float]:
    if len(scores) < 2:
        return [0.5] * len(scores)
    mean = sum(scores) / len(scores)
    spread = 3.0 * math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
    if spread == 0:
        return [0.5] * len(scores)
    return [(s - (mean - spread)) / (2 * spread) for s in scores]


def _add(fused: dict[str, Match], m: Match, score: float) -> None:
    if m.id in fused:
        fused[m.id].score += score
    else:
        fused[m.id] = Match(m.id, score, m.payload)
