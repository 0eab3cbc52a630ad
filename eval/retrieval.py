"""Retrieval quality on a gold set: Recall@k and MRR@10 for the system and a BM25 baseline.

``kb eval retrieval [--gold sample|national]`` prints, in one run and over the same indexed
chunks: hybrid (the configured retriever), dense-only, sparse-only, and plain jieba BM25.
Every retriever is scored on provisions: BM25 ranks chunks, so a long article split into parts
is collapsed to its best part, as the system's own search does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.bm25 import BM25
from eval.gold import GoldQuestion, load_gold, path_matches
from kb.chunking import stored_embed_text
from kb.config import Settings
from kb.retrieve import Retriever


@dataclass
class Scores:
    name: str
    ranks: list[int | None] = field(default_factory=list)  # 1-based rank of first gold hit
    kinds: list[str] = field(default_factory=list)

    def recall(self, k: int, kind: str | None = None) -> float:
        sel = [r for r, kd in zip(self.ranks, self.kinds, strict=True) if kind is None or kd == kind]
        return sum(1 for r in sel if r is not None and r <= k) / max(len(sel), 1)

    def mrr(self, k: int = 10) -> float:
        return sum(1 / r for r in self.ranks if r is not None and r <= k) / max(len(self.ranks), 1)


def first_rank(hits: Sequence[tuple[str, str]], q: GoldQuestion, doc_keys: dict[str, str]) -> int | None:
    """Rank (1-based) of the first (doc_key, path) that answers ``q``."""
    targets = [(doc_keys.get(a.doc), a.path) for a in q.answers]
    for rank, (doc_key, path) in enumerate(hits, 1):
        if any(doc_key == d and path_matches(path, t) for d, t in targets):
            return rank
    return None


def doc_keys_by_file(retriever: Retriever) -> dict[str, str]:
    return {Path(d.source_path).name: d.key for d in retriever.documents}


def evaluate(retriever: Retriever, questions: list[GoldQuestion], depth: int = 10,
             modes: Sequence[str] = ("hybrid", "dense", "sparse"), baseline: bool = True) -> list[Scores]:
    doc_keys = doc_keys_by_file(retriever)
    missing = sorted({a.doc for q in questions for a in q.answers if a.doc not in doc_keys})
    if missing:
        unanswerable = sum(1 for q in questions if all(a.doc not in doc_keys for a in q.answers))
        print(f"warning: {len(missing)} gold documents are not in the knowledge base ({unanswerable} questions "
              f"cannot be answered): {', '.join(missing[:5])}")
    results = []
    for mode in modes:
        s = Scores(mode)
        for q in questions:
            hits = retriever.search(q.query, k=depth, mode=mode).hits
            s.ranks.append(first_rank([(h.doc_key, h.path) for h in hits], q, doc_keys))
            s.kinds.append(q.kind)
        results.append(s)
    if baseline:
        results.append(bm25_scores(retriever, questions, doc_keys, depth))
    return results


def bm25_scores(retriever: Retriever, questions: list[GoldQuestion], doc_keys: dict[str, str],
                depth: int) -> Scores:
    chunks = retriever.store.scroll({"record": "chunk", "state": "live"})
    texts = [stored_embed_text(m.payload) for m in chunks]
    index = BM25(texts)
    s = Scores("bm25 (baseline)")
    for q in questions:
        # Three chunks per wanted provision, as Retriever._vector_search fetches, then one per provision.
        top = index.top(q.query, depth * 3)
        pairs = list(dict.fromkeys((chunks[i].payload["doc_key"], chunks[i].payload["path"]) for i in top))
        s.ranks.append(first_rank(pairs[:depth], q, doc_keys))
        s.kinds.append(q.kind)
    return s


def format_table(results: list[Scores], k_values: Sequence[int], kinds: Sequence[str]) -> str:
    head = "| retriever | " + " | ".join(f"R@{k}" for k in k_values) + " | MRR@10 |"
    lines = [head, "|" + "---|" * (len(k_values) + 2)]
    for s in results:
        lines.append(f"| {s.name} | " + " | ".join(f"{s.recall(k):.3f}" for k in k_values) + f" | {s.mrr():.3f} |")
    lines.append("")
    lines.append("Recall@5 by query kind:")
    lines.append("| retriever | " + " | ".join(f"{k} (n={results[0].kinds.count(k)})" for k in kinds) + " |")
    lines.append("|" + "---|" * (len(kinds) + 1))
    for s in results:
        lines.append(f"| {s.name} | " + " | ".join(f"{s.recall(5, kd):.3f}" for kd in kinds) + " |")
    return "\n".join(lines)


def main(settings: Settings, gold: str = "sample", k_values: Sequence[int] = (1, 5, 10, 20, 100),
         show_misses: bool = False, out: Callable[[str], None] = print) -> int:
    questions = load_gold(gold)
    retriever = Retriever(settings)
    t0 = time.perf_counter()
    depth = max(k_values)
    results = evaluate(retriever, questions, depth=depth)
    kinds = sorted({q.kind for q in questions})
    out(f"gold set {gold}: {len(questions)} questions, {retriever.store.count({'record': 'chunk', 'state': 'live'})} "
        f"chunks indexed ({time.perf_counter() - t0:.1f}s)")
    out(format_table(results, k_values, kinds))
    if depth > settings.prefetch_limit:
        pool = 2 * settings.prefetch_limit
        # Fusion sees only the prefetched candidates, so deep recall of hybrid is bounded by them.
        out(f"note: hybrid fuses the top {settings.prefetch_limit} dense and top {settings.prefetch_limit} sparse "
            f"chunks (prefetch_limit), at most {pool} candidates; its R@k for k > {settings.prefetch_limit} reflects "
            f"that pool (KB_PREFETCH_LIMIT={depth} measures a deeper one)")
    if show_misses:
        for q, r in zip(questions, results[0].ranks, strict=True):
            if r is None or r > 5:
                hits = retriever.search(q.query, k=3).hits
                out(f"MISS {q.id} [{q.kind}] {q.query} → want {[(a.doc[:25], a.path) for a in q.answers]}; "
                    f"got {[h.citation for h in hits]}")
    return 0
