"""Sparse (lexical) vectors from jieba tokens.

Qdrant applies IDF itself (sparse vector ``bm25`` with the IDF modifier), so a vector holds
raw term frequencies. Term ids are a stable hash of the token, so the store needs no shared
vocabulary and two processes always agree. jieba's search mode emits both 行政处罚 and its
parts 行政/处罚, which lets a short query meet a long compound in the text.
A user dictionary keeps law names and enforcement terms whole.

Names learned from the corpus (add_terms) must change nothing but the text that contains
them. jieba's ``add_word`` also adds the word's frequency to the dictionary total, and every
word of a segmentation path pays ``-log(total)``, so each name learned used to shift how all
text was cut (towards fewer, longer words): a chunk's sparse vector depended on how many
documents had been ingested before it, and the query side, which knows every name, cut text
differently again. The total is therefore held at its value after the fixed dictionaries load.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

_lock = threading.Lock()
_ready: set[str] = set()
_base_total: list[float] = []  # jieba's dictionary total once the fixed dictionaries are in
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")
_DIGITS_ONLY = re.compile(r"^[0-9０-９.]+$")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    text = resources.files("kb.resources").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def legal_terms() -> tuple[str, ...]:
    text = resources.files("kb.resources").joinpath("legal_terms.txt").read_text(encoding="utf-8")
    return tuple(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def _jieba():
    import jieba

    if "base" not in _ready:
        with _lock:
            if "base" not in _ready:
                jieba.setLogLevel(logging.WARNING)
                for term in legal_terms():
                    jieba.add_word(term, freq=50000)
                _base_total.append(jieba.dt.total)
                _ready.add("base")
    return jieba


def add_terms(terms: Iterable[str]) -> None:
    """Teach the tokenizer law names and aliases found in the corpus (kept whole); text that
    does not contain one of them is cut exactly as before (see the module docstring)."""
    jieba = _jieba()
    with _lock:
        for term in terms:
            term = term.strip()
            if len(term) >= 2 and term not in _ready:
                jieba.add_word(term, freq=50000)
                _ready.add(term)
        jieba.dt.total = _base_total[0]


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens, stop words and punctuation removed, lowercased."""
    jieba = _jieba()
    out = []
    for tok in jieba.cut_for_search(text):
        tok = tok.strip().lower()
        if not tok or tok in stopwords() or not _TOKEN_OK.search(tok):
            continue
        out.append(tok)
    return out


def term_id(token: str) -> int:
    """A stable 31-bit id: the same token maps to the same id in every process."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "big") & 0x7FFFFFFF


def sparse_vector(text: str) -> tuple[list[int], list[float]]:
    """(indices, values) with raw term counts; colliding ids are summed."""
    counts: Counter[int] = Counter(term_id(t) for t in tokenize(text))
    indices = sorted(counts)
    return indices, [float(counts[i]) for i in indices]


def query_vector(text: str) -> tuple[list[int], list[float]]:
    """Query terms count once each: repeating a word in a question should not outweigh IDF."""
    ids = sorted({term_id(t) for t in tokenize(text)})
    return ids, [1.0] * len(ids)
