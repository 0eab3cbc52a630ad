"""Query analysis: find explicit references before any vector search.

「处罚法第三十三条」「行诉法33条」「《行政许可法》第四十二条第二款」「安法第94条」 name one
provision; looking it up directly is exact where a similarity search is only likely.
Names come from the library (titles, short titles, aliases), numbers may be Chinese,
Arabic or full-width.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import jieba

from kb.numerals import CN_NUMERAL, cn_to_int, int_to_cn

MAX_QUERY_CHARS = 500
_NUM = f"[{CN_NUMERAL}0-9]+"
_ARTICLE = re.compile(rf"第?\s*({_NUM})\s*条(?:之\s*({_NUM}))?(?:\s*第?\s*({_NUM})\s*款)?")


@dataclass(frozen=True)
class Reference:
    """An explicit pointer: a document name and optionally an article (and 款)."""

    name: str  # as matched in the query (an alias, short or full title)
    article: str | None  # canonical 第三十三条 / 第二十条之一
    paragraph: int | None
    span: tuple[int, int]


def normalize_query(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), collapse white space, cap the length.

    A 5,000-character paste is cut, not rejected: the opening usually holds the question.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_QUERY_CHARS]


def find_references(query: str, names: list[str]) -> list[Reference]:
    """References in ``query`` to any of ``names`` (longest names tried first)."""
    if not names:
        return []
    alternation = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    pattern = re.compile(rf"《?({alternation})》?\s*(?:的\s*)?")
    refs: list[Reference] = []
    pos = 0
    while True:
        m = pattern.search(query, pos)
        if not m:
            break
        art = _ARTICLE.match(query, m.end())
        if art:
            number = cn_to_int(art.group(1))
            label = f"第{int_to_cn(number)}条"
            if art.group(2):
                label += f"之{int_to_cn(cn_to_int(art.group(2)))}"
            paragraph = cn_to_int(art.group(3)) if art.group(3) else None
            refs.append(Reference(m.group(1), label, paragraph, (m.start(), art.end())))
            pos = art.end()
        else:
            refs.append(Reference(m.group(1), None, None, (m.start(), m.end())))
            pos = m.end()
    return refs


_LAW_KINDS = ("法", "法典", "条例", "规定", "办法", "细则", "规则", "决定", "解释")
_KIND = "|".join(_LAW_KINDS)
_CITED_ARTICLE = re.compile(
    rf"《([^》]{{2,40}})》\s*(?:的\s*)?第?\s*{_NUM}\s*条|([\u4e00-\u9fff]+?(?:{_KIND}))\s*(?:的\s*)?第\s*{_NUM}\s*条")
# Words that may run into a name without a space: 「请问刑法第二十条」「根据道路运输条例第十条」.
_LEAD_INS = {"请问", "问", "请", "根据", "按照", "依照", "依据", "关于", "对照", "查", "查询", "查一下", "看看", "看",
             "我想", "想", "知道", "了解", "一下", "帮", "帮我", "我", "在", "对", "是", "那", "那么", "还有", "和",
             "与", "及", "以及", "或", "或者", "、", "，", "的", "中", "里"}
_PRONOUN = re.compile(rf"^(本|该|此|其|上述|前述|同|这个|这部|那部)({_KIND})$")


def unheld_references(query: str, names: list[str]) -> list[str]:
    """Names of laws cited with an article that no document in the library answers to
    (「刑法第二十条」 when no 刑法 is held). Without this the article number alone would
    find the 第二十条 of whatever laws are held, and that reads like an answer."""
    held = set(names)
    out: list[str] = []
    for m in _CITED_ARTICLE.finditer(query):
        if m.group(1):
            name = m.group(1).strip()
        else:
            words = list(jieba.cut(m.group(2)))
            last_lead_in = max((i for i, w in enumerate(words) if w in _LEAD_INS), default=-1)
            name = "".join(words[last_lead_in + 1:])
        if (not name or name in _LAW_KINDS or _PRONOUN.match(name) or any(name.endswith(h) for h in held)
                or name in out):
            continue
        out.append(name)
    return out


def remainder(query: str, refs: list[Reference]) -> str:
    """The query without its references: what is left to search for."""
    out, last = [], 0
    for ref in refs:
        out.append(query[last:ref.span[0]])
        last = ref.span[1]
    out.append(query[last:])
    return re.sub(r"\s+", " ", "".join(out)).strip(" ，,。？?的")
