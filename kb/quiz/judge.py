"""判断: a sentence of the law quoted as it stands (对), or with one meaningful change planted
(错): 应当↔可以, 不得→可以, 有权→无权, 不予→给予, or another deadline/amount of the same shape.

Only sentences that stand on their own are used: 「前款规定的…」「上述期限…」 mean nothing
without the sentence before, and a list lead means nothing without its items.
"""

from __future__ import annotations

import random

from kb.quiz.blanks import FactPool
from kb.quiz.changes import swap_positions
from kb.quiz.facts import equivalent, find_facts
from kb.quiz.model import Question
from kb.quiz.sentences import balanced, leans_on_context, sentences
from kb.quiz.source import SourceChunk, tags_for
from kb.quiz.stems import JUDGE_OPTIONS, cite, judge_stem, question_id

MIN_LEN, MAX_LEN = 15, 100
PER_CHUNK = 2
_DEPENDENT_ANYWHERE = ("本法第", "前款", "前两款", "下列", "以下程序", "以下职权", "如下", "本项", "前项", "第一款",
                       "上述")
_MODALS = ("应当", "可以", "不得", "必须", "有权", "不予")


def standalone(text: str) -> bool:
    """Whether a sentence can be judged without its neighbours."""
    return (MIN_LEN <= len(text) <= MAX_LEN and not leans_on_context(text)
            and not text.startswith(_MODALS)  # 「不得再委托…」: whose duty? the subject is elsewhere
            and not any(w in text for w in _DEPENDENT_ANYWHERE))


def judge_questions(chunk: SourceChunk, pool: FactPool) -> list[Question]:
    """Candidate 判断 questions for one chunk (unvalidated): each sentence is quoted true or made
    false by a seeded coin, so about half the statements are false and reruns agree."""
    out: list[Question] = []
    for sent in sentences(chunk.text):
        if sent.is_lead or sent.is_item or not standalone(sent.text) or not balanced(sent.text):
            continue
        rng = random.Random(f"{chunk.chunk_key}\x1f{sent.text}")
        changes = _changes(sent.text, chunk.chunk_key, pool, rng)
        if not changes and not any(m in sent.text for m in _MODALS):
            continue
        if changes and rng.random() < 0.5:
            old, new, start = rng.choice(changes)
            statement = f"{sent.text[:start]}{new}{sent.text[start + len(old):]}"
            out.append(_question(chunk, sent.text, statement, "B",
                                 f"错误。题干将「{old}」改为「{new}」。"))
        else:
            out.append(_question(chunk, sent.text, sent.text, "A", "正确。"))
        if len(out) >= PER_CHUNK:
            break
    return out


def _changes(text: str, chunk_key: str, pool: FactPool, rng: random.Random) -> list[tuple[str, str, int]]:
    """Every single change that could make ``text`` false: (old, new, offset)."""
    found: list[tuple[str, str, int]] = list(swap_positions(text))
    for fact in find_facts(text):
        if fact.kind in {"deadline", "amount", "multiple", "count", "percent"}:
            others = [v for v in pool.others(fact, chunk_key) if v not in text and not equivalent(v, fact.value)]
            if others:
                found.append((fact.value, rng.choice(others), fact.start))
    return found


def _question(chunk: SourceChunk, quote: str, statement: str, answer: str, verdict: str) -> Question:
    stem = judge_stem(chunk.short_title, statement)
    explanation = f"{verdict}{cite(chunk.short_title, chunk.path)}原文：「{quote}」。"
    return Question(
        id=question_id("judge", chunk.chunk_key, stem), qtype="judge", stem=stem, options=list(JUDGE_OPTIONS),
        answer=answer, explanation=explanation, sources=[chunk.ref(quote)], tags=tags_for(chunk),
        difficulty=1, state="draft", author="generator",
    )
