"""Tune hybrid fusion (method, RRF k, dense/sparse weights, prefetch depth) on a gold set.

Two-fold cross-validation: pick the best setting on one half, report it on the other, so
the figure we publish is not the one we fitted. Prints the grid's top settings and the
held-out Recall@5 / MRR@10.

    python -m eval.tune_fusion [--gold sample]
"""

from __future__ import annotations

import argparse
import itertools
import random
from functools import lru_cache

from eval.gold import GoldQuestion, load_gold
from eval.retrieval import Scores, doc_keys_by_file, first_rank
from kb.config import load_settings
from kb.retrieve import Retriever
from kb.store import Fusion

GRID = {
    "method": ["rrf", "dbsf"],
    "k": [2, 10, 30, 60],
    "dense_weight": [1.0, 1.5, 2.0, 3.0],
    "prefetch_limit": [30, 100],
}


def score(retriever: Retriever, questions: list[GoldQuestion], doc_keys: dict[str, str]) -> Scores:
    s = Scores("")
    for q in questions:
        hits = retriever.search(q.query, k=10).hits
        s.ranks.append(first_rank([(h.doc_key, h.path) for h in hits], q, doc_keys))
        s.kinds.append(q.kind)
    return s


def settings_grid() -> list[Fusion]:
    out = []
    for method, k, w, pre in itertools.product(*GRID.values()):
        if method == "dbsf" and k != GRID["k"][0]:
            continue  # k is an RRF parameter
        out.append(Fusion(method, k, w, 1.0, pre))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default="sample")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    retriever = Retriever(load_settings())
    retriever.embed_query = lru_cache(maxsize=None)(retriever.embed_query)  # same query, same vector
    questions = load_gold(args.gold)
    doc_keys = doc_keys_by_file(retriever)
    shuffled = questions[:]
    random.Random(args.seed).shuffle(shuffled)
    folds = [shuffled[::2], shuffled[1::2]]
    grid = settings_grid()
    held_out = []
    for i, (train, test) in enumerate([(folds[0], folds[1]), (folds[1], folds[0])]):
        ranked = []
        for f in grid:
            retriever.fusion = f
            s = score(retriever, train, doc_keys)
            ranked.append((s.recall(5) + s.mrr(), f))
        ranked.sort(key=lambda x: -x[0])
        best = ranked[0][1]
        retriever.fusion = best
        s = score(retriever, test, doc_keys)
        held_out.append(s)
        print(f"fold {i}: best on train {best} → held-out R@5 {s.recall(5):.3f} MRR@10 {s.mrr():.3f}")
    print("top settings on the whole set:")
    ranked = []
    for f in grid:
        retriever.fusion = f
        s = score(retriever, questions, doc_keys)
        ranked.append((s.recall(5), s.mrr(), f))
    ranked.sort(key=lambda x: -(x[0] + x[1]))
    for r5, mrr, f in ranked[:8]:
        print(f"  R@5 {r5:.3f} MRR@10 {mrr:.3f}  {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
