"""Sentences and enumerated lists of a provision, as verbatim spans of its chunk text.

Every question quotes its source, so everything here returns substrings of the chunk text
exactly as stored (no re-punctuation, no whitespace changes): the validator can then prove
a keyed answer by plain substring tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.numerals import CN_NUMERAL

# 「第三十三条 」 opens an article chunk; 「（二）」 opens an item line.
_ARTICLE_HEAD = re.compile(rf"^第[{CN_NUMERAL}]+条(?:之[{CN_NUMERAL}]+)?\s*")
ITEM_MARK = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
_LEAD_END = ("：", ":")
_SENTENCE_END = "。；;"
_TRAILING = "。；;：:，, "


@dataclass(frozen=True)
class Sentence:
    """One sentence (ended by 。 or ；, or by the end of a line) of a provision."""

    text: str  # verbatim, without the article label, item mark or closing punctuation
    is_item: bool  # it comes from an enumerated item （一）…
    is_lead: bool  # it introduces a list (ends with a colon)


@dataclass(frozen=True)
class ItemList:
    """An enumerated list: the lead sentence and its items （一）（二）…, all verbatim."""

    lead: str  # the sentence that introduces the list, colon stripped
    items: list[str]  # item texts without mark and closing punctuation
    block: str  # the verbatim span from the lead line to the last item line


def _strip_line(line: str) -> tuple[str, bool]:
    line = _ARTICLE_HEAD.sub("", line.strip())
    m = ITEM_MARK.match(line)
    return (line[m.end():], True) if m else (line, False)


def sentences(text: str) -> list[Sentence]:
    """The sentences of a chunk in order; list leads and items are marked."""
    out: list[Sentence] = []
    for raw in text.split("\n"):
        line, is_item = _strip_line(raw)
        if not line:
            continue
        parts = re.split(rf"(?<=[{_SENTENCE_END}])", line)
        for i, part in enumerate(parts):
            stripped = part.strip()
            if not stripped:
                continue
            is_lead = i == len(parts) - 1 and stripped.endswith(_LEAD_END)
            body = stripped.rstrip(_TRAILING)
            if body:
                out.append(Sentence(body, is_item, is_lead))
    return out


def item_text(line: str) -> str:
    """An item line without its mark and closing punctuation: （二）罚款；→ 罚款."""
    m = ITEM_MARK.match(line.strip())
    body = line.strip()[m.end():] if m else line.strip()
    return body.rstrip(_TRAILING)


def item_lists(text: str) -> list[ItemList]:
    """Lists whose lead line and items are all inside ``text``; a list cut by a chunk
    boundary (its lead in the previous part) is skipped, since half a list proves nothing."""
    lines = text.split("\n")
    out: list[ItemList] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.endswith(_LEAD_END) and i + 1 < len(lines) and ITEM_MARK.match(lines[i + 1].strip()):
            j = i + 1
            while j < len(lines) and ITEM_MARK.match(lines[j].strip()):
                j += 1
            # The lead runs from the last full stop: 「…之一的，依法给予处分；构成犯罪的，…：」
            # needs both halves of the semicolon.
            lead = _strip_line(line)[0].rsplit("。", 1)[-1].rstrip(_TRAILING)
            block = "\n".join([line[line.rfind(lead):], *lines[i + 1:j]]).rstrip()
            if block in text:
                out.append(ItemList(lead, [item_text(x) for x in lines[i + 1:j]], block))
            i = j
        else:
            i += 1
    return out


# Openings that refer back to the sentence before: quoted alone they mean nothing.
DEPENDENT_OPENINGS = ("前款", "前两款", "前三款", "本条", "上述", "该", "其", "依照前", "除前", "有前款", "对前款",
                      "但", "并", "或者", "同时", "法律、行政法规另有规定", "法律另有规定", "法律、法规另有规定")


def leans_on_context(text: str) -> bool:
    return text.startswith(DEPENDENT_OPENINGS)


def balanced(text: str) -> bool:
    """Whether quotation marks and title marks pair up: a quote cut inside 「“…”」 reads badly."""
    return all(text.count(a) == text.count(b) for a, b in ("“”", "《》", "（）", "「」"))


def normalise_stem(stem: str) -> str:
    """The stem with blanks, spaces and punctuation removed: two stems that differ only in
    those are the same question."""
    return re.sub(r"[\s_（）()　，。、：:；;？?！!“”\"'‘’《》「」]", "", stem)
