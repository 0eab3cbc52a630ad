"""Extractive answers: the sentences of the retrieved provisions that answer the question,
verbatim, each block followed by its [n] marker.

Sentences are scored, not just chunks: a question's words weighted by how rare they are among
the candidate sentences, plus a prior for the provision's retrieval rank. A sentence that
introduces a list (「有下列情形之一的：」) brings its items along, because the items are the
answer. Output is capped so an officer reads an answer, not a chapter.

Three provisions are always quoted. A fourth and fifth are quoted too (their best sentence
only) when the second stage cannot tell them from the first: their match with the question
(:meth:`kb.rerank.Signals.match`) lies within CLOSE_MARGIN of the first one's. The margin is
the median gap between the first and the third provision over the sample gold questions,
computed without their labels (``python -m eval.citation_margin``): a provision as close to
the first as a typical third one is cited like one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from kb.answer.model import Citation
from kb.answer.sentences import Sentence, split_sentences
from kb.citation import render_path
from kb.model import Hit
from kb.sparse import tokenize

MAX_ANSWER_CHARS = 360
MIN_PROVISIONS = 3
MAX_PROVISIONS = 5
CLOSE_MARGIN = 0.70
RANK_PRIOR = (0.6, 0.35, 0.2, 0.1, 0.05, 0.0)
# 「本法另有规定的，依照规定处罚。」「法律、行政法规另有规定的，从其规定。」: a sentence that only
# points elsewhere says nothing by itself; quoted alone it reads as an answer and is not one.
_POINTS_ELSEWHERE = re.compile(
    r"[^。；]{0,20}另有规定的?，?(?:依照|从其|适用|按照)[^。；]{0,10}规定(?:处罚|执行|办理)?[。；]?")


@dataclass
class Extract:
    """The answer text and the citations its markers point to."""

    text: str
    citations: list[Citation]


def citation_for(n: int, hit: Hit, start: int, end: int, paragraph: int | None) -> Citation:
    """A long article is stored in parts; a later part is labelled 「（续）」, so the two
    citations of one article whole (「食品安全法第一百二十四条」) do not read as a duplicate."""
    later_part = int(hit.payload.get("part", 0) or 0) > 1 and paragraph is None
    return Citation(
        n=n, doc_key=hit.doc_key, title=hit.title, version=hit.version, status=hit.status, path=hit.path,
        label=render_path(hit.path, paragraph) + ("（续）" if later_part else ""), quote=hit.text[start:end],
        chunk_key=hit.chunk_key, chunk_text=hit.text, doc_type=hit.doc_type,
    )


def whole_provision(hits: list[Hit]) -> Extract:
    """An explicit reference (「处罚法第六十四条是怎么规定的」): the article itself, whole."""
    citations = [citation_for(i + 1, h, 0, len(h.text), None) for i, h in enumerate(hits)]
    text = "\n".join(f"{c.quote}[{c.n}]" for c in citations)
    return Extract(text, citations)


def quoted_provisions(matches: list[float]) -> int:
    """How many of the hits to quote, from their match scores (best first): MIN_PROVISIONS,
    and up to MAX_PROVISIONS while a hit is within CLOSE_MARGIN of the first."""
    n = min(MIN_PROVISIONS, len(matches))
    while n < min(MAX_PROVISIONS, len(matches)) and matches[0] - matches[n] <= CLOSE_MARGIN:
        n += 1
    return n


def extract(question: str, hits: list[Hit], max_chars: int = MAX_ANSWER_CHARS,
            matches: list[float] | None = None) -> Extract:
    """Pick, order and cite the answering sentences from ``hits`` (best first).

    The retriever's second stage has already ordered the hits by how well each matches the
    question as a whole; ``matches`` are those match scores, deciding how many are quoted
    (without them, MIN_PROVISIONS). Each quoted provision gets its best sentence (with its list
    items); the rest of the length budget goes to the next-best sentences of the first
    MIN_PROVISIONS."""
    hits = hits[:quoted_provisions(matches) if matches else MIN_PROVISIONS]
    candidates: list[tuple[float, int, Sentence]] = []
    per_hit = [split_sentences(h.text) for h in hits]
    q_terms = set(tokenize(question))
    df: Counter[str] = Counter()
    sentence_terms: dict[tuple[int, int], set[str]] = {}
    for i, sentences in enumerate(per_hit):
        for j, s in enumerate(sentences):
            terms = set(tokenize(s.text))
            sentence_terms[(i, j)] = terms
            df.update(terms & q_terms)
    n_sent = max(len(sentence_terms), 1)
    for i, sentences in enumerate(per_hit):
        prior = RANK_PRIOR[min(i, len(RANK_PRIOR) - 1)]
        for j, s in enumerate(sentences):
            if len(sentences) > 1 and _POINTS_ELSEWHERE.fullmatch(s.text.strip()):
                continue
            overlap = sentence_terms[(i, j)] & q_terms
            lexical = sum(math.log(1 + n_sent / df[t]) * min(len(t), 4) for t in overlap)
            candidates.append((lexical / (1 + 0.01 * len(s.text)) + prior, i, s))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2].start))
    chosen: dict[int, list[Sentence]] = {}
    used = 0
    for i in range(len(hits)):  # every provision's best sentence first
        best = next(((score, s) for score, j, s in candidates if j == i), None)
        if best is not None:
            group = _with_list_items(best[1], per_hit[i])
            chosen[i] = group
            used += sum(len(x.text) for x in group)
    for _score, i, s in candidates:
        if i >= MIN_PROVISIONS:  # a close extra provision: its best sentence only
            continue
        group = _with_list_items(s, per_hit[i])
        size = sum(len(x.text) for x in group)
        if used and used + size > max_chars:
            continue
        bucket = chosen.setdefault(i, [])
        for x in group:
            if x not in bucket:
                bucket.append(x)
                used += len(x.text)
        if used >= max_chars:
            break
    if not chosen and hits:  # nothing scored: fall back to the top provision's opening
        chosen[0] = per_hit[0][:2]
    return _compose(hits, chosen)


def _with_list_items(s: Sentence, sentences: list[Sentence]) -> list[Sentence]:
    """A list-opening sentence with its items; an item with the sentence that opens its list."""
    idx = sentences.index(s)
    if s.opens_list:
        items = [x for x in sentences[idx + 1:] if x.paragraph == s.paragraph and x.is_item]
        return [s, *items]
    if s.is_item:
        opener = next((x for x in reversed(sentences[:idx]) if x.paragraph == s.paragraph and not x.is_item), None)
        return [opener, s] if opener else [s]
    return [s]


def _compose(hits: list[Hit], chosen: dict[int, list[Sentence]]) -> Extract:
    citations: list[Citation] = []
    blocks: list[str] = []
    for i in sorted(chosen):  # provisions in retrieval order, sentences in text order
        sentences = sorted(chosen[i], key=lambda x: x.start)
        start, end = sentences[0].start, sentences[-1].end
        paragraphs = {x.paragraph for x in sentences}
        single = len(paragraphs) == 1 and hits[i].payload.get("part", 0) <= 1 and _multi_paragraph(hits[i])
        n = len(citations) + 1
        citation = citation_for(n, hits[i], start, end, next(iter(paragraphs)) if single else None)
        citations.append(citation)
        blocks.append(f"{citation.quote.strip()}[{n}]")
    return Extract("\n".join(blocks), citations)


def _multi_paragraph(hit: Hit) -> bool:
    """Name the 款 only when the article has more than one (and the chunk is its first part)."""
    return max((x.paragraph for x in split_sentences(hit.text)), default=1) > 1
