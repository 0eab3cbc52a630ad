"""Prove a question from its source text, by code: a question that cannot be proved is
rejected, never shipped as a draft for a trainer to catch.

``provision_texts`` maps chunk keys to chunk texts and must hold every chunk of each source's
document: "is this distractor also correct?" is answered by searching the whole document.
The checks, by type:

- every type: the source chunk is known, its hash matches, the quote is verbatim in it, the
  explanation shows the quote, the id is the stable one;
- 填空/单选: the keyed text fills the blank to give back the quoted sentence, and it does not
  appear in the stem; a distractor neither appears in the quoted sentence nor, filled in,
  yields a sentence found anywhere in the document, nor is it the same value spelled
  differently;
- 判断: a true statement is verbatim in the source; a false one differs from the quoted
  sentence by exactly one planted change and is found nowhere in the document;
- 多选: each keyed option is an item of the quoted list, no distractor is, and no distractor
  occurs in the source at all.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from kb.quiz.changes import swap_positions
from kb.quiz.facts import equivalent, fact_kind, find_facts
from kb.quiz.model import QUESTION_TYPES, REVIEW_STATES, Question
from kb.quiz.sentences import ITEM_MARK, item_text
from kb.quiz.stems import BLANK, CHOICE, JUDGE_OPTIONS, LETTERS, judge_statement, question_id, text_hash


def validate(question: Question, provision_texts: Mapping[str, str]) -> list[str]:
    """Every problem found with ``question``; an empty list means it is proved by its source."""
    problems = _common(question, provision_texts)
    if problems:
        return problems
    source = question.sources[0]
    doc_text = _document_text(provision_texts, source.doc_key)
    chunk_text = provision_texts[source.chunk_key]
    check = {"blank": _blank, "single": _single, "judge": _judge, "multiple": _multiple}.get(question.qtype)
    if check is None:
        return [f"generated questions cannot be of type {question.qtype!r}"]
    return check(question, source.quote, chunk_text, doc_text)


def _common(q: Question, texts: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    if q.qtype not in QUESTION_TYPES:
        problems.append(f"unknown question type {q.qtype!r}")
    if q.state not in REVIEW_STATES:
        problems.append(f"unknown review state {q.state!r}")
    if not q.stem.strip():
        problems.append("empty stem")
    if not q.sources:
        return [*problems, "no source provision"]
    for ref in q.sources:
        text = texts.get(ref.chunk_key)
        if text is None:
            problems.append(f"source {ref.chunk_key} is not in the knowledge base")
            continue
        if ref.text_hash != text_hash(text):
            problems.append(f"source {ref.chunk_key} changed since the question was made")
        if not ref.quote or ref.quote not in text:
            problems.append(f"quote is not verbatim in {ref.chunk_key}")
        if ref.quote and ref.quote not in q.explanation:
            problems.append("explanation does not show the quoted source")
    if q.id != question_id(q.qtype, q.sources[0].chunk_key, q.stem):
        problems.append("id is not the stable id of type + source + stem")
    return problems


def _document_text(texts: Mapping[str, str], doc_key: str) -> str:
    prefix = f"{doc_key}/"
    return "\x00".join(t for k, t in texts.items() if k.startswith(prefix))


def slot_position(stem: str, quote: str, key: str, marker: str) -> int | None:
    """Where ``key`` sits in ``quote`` such that the stem shows the quote with that span blanked."""
    start = quote.find(key)
    while key and start >= 0:
        if f"{quote[:start]}{marker}{quote[start + len(key):]}" in stem:
            return start
        start = quote.find(key, start + 1)
    return None


def _blank(q: Question, quote: str, chunk: str, doc: str) -> list[str]:
    if q.options:
        return ["a blank question has no options"]
    if slot_position(q.stem, quote, q.answer, BLANK) is None:
        return ["the answer does not fill the blank to give back the quoted sentence"]
    return ["the answer appears in the stem"] if q.answer in q.stem else []


def _single(q: Question, quote: str, chunk: str, doc: str) -> list[str]:
    problems = _options_shape(q, exactly_one=True)
    if problems:
        return problems
    key = q.options[LETTERS.index(q.answer)]
    pos = slot_position(q.stem, quote, key, CHOICE)
    if pos is None:
        return ["the keyed option does not fill the blank to give back the quoted sentence"]
    if key in q.stem:
        problems.append("the answer appears in the stem")
    for option in q.options:
        if option != key:
            problems.extend(distractor_problems(quote, pos, key, option, doc))
    for i, a in enumerate(q.options):
        if any(equivalent(a, b) for b in q.options[i + 1:]):
            problems.append(f"options 「{a}」 and another say the same thing")
    return problems


def distractor_problems(quote: str, pos: int, key: str, distractor: str, doc: str) -> list[str]:
    """Why ``distractor`` might also be correct in the slot ``quote[pos:pos+len(key)]``."""
    problems = []
    if distractor in quote:
        problems.append(f"distractor 「{distractor}」 appears in the source sentence")
    if equivalent(distractor, key):
        problems.append(f"distractor 「{distractor}」 is the answer spelled differently")
    filled = f"{quote[:pos]}{distractor}{quote[pos + len(key):]}"
    if filled in doc:
        problems.append(f"distractor 「{distractor}」 gives a sentence the document contains")
    return problems


def choose_distractors(quote: str, pos: int, key: str, candidates: Iterable[str], doc: str, n: int = 3,
                       discarded: Counter[str] | None = None) -> list[str]:
    """The first ``n`` candidates that pass :func:`distractor_problems` and differ from each
    other; why the others were passed over is counted in ``discarded`` (for the report)."""
    chosen: list[str] = []
    for candidate in candidates:
        if len(chosen) == n:
            break
        problems = distractor_problems(quote, pos, key, candidate, doc)
        if not problems and any(equivalent(candidate, c) for c in chosen):
            problems = ["distractor 「…」 repeats another distractor"]
        if problems:
            if discarded is not None:
                discarded.update(re.sub(r"「[^」]*」", "「…」", p) for p in problems)
            continue
        chosen.append(candidate)
    return chosen


def _options_shape(q: Question, exactly_one: bool) -> list[str]:
    if len(q.options) < (3 if exactly_one else 4):
        return [f"too few options ({len(q.options)})"]
    if len(set(q.options)) != len(q.options):
        return ["duplicate options"]
    letters = LETTERS[:len(q.options)]
    if not q.answer or any(a not in letters for a in q.answer) or len(set(q.answer)) != len(q.answer):
        return [f"answer {q.answer!r} does not name options {letters[0]}–{letters[-1]}"]
    if exactly_one and len(q.answer) != 1:
        return ["a single-choice question keys exactly one option"]
    if not exactly_one and not 2 <= len(q.answer) < len(q.options):
        return ["a multiple-choice question keys at least two options and leaves at least one"]
    return []


def _judge(q: Question, quote: str, chunk: str, doc: str) -> list[str]:
    if q.options != JUDGE_OPTIONS or q.answer not in {"A", "B"}:
        return ["a judge question has options 对/错 and answer A or B"]
    statement = judge_statement(q.stem)
    if q.answer == "A":
        if statement != quote or statement not in chunk:
            return ["a true statement must be the verbatim quote"]
        return []
    if statement in doc:
        return ["the false statement is found in the document"]
    if planted_change(quote, statement) is None:
        return ["the false statement does not differ from the quote by one planted change"]
    return []


def planted_change(original: str, changed: str) -> tuple[str, str] | None:
    """The (original, planted) pair when ``changed`` is ``original`` with one planted change:
    a rule-bearing modal swapped (kb.quiz.changes) or a fact replaced by another of its shape."""
    for old, new, start in swap_positions(original):
        if f"{original[:start]}{new}{original[start + len(old):]}" == changed:
            return old, new
    for fact in find_facts(original):
        head, tail = original[:fact.start], original[fact.end:]
        if changed.startswith(head) and changed.endswith(tail) and len(changed) > len(head) + len(tail):
            planted = changed[len(head):len(changed) - len(tail)]
            if fact_kind(planted) == (fact.kind, fact.shape) and not equivalent(planted, fact.value):
                return fact.value, planted
    return None


def _multiple(q: Question, quote: str, chunk: str, doc: str) -> list[str]:
    problems = _options_shape(q, exactly_one=False)
    if problems:
        return problems
    items = {item_text(line) for line in quote.split("\n") if ITEM_MARK.match(line.strip())}
    if not items:
        return ["the quote is not an enumerated list"]
    keyed = {LETTERS.index(a) for a in q.answer}
    for i, option in enumerate(q.options):
        if i in keyed:
            if option not in items:
                problems.append(f"keyed option 「{option}」 is not an item of the source list")
            if option in q.stem:
                problems.append("the answer appears in the stem")
        elif option in items or option in chunk:
            problems.append(f"distractor 「{option}」 is in the source provision")
    return problems
