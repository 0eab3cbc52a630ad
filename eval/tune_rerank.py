"""Tune the second-stage ranking (kb/rerank.py) on a gold set, with cross-validation.

For every question the fused candidates (second stage off) and their four signals are
computed once through the code path `kb ask` takes; then every weight setting of the grid
reorders them. Two-fold cross-validation, repeated over three shuffles: the best setting on
one half (by R@3, then R@1) is scored on the other, so the held-out figures are not the
fitted ones. Finally the best setting on all questions is printed, to compare with the
defaults in kb/rerank.py.

    KB_DATA_DIR=… python -m eval.tune_rerank [--gold sample] [--depth 8]
"""

from __future__ import annotations

import argparse
import itertools
import random
from dataclasses import dataclass, replace
from statistics import mean

from eval.gold import GoldQuestion, load_gold
from eval.retrieval import doc_keys_by_file, first_rank
from kb.config import load_settings
from kb.query import normalize_query
from kb.rerank import RerankWeights, Signals, candidate_signals
from kb.retrieve import Retriever

GRID = {
    "place": [0.0, 0.02, 0.04, 0.083, 0.17, 0.33],
    "chunk": [0.0, 25.0, 50.0, 100.0],
    "line": [0.0, 25.0, 50.0, 100.0],
    "overlap": [0.0, 0.5, 1.0, 2.0],
}
KS = (1, 3, 5, 10)


@dataclass
class Candidates:
    """One question's fused candidates: their signals and which of them answer it."""

    signals: list[Signals]
    gold: list[bool]
    gold_below: int | None  # 1-based fused rank of the first answer below the reranked head


def collect(retriever: Retriever, questions: list[GoldQuestion], depth: int) -> list[Candidates]:
    doc_keys = doc_keys_by_file(retriever)
    out = []
    for q in questions:
        hits = retriever.search(q.query, k=max(10, depth)).hits  # second stage off: fused order
        rank = first_rank([(h.doc_key, h.path) for h in hits], q, doc_keys)
        head = hits[:depth]
        text = normalize_query(q.query)
        cosines = retriever.store.cosines(retriever.embed_query(text), [h.point_id for h in head])
        out.append(Candidates(candidate_signals(head, text, cosines),
                              [_answers(h, q, doc_keys) for h in head],
                              rank if rank is not None and rank > depth else None))
    return out


def _answers(hit, q: GoldQuestion, doc_keys: dict[str, str]) -> bool:
    return first_rank([(hit.doc_key, hit.path)], q, doc_keys) == 1


def ranks(cands: list[Candidates], w: RerankWeights | None) -> list[int | None]:
    """1-based rank of the first answer after reordering (None: not in the first 10)."""
    out = []
    for c in cands:
        order = list(range(len(c.signals)))
        if w is not None:
            order.sort(key=lambda i: (-c.signals[i].score(w), i))
        first = next((n + 1 for n, i in enumerate(order) if c.gold[i]), c.gold_below)
        out.append(first)
    return out


def recall(rs: list[int | None], k: int) -> float:
    return sum(1 for r in rs if r is not None and r <= k) / max(len(rs), 1)


def mrr(rs: list[int | None]) -> float:
    return sum(1 / r for r in rs if r is not None and r <= 10) / max(len(rs), 1)


def best(cands: list[Candidates], grid: list[RerankWeights]) -> RerankWeights:
    def objective(w: RerankWeights) -> tuple[float, float, float]:
        rs = ranks(cands, w)
        return recall(rs, 3), recall(rs, 1), mrr(rs)

    return max(grid, key=objective)


def line(name: str, rs: list[int | None]) -> str:
    return f"| {name} | " + " | ".join(f"{recall(rs, k):.3f}" for k in KS) + f" | {mrr(rs):.3f} |"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default="sample")
    ap.add_argument("--depth", type=int, default=RerankWeights.depth)
    args = ap.parse_args()
    retriever = Retriever(replace(load_settings(), rerank_depth=0))
    questions = load_gold(args.gold)
    cands = collect(retriever, questions, args.depth)
    retriever.close()
    grid = [RerankWeights(args.depth, *values) for values in itertools.product(*GRID.values())]
    print(f"gold set {args.gold}: {len(cands)} questions, first {args.depth} fused candidates reordered, "
          f"{len(grid)} weight settings")
    print("| held-out half | R@1 | R@3 | R@5 | R@10 | MRR@10 |\n|---|---|---|---|---|---|")
    fused_all, tuned_all = [], []
    for seed in (7, 8, 9):
        idx = list(range(len(cands)))
        random.Random(seed).shuffle(idx)
        halves = [idx[::2], idx[1::2]]
        for fit, test in ((halves[0], halves[1]), (halves[1], halves[0])):
            w = best([cands[i] for i in fit], grid)
            held = [cands[i] for i in test]
            fused_all.append(ranks(held, None))
            tuned_all.append(ranks(held, w))
            print(line(f"seed {seed}, fused", fused_all[-1]))
            print(line(f"seed {seed}, reranked (place {w.place}, chunk {w.chunk}, line {w.line}, "
                       f"overlap {w.overlap})", tuned_all[-1]))
    for name, runs in (("mean held-out, fused", fused_all), ("mean held-out, reranked", tuned_all)):
        print(f"| {name} | " + " | ".join(f"{mean(recall(r, k) for r in runs):.3f}" for k in KS)
              + f" | {mean(mrr(r) for r in runs):.3f} |")
    w = best(cands, grid)
    default = RerankWeights(args.depth)
    print(line("all questions, defaults of kb/rerank.py", ranks(cands, default)))
    print(line(f"all questions, best (place {w.place}, chunk {w.chunk}, line {w.line}, overlap {w.overlap})",
               ranks(cands, w)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
