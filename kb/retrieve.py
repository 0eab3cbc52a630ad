"""Retrieval: explicit references first, then hybrid dense + sparse search from Qdrant, fused
with Qdrant's formulas on our side (kb.store.fusion) so that equal scores rank by point id.

The order of work for a question:
1. normalise it (full-width digits, white space, length cap);
2. look for explicit references (「处罚法第三十三条」) and fetch those provisions directly;
3. if a document is named without an article (「处罚法 听证」), search inside it;
4. otherwise hybrid search: the e5 query vector and jieba terms, fused by RRF (or DBSF)
   with weights from configuration, filtered to live chunks and the caller's filters.
Non-current versions are ranked slightly lower but never hidden; every hit carries its
version and status so the answer can say which version it cites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from kb.background import Background, BackgroundMatch, open_background
from kb.config import Settings, doc_type_weights
from kb.embed import Embedder, load_embedder
from kb.library import DocumentInfo, list_documents
from kb.model import Hit
from kb.query import Reference, find_references, normalize_query, remainder, unheld_references, with_jargon
from kb.rerank import RerankWeights, Signals, candidate_signals, rerank
from kb.sparse import add_terms, query_vector
from kb.store import Fusion, Match, VectorStore, Where, open_store

# A superseded version ranks below the version in force, never out of the results.
NON_CURRENT_PENALTY = 0.85
MODES = ("hybrid", "dense", "sparse")


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    references: list[Reference] = field(default_factory=list)
    scoped_to: list[str] = field(default_factory=list)  # doc keys the search was limited to
    missing: list[str] = field(default_factory=list)  # explicit references that name no provision
    not_held: list[str] = field(default_factory=list)  # laws cited by article that the library does not hold


def hit_from_match(m: Match, score: float | None = None) -> Hit:
    p = m.payload
    return Hit(
        chunk_key=p.get("chunk_key", ""), doc_key=p.get("doc_key", ""), path=p.get("path", ""),
        title=p.get("title", ""), short_title=p.get("short_title", ""), doc_type=p.get("doc_type", ""),
        status=p.get("status", "unknown"), version=p.get("version", ""), breadcrumb=p.get("breadcrumb", ""),
        text=p.get("text", ""), score=m.score if score is None else score,
        start=int(p.get("start", 0)), end=int(p.get("end", 0)), payload=p, point_id=m.id,
    )


class Retriever:
    """Search the knowledge base. One per process: it holds the model and the store."""

    def __init__(self, settings: Settings, store: VectorStore | None = None,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or open_store(settings)
        self.embedder = embedder or load_embedder(settings)
        self.fusion = Fusion(settings.fusion, settings.rrf_k, settings.dense_weight,
                             settings.sparse_weight, settings.prefetch_limit)
        self._query_cache: dict[str, list[float]] = {}
        # Ranking priors applied after fusion (eval/ablate.py measures each one).
        self.non_current_penalty = NON_CURRENT_PENALTY
        self.type_weights: dict[str, float] = doc_type_weights(settings.doc_type_weights)
        self.rerank = RerankWeights(depth=settings.rerank_depth)
        self.reload_names()

    def reload_names(self) -> None:
        """Refresh the name → document map after documents are added or removed."""
        self.documents: list[DocumentInfo] = list_documents(self.store)
        self._by_name: dict[str, list[DocumentInfo]] = {}
        for doc in self.documents:
            for name in doc.names():
                self._by_name.setdefault(name, []).append(doc)
        self._current_titles = {d.title for d in self.documents if d.status == "current"}
        self._titles = {d.title for d in self.documents}
        add_terms(self._by_name)

    # -- public --------------------------------------------------------------------------
    def search(self, query: str, k: int = 5, doc_types: list[str] | None = None,
               statuses: list[str] | None = None, mode: str = "hybrid") -> SearchResult:
        """The ``k`` best provisions for ``query``; see the module docstring for the steps."""
        q = normalize_query(query)
        if not q:
            return SearchResult(q, [])
        where: Where = {"record": "chunk", "state": "live"}
        if doc_types:
            where["doc_type"] = list(doc_types)
        if statuses:
            where["status"] = list(statuses)
        refs = find_references(q, list(self._by_name))
        direct: list[Hit] = []
        missing: list[str] = []
        for ref in refs:
            if ref.article:
                found = self._lookup(ref, where)
                direct.extend(found)
                if not found:
                    docs = self._docs_for(ref.name)
                    missing.append(f"《{docs[0].title if docs else ref.name}》中没有{ref.article}")
        rest = remainder(q, refs)
        scoped = [d.key for ref in refs if not ref.article for d in self._docs_for(ref.name)]
        hits = list(direct)
        if len(hits) < k and (rest or not refs):
            scope = dict(where)
            if scoped and rest:
                scope["doc_key"] = scoped
            found = self._vector_search(with_jargon(rest or q), k + len(hits), scope, mode)
            seen = {h.chunk_key for h in hits}
            hits.extend(h for h in found if h.chunk_key not in seen)
        return SearchResult(q, hits[:k], refs, scoped if rest else [], missing,
                            unheld_references(q, list(self._by_name)))

    def provision(self, doc_key: str, path: str) -> list[Hit]:
        """All chunks (parts) of one provision, in order."""
        matches = self.store.scroll({"record": "chunk", "state": "live", "doc_key": doc_key, "path": path})
        return [hit_from_match(m, 1.0) for m in sorted(matches, key=lambda m: m.payload.get("part", 0))]

    def embed_query(self, text: str) -> list[float]:
        """The query vector, memoised: answering embeds the same question for search and for
        the abstention evidence, and a UI re-runs the last question often."""
        cached = self._query_cache.get(text)
        if cached is None:
            cached = self.embedder.embed_query(text).tolist()
            if len(self._query_cache) >= 256:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[text] = cached
        return cached

    def signals(self, text: str, hits: list[Hit]) -> list[Signals]:
        """The second stage's view of ``hits`` for the question ``text`` (their cosines with
        the question, whole chunk and best line, and word overlap): evidence for abstaining."""
        q = normalize_query(text)
        return candidate_signals(hits, q, self.store.cosines(self.embed_query(q), [h.point_id for h in hits]))

    def term_in_corpus(self, term: str) -> bool:
        """Whether any live chunk contains ``term`` (one sparse lookup, about a millisecond)."""
        from kb.sparse import term_id

        return bool(self.store.query(dense=None, sparse=([term_id(term)], [1.0]), limit=1,
                                     where={"record": "chunk", "state": "live"}))

    @cached_property
    def background(self) -> Background | None:
        """The configured background index (kb.background), opened and checked on first use:
        plain searches never need it."""
        return open_background(self.settings, self.embedder)

    def background_nearest(self, text: str, limit: int = 3) -> list[BackgroundMatch]:
        """The nearest documents of the background whose title this knowledge base does not
        hold; [] without a background."""
        if self.background is None:
            return []
        return self.background.nearest(self.embed_query(normalize_query(text)), self._titles, limit)

    def close(self) -> None:
        """Close the store and, when it was opened, the background: one process at a time may
        hold a Qdrant Edge shard, so a later Retriever in this process can open them again."""
        background = self.__dict__.get("background")
        if background is not None:
            background.close()
        self.store.close()

    def dense_neighbours(self, text: str, limit: int = 30, doc_types: list[str] | None = None) -> list[Hit]:
        """The nearest chunks by the query vector alone, raw cosine scores of whole chunks
        (not their lines): evidence for deciding whether to answer at all, calibrated on them."""
        where: Where = {"record": "chunk", "state": "live"}
        if doc_types:
            where["doc_type"] = list(doc_types)
        matches = self.store.query(dense=self.embed_query(normalize_query(text)), sparse=None, limit=limit,
                                   where=where, use_parts=False)
        return [hit_from_match(m) for m in matches]

    # -- internals -----------------------------------------------------------------------
    def _docs_for(self, name: str) -> list[DocumentInfo]:
        docs = self._by_name.get(name, [])
        current = [d for d in docs if d.status == "current"]
        return current or docs

    def _lookup(self, ref: Reference, where: Where) -> list[Hit]:
        for doc in sorted(self._docs_for(ref.name), key=lambda d: d.version, reverse=True):
            scope = {**where, "doc_key": doc.key, "path": ref.article}
            matches = self.store.scroll(scope)
            if matches:
                ordered = sorted(matches, key=lambda m: m.payload.get("part", 0))
                return [hit_from_match(m, 1.0) for m in ordered]
        return []

    def _vector_search(self, text: str, k: int, where: Where, mode: str) -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        dense = self.embed_query(text) if mode in {"hybrid", "dense"} else None
        sparse = query_vector(text) if mode in {"hybrid", "sparse"} else None
        if mode == "sparse" and not sparse[0]:
            return []
        matches = self.store.query(dense=dense, sparse=sparse, limit=self._fetch(k), where=where,
                                   fusion=self.fusion)
        return self._ranked(matches, text, dense if mode == "hybrid" else None, k)

    def _fetch(self, k: int) -> int:
        """Fused chunks to ask the store for: enough for ``k`` provisions and the second stage."""
        return max(k * 3, self.rerank.depth + 10)

    def _ranked(self, matches: list[Match], text: str, dense: list[float] | None, k: int) -> list[Hit]:
        """Fused matches → the ``k`` best provisions: priors, one per provision, then the second
        stage when a query vector is given (hybrid search)."""
        hits = self._rank(matches)
        if dense is not None and self.rerank.depth > 1:
            head = hits[:self.rerank.depth]
            hits = rerank(hits, text, self.store.cosines(dense, [h.point_id for h in head]), self.rerank,
                          self._prior)
        return hits[:k]

    def _rank(self, matches: list[Match]) -> list[Hit]:
        """Fused matches → provisions best first, priors applied, one hit per provision."""
        hits = self._apply_priors([hit_from_match(m) for m in matches])
        # Fused scores tie often (RRF: a dense-only and a sparse-only match at the same rank), and
        # priors can make new ties; the chunk key settles them, so the same question gets the
        # same answer on every store holding the same chunks.
        hits.sort(key=lambda h: (-h.score, h.chunk_key))
        return _one_per_provision(hits)


    def _apply_priors(self, hits: list[Hit]) -> list[Hit]:
        """Scale fused scores by what the document is: a superseded version below the one
        in force, and (when configured) one document type above another."""
        for h in hits:
            h.score *= self._prior(h)
        return hits

    def _prior(self, hit: Hit) -> float:
        """The factor for what the document is (1.0: no prior)."""
        factor = self.type_weights.get(hit.doc_type, 1.0)
        if hit.status != "current" and hit.title in self._current_titles:
            factor *= self.non_current_penalty  # another version of this title is in force
        return factor


def _one_per_provision(hits: list[Hit]) -> list[Hit]:
    """Results are provisions, not chunks: when several parts of one long article match,
    keep the best-scoring part so the others do not crowd out different articles."""
    seen: set[tuple[str, str]] = set()
    out = []
    for h in hits:
        key = (h.doc_key, h.path)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out
