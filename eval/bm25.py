"""A plain Okapi BM25 over jieba tokens: the baseline every retrieval figure is compared to.

Deliberately simple — jieba's default cut, the same stop words, k1=1.5, b=0.75, no query
analysis — so "above the baseline" means the system adds something real.
"""

from __future__ import annotations

import math
from collections import Counter

import jieba

from kb.sparse import stopwords


def bm25_tokens(text: str) -> list[str]:
    return [t for t in (w.strip().lower() for w in jieba.lcut(text)) if t and t not in stopwords() and not _punct(t)]


def _punct(tok: str) -> bool:
    return all(not (ch.isalnum() or "\u4e00" <= ch <= "\u9fff") for ch in tok)


class BM25:
    def __init__(self, docs: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(bm25_tokens(d)) for d in docs]
        self.lens = [sum(tf.values()) for tf in self.tfs]
        self.avg = sum(self.lens) / max(len(self.lens), 1)
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, tf in enumerate(self.tfs):
            for t in tf:
                self.postings.setdefault(t, []).append(i)

    def top(self, query: str, k: int) -> list[int]:
        scores: dict[int, float] = {}
        for t in set(bm25_tokens(query)):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i in self.postings[t]:
                tf = self.tfs[i][t]
                norm = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg))
                scores[i] = scores.get(i, 0.0) + idf * norm
        return [i for i, _s in sorted(scores.items(), key=lambda x: -x[1])[:k]]
