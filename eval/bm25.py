"""A plain Okapi BM25 over jieba tokens: the baseline every retrieval figure is compared to.

Deliberately simple — jieba's default cut, the same stop words, k1=1.5, b=0.75, no query
analysis — so "above the baseline" means the system adds something real.

The postings are flat numpy arrays (term → slice of document ids and precomputed BM25 term
weights) rather than one Counter per document: the national corpus has ~68k chunks and
millions of postings, which as Python dicts would cost gigabytes and make every query a
Python loop over tens of thousands of documents.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter

import jieba
import numpy as np

from kb.sparse import stopwords


def bm25_tokens(text: str) -> list[str]:
    return [t for t in (w.strip().lower() for w in jieba.lcut(text)) if t and t not in stopwords() and not _punct(t)]


def _punct(tok: str) -> bool:
    return all(not (ch.isalnum() or "\u4e00" <= ch <= "\u9fff") for ch in tok)


class BM25:
    def __init__(self, docs: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n = len(docs)
        term_ids: dict[str, int] = {}
        post_term, post_doc, post_tf = array("i"), array("i"), array("i")
        lens = np.zeros(self.n, dtype=np.float64)
        for i, doc in enumerate(docs):
            tf = Counter(bm25_tokens(doc))
            lens[i] = sum(tf.values())
            for term, f in tf.items():
                post_term.append(term_ids.setdefault(term, len(term_ids)))
                post_doc.append(i)
                post_tf.append(f)
        self.term_ids = term_ids
        avg = float(lens.mean()) if self.n else 0.0
        terms = np.frombuffer(post_term, dtype=np.int32)
        order = np.argsort(terms, kind="stable")  # postings grouped by term, documents ascending
        self.post_doc = np.frombuffer(post_doc, dtype=np.int32)[order]
        tfs = np.frombuffer(post_tf, dtype=np.int32)[order].astype(np.float64)
        norm = k1 * (1 - b + b * lens[self.post_doc] / avg) if avg else np.full(len(tfs), k1)
        self.post_weight = tfs * (k1 + 1) / (tfs + norm)
        df = np.bincount(terms, minlength=len(term_ids))
        self.offsets = np.concatenate(([0], np.cumsum(df)))
        self.idf = [math.log(1 + (self.n - f + 0.5) / (f + 0.5)) for f in df.tolist()]

    def top(self, query: str, k: int) -> list[int]:
        """Indices of the ``k`` best documents, best first; ties go to the earlier document so
        a run repeats exactly. Documents sharing no term with the query are never returned."""
        if k <= 0:
            return []
        scores = np.zeros(self.n, dtype=np.float64)
        for t in set(bm25_tokens(query)):
            j = self.term_ids.get(t)
            if j is None:
                continue
            lo, hi = self.offsets[j], self.offsets[j + 1]
            scores[self.post_doc[lo:hi]] += self.idf[j] * self.post_weight[lo:hi]
        matched = np.flatnonzero(scores > 0)
        if len(matched) > k:
            matched = matched[np.argpartition(-scores[matched], k - 1)[:k]]
            # argpartition cuts ties at the k-th score arbitrarily; take every document tied with it
            cut = scores[matched].min()
            matched = np.flatnonzero(scores >= cut)
        ordered = matched[np.lexsort((matched, -scores[matched]))]
        return [int(i) for i in ordered[:k]]
