"""Retrieval ideas measured one at a time, with cross-validated parameters (issue #8).

    KB_DATA_DIR=/path/to/index python -m eval.ablate [--gold national] [--seed 7]

Each row switches one idea on (or off) against the configured retriever and leaves the rest
as shipped. An idea with a parameter is tuned by two-fold cross-validation: the value is
chosen on one half of the gold set and scored on the other, both ways round, so every
question's rank comes from a setting fitted without it. The table therefore shows what an
idea would do on questions it was not tuned on.

Ideas:
- currency prior off: a superseded version no longer ranks below the version in force;
- second-stage ranking off (kb/rerank.py): the fused order as it comes from Qdrant;
- second-stage depth: how many fused candidates it reorders (20, 30, 40);
- document-type prior: fused scores of regulations, and of interpretations/rules/cases/policy,
  scaled against laws;
- fusion: RRF k, dense/sparse weights and prefetch depth (the grid of eval.tune_fusion);
- document voting: a provision's score raised by how much of the candidate pool its
  document holds (the question names a situation one law governs);
- sparse pseudo-relevance feedback: the commonest terms of the first hits added to the
  sparse query at a lower weight, then searched again;
- document routing: each document's centroid (the mean of its chunk vectors, read from the
  embedding cache) scored against the query; provisions of the few best-matching documents
  get their fused score raised (which law governs the situation, then which article);
- definition dictionary: the corpus's own definitions (「本法所称X，是指Y」) mined from the
  indexed chunks; a question sharing enough words with a definiens Y has the defined term X
  added to its sparse query (everyday description → statutory term).
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eval.gold import GoldQuestion, load_gold
from eval.retrieval import Scores, doc_keys_by_file, first_rank
from eval.tune_fusion import settings_grid
from kb.chunking import stored_embed_text
from kb.config import load_settings
from kb.embed import EmbeddingCache
from kb.model import Hit
from kb.rerank import RerankWeights
from kb.retrieve import Retriever
from kb.sparse import query_vector, sparse_vector, term_id, tokenize
from kb.store import Where

DEPTH = 20
K_VALUES = (1, 5, 10, 20)
DEFINITION = re.compile(r"(?:本(?:法|条例|规定|办法|细则|解释)(?:所称|中的)|所称)的?[“「]?"
                        r"([^，。；：“”「」]{2,20}?)[”」]?，?(?:是指|指)([^。；]{4,200})")


def mine_definitions(texts: Sequence[str]) -> list[tuple[list[int], set[str]]]:
    """(term ids of the defined term X, words of its definiens Y) for every 「所称X，是指Y」.

    Words found in more than one definiens in twenty (下列, 情形, 单位…) say nothing about
    which definition a question means, so they are dropped from Y."""
    found = []
    for text in texts:
        for m in DEFINITION.finditer(text):
            defined = tokenize(m.group(1))
            words = set(tokenize(m.group(2))) - set(defined)
            if defined:
                found.append(([term_id(t) for t in dict.fromkeys(defined)], words))
    spread = Counter(w for _, words in found for w in words)
    common = {w for w, n in spread.items() if n > max(len(found) // 20, 2)}
    return [(ids, words - common) for ids, words in found if len(words - common) >= 2]


class AblationRetriever(Retriever):
    """The shipped retriever with the experimental ideas behind switches (all off)."""

    vote_weight: float = 0.0
    prf_weight: float = 0.0
    prf_docs: int = 3
    prf_terms: int = 10
    route_weight: float = 0.0
    route_docs: int = 10
    _centroids: tuple[list[str], Any] | None = None
    definition_weight: float = 0.0
    definition_overlap: int = 2
    _definitions: list[tuple[list[int], set[str]]] | None = None

    def definitions(self) -> list[tuple[list[int], set[str]]]:
        if self._definitions is None:
            chunks = self.store.scroll({"record": "chunk", "state": "live"})
            self._definitions = mine_definitions([m.payload.get("text", "") for m in chunks])
        return self._definitions

    def _definition_terms(self, text: str) -> list[int]:
        words = set(tokenize(text))
        own = {term_id(w) for w in words}
        extra: list[int] = []
        for defined, definiens in self.definitions():
            if len(words & definiens) >= self.definition_overlap:
                extra.extend(i for i in defined if i not in own and i not in extra)
        return extra

    def centroids(self) -> tuple[list[str], Any]:
        """(doc keys, unit centroid matrix) from the cached passage vectors of live chunks."""
        if self._centroids is None:
            import numpy as np

            cache = EmbeddingCache(self.settings.cache_path)
            by_doc: dict[str, list[str]] = defaultdict(list)
            for m in self.store.scroll({"record": "chunk", "state": "live"}):
                by_doc[m.payload["doc_key"]].append(EmbeddingCache.text_hash(stored_embed_text(m.payload)))
            keys, rows = [], []
            for doc_key, hashes in by_doc.items():
                vectors = list(cache.get_many(self.embedder.name, hashes).values())
                if vectors:
                    mean = np.mean(vectors, axis=0)
                    keys.append(doc_key)
                    rows.append(mean / np.linalg.norm(mean))
            cache.close()
            self._centroids = (keys, np.stack(rows))
        return self._centroids

    def _routed(self) -> set[str]:
        import numpy as np

        keys, matrix = self.centroids()
        scores = matrix @ np.asarray(self.embed_query(self._current_query), dtype=np.float32)
        return {keys[i] for i in np.argsort(-scores)[: self.route_docs]}

    def _apply_priors(self, hits: list[Hit]) -> list[Hit]:
        hits = super()._apply_priors(hits)
        if self.route_weight and hits:
            routed = self._routed()
            for h in hits:
                if h.doc_key in routed:
                    h.score *= 1 + self.route_weight
        if self.vote_weight and hits:
            share: dict[str, float] = defaultdict(float)
            for h in hits:
                share[h.doc_key] += h.score
            top = max(share.values()) or 1.0
            for h in hits:
                h.score *= 1 + self.vote_weight * share[h.doc_key] / top
        return hits

    def _vector_search(self, text: str, k: int, where: Where, mode: str) -> list[Hit]:
        self._current_query = text
        if mode != "hybrid" or not (self.prf_weight or self.definition_weight):
            return super()._vector_search(text, k, where, mode)
        own_ids, _ = query_vector(text)
        extra: list[int] = []
        weight = self.definition_weight
        if self.definition_weight:
            extra = self._definition_terms(text)
        else:
            first = super()._vector_search(text, k, where, mode)
            own = set(own_ids)
            counts: Counter[int] = Counter()
            for h in first[: self.prf_docs]:
                ids, _ = sparse_vector(h.text)
                counts.update(i for i in set(ids) if i not in own)
            extra = [i for i, n in counts.most_common(self.prf_terms) if n >= 2]
            weight = self.prf_weight
        if not extra:
            return super()._vector_search(text, k, where, mode)
        sparse = (list(own_ids) + extra, [1.0] * len(own_ids) + [weight] * len(extra))
        dense = self.embed_query(text)
        matches = self.store.query(dense=dense, sparse=sparse, limit=self._fetch(k), where=where, fusion=self.fusion)
        return self._ranked(matches, text, dense, k)


@dataclass
class Idea:
    name: str
    grid: list[dict[str, Any]]  # one entry per setting; a single entry means nothing to tune

    def describe(self, setting: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v}" for k, v in setting.items())


@contextmanager
def applied(retriever: AblationRetriever, setting: dict[str, Any]) -> Iterator[None]:
    """Set attributes for one measurement and put the shipped values back afterwards."""
    saved = {name: getattr(retriever, name) for name in setting}
    for name, value in setting.items():
        setattr(retriever, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(retriever, name, value)


def ideas(retriever: AblationRetriever) -> list[Idea]:
    weights = [0.5, 0.7, 0.85, 1.0]
    return [
        Idea("as configured", [{}]),
        Idea("currency prior off", [{"non_current_penalty": 1.0}]),
        Idea("second-stage ranking off", [{"rerank": RerankWeights(depth=0)}]),
        Idea("second-stage depth", [{"rerank": RerankWeights(depth=d)} for d in (20, 30, 40)]),
        Idea("document-type prior", [
            {"type_weights": {"regulation": r, "interpretation": o, "rule": o, "case": o, "policy": o}}
            for r, o in itertools.product([0.85, 1.0], weights)
        ]),
        Idea("fusion (method, RRF k, weights, prefetch)", [{"fusion": f} for f in settings_grid()]),
        Idea("document voting", [{"vote_weight": w} for w in (0.1, 0.25, 0.5, 1.0)]),
        Idea("sparse pseudo-relevance feedback", [
            {"prf_weight": w, "prf_terms": t} for w, t in itertools.product((0.2, 0.5), (5, 10))
        ]),
        Idea("document routing", [
            {"route_weight": w, "route_docs": n} for w, n in itertools.product((0.1, 0.3, 1.0), (3, 10, 30))
        ]),
        Idea("definition dictionary", [
            {"definition_weight": w, "definition_overlap": n} for w, n in itertools.product((0.3, 0.6, 1.0), (2, 3))
        ]),
    ]


def ranks(retriever: Retriever, questions: Sequence[GoldQuestion], doc_keys: dict[str, str]) -> list[int | None]:
    out = []
    for q in questions:
        hits = retriever.search(q.query, k=DEPTH).hits
        out.append(first_rank([(h.doc_key, h.path) for h in hits], q, doc_keys))
    return out


def objective(r: list[int | None]) -> float:
    """What tuning maximises: Recall@10 plus MRR@10 (the issue's two headline figures)."""
    n = max(len(r), 1)
    return sum(1 for x in r if x and x <= 10) / n + sum(1 / x for x in r if x and x <= 10) / n


def cross_validated(retriever: AblationRetriever, idea: Idea, questions: list[GoldQuestion],
                    doc_keys: dict[str, str], seed: int, log: Callable[[str], None]) -> Scores:
    """Held-out ranks for every question: each half scored with the setting best on the other."""
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    folds = [sorted(order[::2]), sorted(order[1::2])]
    held: dict[int, int | None] = {}
    if len(idea.grid) == 1:
        with applied(retriever, idea.grid[0]):
            for i, r in enumerate(ranks(retriever, questions, doc_keys)):
                held[i] = r
    else:
        per_setting = []
        for setting in idea.grid:
            with applied(retriever, setting):
                per_setting.append(ranks(retriever, questions, doc_keys))
        for train, test in ((folds[0], folds[1]), (folds[1], folds[0])):
            best = max(range(len(idea.grid)), key=lambda j: objective([per_setting[j][i] for i in train]))
            log(f"  {idea.name}: chosen on one fold → {idea.describe(idea.grid[best])}")
            for i in test:
                held[i] = per_setting[best][i]
    s = Scores(idea.name)
    s.ranks = [held[i] for i in range(len(questions))]
    s.kinds = [q.kind for q in questions]
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default="national")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", help="comma-separated idea names to run (default: all)")
    ap.add_argument("--answerable", action="store_true",
                    help="score only questions with a gold document in the index (a partial index)")
    args = ap.parse_args()
    retriever = AblationRetriever(load_settings())
    retriever.embed_query = lru_cache(maxsize=None)(retriever.embed_query)  # same query, same vector
    questions = load_gold(args.gold)
    doc_keys = doc_keys_by_file(retriever)
    missing = {a.doc for q in questions for a in q.answers} - set(doc_keys)
    if missing:
        print(f"warning: {len(missing)} gold documents are not in the knowledge base at {retriever.settings.data_dir}")
    if args.answerable:
        questions = [q for q in questions if any(a.doc in doc_keys for a in q.answers)]
    chosen = ideas(retriever)
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        chosen = [i for i in chosen if i.name in wanted or i.name == "as configured"]
    rows = []
    for idea in chosen:
        rows.append(cross_validated(retriever, idea, questions, doc_keys, args.seed, print))
        s = rows[-1]
        print(f"{idea.name}: R@10 {s.recall(10):.3f} MRR@10 {s.mrr():.3f}", flush=True)
    base = rows[0]
    print(f"\ngold set {args.gold}: {len(questions)} questions; held-out figures (2-fold CV, seed {args.seed})")
    print("| idea | " + " | ".join(f"R@{k}" for k in K_VALUES) + " | MRR@10 | ΔR@10 |")
    print("|" + "---|" * (len(K_VALUES) + 3))
    for s in rows:
        delta = s.recall(10) - base.recall(10)
        print(f"| {s.name} | " + " | ".join(f"{s.recall(k):.3f}" for k in K_VALUES)
              + f" | {s.mrr():.3f} | {delta:+.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
