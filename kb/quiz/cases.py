"""Which-provision questions from typical cases: the case text names the article the court or
the agency relied on (「违反《中华人民共和国城乡规划法》第三十八条规定」); the question
blanks the article number and offers neighbouring articles of the same law.

Deliberately simple: the keyed answer is what the case itself says, so it is proved by the
case text; when the cited law is in the knowledge base the article's own words are added as
a second source, and the distractors are real articles of that law.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence

from kb.aliases import aliases_for
from kb.numerals import CN_NUMERAL, cn_to_int, int_to_cn
from kb.quiz.blanks import window
from kb.quiz.facts import Fact
from kb.quiz.model import Question
from kb.quiz.sentences import balanced, sentences
from kb.quiz.source import SourceChunk, field_for
from kb.quiz.stems import CHOICE, cite, letter, question_id
from kb.quiz.validate import choose_distractors

# A law, regulation or judicial interpretation — not a contract (《安置协议》第六条 is a clause).
_REF = re.compile(rf"(《[^》]{{1,40}}(?:法|条例|规定|解释|办法)》|[\u4e00-\u9fff]{{2,14}}法)(第[{CN_NUMERAL}]+条)")


def case_questions(chunk: SourceChunk, laws: dict[str, list[SourceChunk]], doc_text: str,
                   discarded: Counter[str] | None = None) -> list[Question]:
    """Candidate 单选 questions for one case chunk; ``laws`` maps document names (titles, short
    titles, aliases) to the article chunks of that document."""
    out = []
    for sent in sentences(chunk.text):
        for m in _REF.finditer(sent.text):
            name, article = m.group(1).strip("《》"), m.group(2)
            law = _resolve(name, laws)
            fact = Fact("article", "article", article, m.start(2), m.end(2))
            quote, pos = window(sent.text, fact)
            if not balanced(quote):
                continue
            q = _question(chunk, quote, pos, article, law, doc_text, discarded)
            if q is not None:
                out.append(q)
    return out


def law_index(chunks: Sequence[SourceChunk]) -> dict[str, list[SourceChunk]]:
    """Name → whole-article chunks of each law, regulation or rule, for resolving citations."""
    by_doc: dict[str, list[SourceChunk]] = {}
    for c in chunks:
        if c.doc_type in {"law", "regulation", "rule"} and c.path.startswith("第") and c.path.endswith("条"):
            by_doc.setdefault(c.doc_key, []).append(c)
    index: dict[str, list[SourceChunk]] = {}
    for arts in by_doc.values():
        for name in aliases_for(arts[0].title, arts[0].short_title):
            index.setdefault(name, arts)
    return index


def _resolve(name: str, laws: dict[str, list[SourceChunk]]) -> list[SourceChunk]:
    """The longest known name the cited name ends with (「应当参照适用行政诉讼法」→ 行政诉讼法)."""
    for known in sorted(laws, key=len, reverse=True):
        if name.endswith(known):
            return laws[known]
    return []


def _question(chunk: SourceChunk, quote: str, pos: int, article: str, law: list[SourceChunk],
              doc_text: str, discarded: Counter[str] | None) -> Question | None:
    rng = random.Random(f"{chunk.chunk_key}\x1f{quote}")
    number = cn_to_int(article[1:-1])
    if law:
        pool = sorted({c.path for c in law if c.path != article},
                      key=lambda p: abs(cn_to_int(p[1:-1]) - number) if p[1:-1].strip(CN_NUMERAL) == "" else 9999)
    else:
        pool = [f"第{int_to_cn(n)}条" for n in (number + 1, number - 1, number + 2, number - 2, number + 3, number + 5)
                if n > 0]
    near = pool[:6]
    rng.shuffle(near)
    distractors = choose_distractors(quote, pos, article, near, doc_text, 3, discarded)
    if len(distractors) < 3:
        return None
    options = [article, *distractors]
    rng.shuffle(options)
    stem = f"在“{chunk.title}”中，{quote[:pos]}{CHOICE}{quote[pos + len(article):]}。"
    sources = [chunk.ref(quote)]
    explanation = f"案例“{chunk.title}”{chunk.path}：「{quote}」。"
    cited = [c for c in law if c.path == article and c.part == 0]
    if cited:
        first = sentences(cited[0].text)[0].text
        sources.append(cited[0].ref(first))
        explanation += f"{cite(cited[0].short_title, article)}：「{first}」。"
    field = field_for(cited[0].short_title, cited[0].title) if cited else "综合"
    laws_tag = [chunk.short_title, cited[0].short_title] if cited else [chunk.short_title]
    answer = letter(options.index(article))
    return Question(
        id=question_id("single", chunk.chunk_key, stem), qtype="single", stem=stem, options=options, answer=answer,
        explanation=explanation + f"正确选项为{answer}。", sources=sources,
        tags={"法规": laws_tag, "领域": [field], "技能": ["法律适用"]}, difficulty=3, state="draft",
        author="generator",
    )
