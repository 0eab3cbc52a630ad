"""The open-book solver: answer generated quiz questions by retrieval alone.

A generated question is only fair if the knowledge base, searched with the question itself,
supports its keyed answer and not a distractor. The solver is what an officer with the book
open would do, done by code: search with the stem, read the provisions found, and pick the
option whose wording they contain. It never sees the key, the explanation or the source
reference, so a wrong answer means one of three things worth a look: retrieval missed the
provision, a distractor is also supported by the text, or the question is ambiguous.

- 判断 (judge): 对 when the statement occurs verbatim in a retrieved provision, else 错 (the
  generator makes false statements by changing a modal word or a figure of the source).
- 单选 (single): keep the option found verbatim in a retrieved provision together with the
  longest stretch of the stem's own words around the blank.
- 多选 (multiple): take the retrieved provision that matches the stem best and select every
  option it contains.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from kb.quiz.model import Question
from kb.quiz.stems import LETTERS
from kb.retrieve import Retriever

SOLVED_TYPES = ("single", "judge", "multiple")
DEPTH = 5  # provisions read per question, as an answer would
CONTEXT = 40  # characters of the stem either side of the blank that are matched
_BLANK = re.compile(r"（\s*）|\(\s*\)|_{2,}")
_PREFIX = re.compile(r"^根据《[^》]+》(?:[^，。]*?)的规定，")
_CHOICE_TAIL = re.compile(r"下列选项中.*$")
_IGNORED = re.compile(r"[\s　，。、；：！？,.;:!?“”「」\"'（）()《》…]")


def norm(text: str) -> str:
    """NFKC, without white space and punctuation: the source and a stem differ in both."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text))


@dataclass
class Solved:
    """One question with the solver's answer, for the tallies and the list of wrong ones."""

    question: Question
    given: str
    evidence: list[str]  # citations of the provisions read

    @property
    def correct(self) -> bool:
        return self.given == self.question.answer


class OpenBookSolver:
    """Answers questions from what ``retriever`` finds for their stems."""

    def __init__(self, retriever: Retriever, depth: int = DEPTH) -> None:
        self.retriever = retriever
        self.depth = depth

    def solve(self, q: Question) -> Solved:
        if q.qtype not in SOLVED_TYPES:
            raise ValueError(f"the open-book solver answers {SOLVED_TYPES}, not {q.qtype!r}")
        hits = self.retriever.search(q.stem, k=self.depth).hits
        texts = [self._whole_provision(h.doc_key, h.path, h.text) for h in hits]
        given = {"judge": judge, "single": single, "multiple": multiple}[q.qtype](q, texts)
        return Solved(q, given, [h.citation for h in hits])

    def _whole_provision(self, doc_key: str, path: str, fallback: str) -> str:
        """A search returns the best part of a long article; an item list may be in another."""
        parts = self.retriever.provision(doc_key, path)
        return "\n".join(p.text for p in parts) if parts else fallback


def judge(q: Question, texts: Iterable[str]) -> str:
    """A (对) when the statement, without its 「根据《…》的规定，」 lead-in, is in a text."""
    statement = norm(_PREFIX.sub("", q.stem))
    return "A" if statement and any(statement in norm(t) for t in texts) else "B"


def single(q: Question, texts: Iterable[str]) -> str:
    """The option that sits in the longest verbatim stretch of the stem's wording around the
    blank in one of the texts; a near match of the filled-in clause breaks ties.

    Context is anchored at the blank because case stems start with words of their own
    (「在“…案”中，」) that no provision contains.
    """
    clause = _PREFIX.sub("", q.stem)
    clause = next((piece for piece in clause.split("……") if _BLANK.search(piece)), clause)
    blank = _BLANK.search(clause)
    if blank is None:
        return LETTERS[0]
    left, right = norm(clause[:blank.start()])[-CONTEXT:], norm(clause[blank.end():])[:CONTEXT]
    haystacks = [norm(t) for t in texts]
    scores = []
    for option in q.options:
        o = norm(option)
        filled = left + o + right
        scores.append(max(((_anchored(o, left, right, h), fuzz.partial_ratio(filled, h)) for h in haystacks),
                          default=(-1, 0.0)))
    return LETTERS[max(range(len(scores)), key=lambda i: scores[i])]


def multiple(q: Question, texts: Iterable[str]) -> str:
    """Every option contained in the text that matches the stem's own wording best."""
    lead = norm(_CHOICE_TAIL.sub("", _PREFIX.sub("", q.stem)))
    haystacks = [norm(t) for t in texts]
    if not haystacks:
        return ""
    best = max(haystacks, key=lambda h: fuzz.partial_ratio(lead, h))
    return "".join(LETTERS[i] for i, option in enumerate(q.options) if norm(option) in best)


def _anchored(option: str, left: str, right: str, haystack: str) -> int:
    """Characters of context either side of ``option`` found with it verbatim (-1: not at all)."""
    if not option or option not in haystack:
        return -1
    best = 0
    for i in range(len(left) + 1):
        head = left[len(left) - i:] + option
        if head not in haystack:
            break
        for j in range(len(right) + 1):
            if head + right[:j] not in haystack:
                break
            best = max(best, i + j)
    return best
