"""Sparse (lexical) vectors from jieba tokens.

Qdrant applies IDF itself (sparse vector ``bm25`` with the IDF modifier), so a vector holds
raw term frequencies. Term ids are a stable hash of the token, so the store needs no shared
vocabulary and two processes always agree. jieba's search mode emits both 行政处罚 and its
parts 行政/处罚, which lets a short query meet a long compound in the text.
A user dictionary keeps law names and enforcement terms whole.

Names learned from the corpus (add_terms, use_names) must change nothing but the text that
contains them. jieba's ``add_word`` also adds the word's frequency to the dictionary total,
and every word of a segmentation path pays ``-log(total)``, so each name learned used to
shift how all text was cut (towards fewer, longer words): a chunk's sparse vector depended on
how many documents had been ingested before it, and the query side, which knows every name,
cut text differently again. Names are therefore written into jieba's frequency table
directly, the total untouched (so a question cut in another thread meanwhile is not cut
differently either), and a name can be forgotten again, its earlier entry restored, when its
document leaves the knowledge base.
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

NAME_FREQ = 50000  # as for the fixed legal terms: high enough that a name is always cut whole
_lock = threading.Lock()
_base_ready = threading.Event()
_taught: dict[str, int | None] = {}  # document name → its frequency-table entry before it was taught
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

    if not _base_ready.is_set():
        with _lock:
            if not _base_ready.is_set():
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for term in legal_terms():
                    jieba.add_word(term, freq=NAME_FREQ)
                _base_ready.set()
    return jieba


def word_frequencies() -> tuple[dict[str, int], float]:
    """jieba's frequency table and total once the fixed dictionaries are in (the total never
    moves after that): how common a word is in general Chinese."""
    jieba = _jieba()
    return jieba.dt.FREQ, float(jieba.dt.total)


def _teach(freq: dict[str, int], name: str) -> None:
    """Caller holds ``_lock``. Prefix entries of 0 let jieba's DAG walk reach the name; they
    are not words, so they change no other cut."""
    if name in _taught:
        return
    _taught[name] = freq.get(name)
    for i in range(1, len(name)):
        freq.setdefault(name[:i], 0)
    freq[name] = NAME_FREQ


def _forget(freq: dict[str, int], name: str) -> None:
    prior = _taught.pop(name)
    freq[name] = prior if prior is not None else 0


def _names(terms: Iterable[str]) -> set[str]:
    return {t for t in (term.strip() for term in terms) if len(t) >= 2}


def add_terms(terms: Iterable[str]) -> None:
    """Teach the tokenizer document names and aliases (kept whole); text that does not
    contain one of them is cut exactly as before (see the module docstring)."""
    freq = _jieba().dt.FREQ
    with _lock:
        for name in _names(terms):
            _teach(freq, name)


def taught_names() -> set[str]:
    """The document names the tokenizer knows now."""
    with _lock:
        return set(_taught)


def use_names(terms: Iterable[str]) -> None:
    """Make the taught names exactly ``terms``: teach the missing ones, forget the others (the
    documents of a knowledge base are its names; a removed one's must not linger)."""
    freq = _jieba().dt.FREQ
    wanted = _names(terms)
    with _lock:
        for name in [n for n in _taught if n not in wanted]:
            _forget(freq, name)
        for name in wanted:
            _teach(freq, name)


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
