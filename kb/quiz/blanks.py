"""填空 and 单选 on enforcement facts: a deadline, an amount, a multiple, a head count, the
deciding body or the procedure is blanked out of a quoted sentence.

The options of a 单选 are the true value and three values of the same kind and shape taken
from *other* provisions (「五日」 for 「七日」, 「国务院」 for 「县级以上人民政府」), each
checked not to be correct as well (see :func:`kb.quiz.validate.choose_distractors`).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from kb.quiz.facts import KIND_ZH, Fact, find_facts
from kb.quiz.model import Question
from kb.quiz.sentences import balanced, leans_on_context, sentences
from kb.quiz.source import SourceChunk, tags_for
from kb.quiz.stems import BLANK, CHOICE, cite, letter, question_id, slot_stem
from kb.quiz.validate import choose_distractors

MAX_QUOTE = 110  # characters; longer sentences are cut at commas around the fact
MIN_CONTEXT = 10  # characters of the quote left around the blank
PER_SENTENCE = 2
PER_CHUNK = 4


class FactPool:
    """Every fact value seen in the knowledge base, by shape, with the chunks it occurs in."""

    def __init__(self) -> None:
        self._by_shape: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add_chunk(self, chunk: SourceChunk) -> None:
        for sent in sentences(chunk.text):
            for fact in find_facts(sent.text):
                self._by_shape[fact.shape][fact.value].add(chunk.chunk_key)

    def others(self, fact: Fact, chunk_key: str) -> list[str]:
        """Values of the same shape found in some other provision, sorted for determinism."""
        values = self._by_shape.get(fact.shape, {})
        return sorted(v for v, keys in values.items() if v != fact.value and keys - {chunk_key})


def window(sentence: str, fact: Fact, limit: int = MAX_QUOTE) -> tuple[str, int]:
    """The quote for a fact: the whole sentence, or the comma-clauses around the fact when the
    sentence is long. Returns the quote and the fact's offset in it."""
    if len(sentence) <= limit:
        return sentence, fact.start
    cuts = [0] + [i + 1 for i, ch in enumerate(sentence) if ch == "，"] + [len(sentence) + 1]
    lo = max(i for i, c in enumerate(cuts) if c <= fact.start)
    hi = lo + 1
    while True:
        grown = False
        if hi < len(cuts) - 1 and cuts[hi + 1] - 1 - cuts[lo] <= limit:
            hi, grown = hi + 1, True
        if lo > 0 and cuts[hi] - 1 - cuts[lo - 1] <= limit:
            lo, grown = lo - 1, True
        if not grown:
            break
    start, end = cuts[lo], min(cuts[hi] - 1, len(sentence))
    return sentence[start:end].rstrip("，"), fact.start - start


def fact_questions(chunk: SourceChunk, pool: FactPool, doc_text: str,
                   discarded: Counter[str] | None = None) -> list[Question]:
    """Candidate 填空/单选 questions for one chunk (unvalidated)."""
    out: list[Question] = []
    lead, previous = "", ""
    for sent in sentences(chunk.text):
        if sent.is_lead:
            lead, previous = _short_lead(sent.text), ""
            continue
        if len(out) >= PER_CHUNK:
            break
        text, offset = sent.text, 0
        if leans_on_context(text):  # 「但是…少于六十日的除外」: quote the sentence it qualifies too
            joined = next((f"{previous}{sep}{text}" for sep in "；。，" if previous and
                           f"{previous}{sep}{text}" in chunk.text), None)
            previous = sent.text
            if joined is None:
                continue
            text, offset = joined, len(joined) - len(sent.text)
        previous = sent.text
        facts = [f for f in find_facts(text) if f.start >= offset]
        for fact in facts[:PER_SENTENCE]:
            quote, pos = window(text, fact, MAX_QUOTE if not offset else max(MAX_QUOTE, len(text)))
            if len(quote) - len(fact.value) < MIN_CONTEXT or not balanced(quote):
                continue
            out.append(_question(chunk, quote, pos, fact, pool, doc_text, lead if sent.is_item else "", discarded))
    return out[:PER_CHUNK]


def _short_lead(lead: str, limit: int = 60) -> str:
    """A list lead cut to its last clauses, for context in an item's stem."""
    if len(lead) <= limit:
        return lead
    tail = lead[-limit:]
    return tail[tail.find("，") + 1:] if "，" in tail else tail


def _question(chunk: SourceChunk, quote: str, pos: int, fact: Fact, pool: FactPool, doc_text: str,
              lead: str = "", discarded: Counter[str] | None = None) -> Question:
    rng = random.Random(f"{chunk.chunk_key}\x1f{quote}\x1f{pos}")
    candidates = pool.others(fact, chunk.chunk_key)
    rng.shuffle(candidates)
    distractors = choose_distractors(quote, pos, fact.value, candidates, doc_text, 3, discarded)
    end = pos + len(fact.value)
    source = f"依据{cite(chunk.short_title, chunk.path)}：「{quote}」。"
    if len(distractors) == 3 and rng.random() < 0.5:
        options = [fact.value, *distractors]
        rng.shuffle(options)
        stem = slot_stem(chunk.short_title, chunk.path, quote, pos, end, CHOICE, lead)
        answer = letter(options.index(fact.value))
        qtype, explanation = "single", f"{source}正确选项为{answer}「{fact.value}」（{KIND_ZH[fact.kind]}）。"
    else:
        options, stem = [], slot_stem(chunk.short_title, chunk.path, quote, pos, end, BLANK, lead)
        answer = fact.value
        qtype, explanation = "blank", f"{source}应填「{fact.value}」（{KIND_ZH[fact.kind]}）。"
    return Question(
        id=question_id(qtype, chunk.chunk_key, stem), qtype=qtype, stem=stem, options=options, answer=answer,
        explanation=explanation, sources=[chunk.ref(quote)], tags=tags_for(chunk),
        difficulty=2, state="draft", author="generator",
    )
