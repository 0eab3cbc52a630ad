"""多选: the items （一）（二）（三） of one article's list against items of a sibling list in
another article of the same law (the nearest one), so every option sounds like that law.

Catch-all items (「其他…」「法律、法规规定的其他情形」) are never options: they are true of
every list and teach nothing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from kb.quiz.model import Question
from kb.quiz.sentences import ItemList, item_lists
from kb.quiz.source import SourceChunk, tags_for
from kb.quiz.stems import CHOICE, cite, letter, question_id

MIN_ITEM, MAX_ITEM = 2, 40
MAX_LEAD = 80
NEAR_DUPLICATE = 0.5  # bigram Jaccard above which an item may restate one of ours


def usable(item: str) -> bool:
    return MIN_ITEM <= len(item) <= MAX_ITEM and "其他" not in item and "下列" not in item


def list_questions(chunk: SourceChunk, siblings: Sequence[SourceChunk]) -> list[Question]:
    """Candidate 多选 questions for one chunk (unvalidated); ``siblings`` are the other chunks
    of the same document."""
    out = []
    for lst in item_lists(chunk.text):
        good = [i for i in lst.items if usable(i)]
        if len(good) < 3:
            continue
        rng = random.Random(f"{chunk.chunk_key}\x1f{lst.lead}")
        false = _distractors(chunk, lst, siblings)
        if not false:
            continue
        keyed = rng.sample(good, min(len(good), rng.choice((2, 3, 3, 4))))
        wrong = rng.sample(false[:6], min(len(false[:6]), max(1, 5 - len(keyed))))
        options = keyed + wrong
        rng.shuffle(options)
        answer = "".join(sorted(letter(options.index(k)) for k in keyed))
        stem = f"根据{cite(chunk.short_title, chunk.path)}的规定，{_lead(lst)}。下列选项中，属于该条所列的有{CHOICE}。"
        explanation = (f"依据{cite(chunk.short_title, chunk.path)}：「{lst.block}」。正确选项为{answer}；"
                       f"其余选项出自同一法律的其他条文。")
        out.append(Question(
            id=question_id("multiple", chunk.chunk_key, stem), qtype="multiple", stem=stem, options=options,
            answer=answer, explanation=explanation, sources=[chunk.ref(lst.block)], tags=tags_for(chunk),
            difficulty=3, state="draft", author="generator",
        ))
    return out


def _lead(lst: ItemList) -> str:
    """The list's lead, its last clauses only when it is long."""
    if len(lst.lead) <= MAX_LEAD:
        return lst.lead
    tail = lst.lead[-MAX_LEAD:]
    cut = tail.find("，")
    return "……" + (tail[cut + 1:] if cut >= 0 else tail)


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _distractors(chunk: SourceChunk, lst: ItemList, siblings: Sequence[SourceChunk]) -> list[str]:
    """Usable items of other lists of the same document, most alike to this list first.

    Alike in wording makes a distractor plausible (an item about 查封 against a list about
    查封); an item nearly identical to one of ours might say the same thing in other words,
    so those are left out, as is anything that occurs in the source chunk.
    """
    ours = [_bigrams(i) for i in lst.items]
    topic = _bigrams(lst.lead + "".join(lst.items))
    ends_de = sum(i.endswith("的") for i in lst.items) * 2 >= len(lst.items)
    scored: dict[str, float] = {}
    for sib in siblings:
        if sib.path == chunk.path:
            continue
        for other in item_lists(sib.text):
            for item in other.items:
                grams = _bigrams(item)
                if (not usable(item) or item in chunk.text or item.endswith("的") != ends_de
                        or max(_similarity(grams, o) for o in ours) >= NEAR_DUPLICATE):
                    continue
                scored[item] = max(scored.get(item, 0.0), _similarity(grams, topic))
    return sorted(scored, key=lambda i: (-scored[i], i))
