"""What ingest-order-dependent tokenization cost the sparse side at national scale.

Until PIPELINE_VERSION 4, teaching jieba a document's name added its frequency to the
dictionary total, so each chunk was cut under a total that depended on how many documents had
been ingested before it, and only its own and earlier documents' names were kept whole;
questions were cut with every name known (kb.sparse, ingest.sparse_refresh). The national
index holds 1,559 documents, so the drift is largest there, and that index takes hours to
embed. The sparse side needs no embedding: this script cuts every chunk of a corpus both ways,
loads each set of sparse vectors into its own Qdrant Edge shard (sparse only, IDF as in the
product) and scores the sparse search on a gold set, one provision per hit as the retriever
keeps them. It measures the sparse half of hybrid retrieval, not hybrid retrieval.

    python -m eval.tokenization_order ../shared/corpus/national --gold national --variant before
    python -m eval.tokenization_order ../shared/corpus/national --gold national --variant after

Each variant runs in its own process: jieba's dictionary is process-wide.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import NamedTuple

import qdrant_edge as qe

from eval.gold import load_gold
from eval.retrieval import Scores, first_rank
from ingest.loaders import load
from ingest.pipeline import expand_paths, prepare
from kb.aliases import document_names
from kb.chunking import embed_text
from kb.errors import KBError
from kb.query import normalize_query
from kb.sparse import add_terms, query_vector, sparse_vector, tokenize

SPARSE = "sparse"
K_VALUES = (1, 5, 10, 20, 100)


class Doc(NamedTuple):
    file: str
    key: str
    ingest_names: list[str]  # what ingest taught before PIPELINE_VERSION 4: short title, own aliases
    names: list[str]  # what the query side teaches (kb.aliases.document_names)
    texts: list[str]  # the chunks' embedded text


def teach_drifting(names: list[str], taught: set[str]) -> None:
    """kb.sparse.add_terms as it was: each new name adds 50,000 to jieba's total."""
    import jieba

    for name in names:
        if len(name) >= 2 and name not in taught:
            jieba.add_word(name, freq=50000)
            taught.add(name)


def cut_before(docs: list[Doc]) -> list[tuple[list[int], list[float]]]:
    """As ingest did before: each document's names taught just before its chunks were cut."""
    tokenize("")  # the fixed dictionaries first, as the ingest process loaded them
    taught: set[str] = set()
    vectors = []
    for doc in docs:
        teach_drifting(doc.ingest_names, taught)
        vectors.extend(sparse_vector(t) for t in doc.texts)
    teach_drifting([n for doc in docs for n in doc.names], taught)  # then the query process
    return vectors


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--gold", default="national")
    ap.add_argument("--variant", choices=("before", "after"), required=True)
    args = ap.parse_args()
    started = time.perf_counter()
    docs: list[Doc] = []  # in ingest order
    paths: list[tuple[str, str]] = []  # (doc key, provision path) per chunk
    for path in expand_paths([args.corpus]):
        try:
            doc, chunks, _style = prepare(load(path))
        except KBError:
            continue
        docs.append(Doc(path.name, doc.key, [doc.short_title, *doc.aliases],
                        document_names(doc.title, doc.short_title, doc.aliases), [embed_text(c) for c in chunks]))
        paths.extend((doc.key, c.path) for c in chunks)
    if args.variant == "before":
        vectors = cut_before(docs)
    else:
        add_terms(n for doc in docs for n in doc.names)
        vectors = [sparse_vector(t) for doc in docs for t in doc.texts]
    print(f"{len(docs)} documents, {len(vectors)} chunks cut ({args.variant}) in {time.perf_counter() - started:.0f}s")

    with tempfile.TemporaryDirectory() as tmp:
        shard = qe.EdgeShard.create(tmp, qe.EdgeConfig(
            vectors={}, sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)}))
        for start in range(0, len(vectors), 1000):
            shard.update(qe.UpdateOperation.upsert_points([
                qe.Point(i, {SPARSE: qe.SparseVector(ix, vals)}, {}) for i, (ix, vals) in
                enumerate(vectors[start:start + 1000], start) if ix]))
        shard.optimize()
        doc_keys = {doc.file: doc.key for doc in docs}
        scores = Scores(f"sparse ({args.variant})")
        for q in load_gold(args.gold):
            ix, vals = query_vector(normalize_query(q.query))
            found = shard.query(qe.QueryRequest(limit=300, query=qe.Query.Nearest(qe.SparseVector(ix, vals),
                                                                                     using=SPARSE)))
            provisions = list(dict.fromkeys(paths[int(p.id)] for p in found))
            scores.ranks.append(first_rank(provisions[:max(K_VALUES)], q, doc_keys))
            scores.kinds.append(q.kind)
        shard.close()
    print(f"| variant | {' | '.join(f'R@{k}' for k in K_VALUES)} | MRR@10 |")
    print(f"| {args.variant} | {' | '.join(f'{scores.recall(k):.3f}' for k in K_VALUES)} | {scores.mrr():.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
