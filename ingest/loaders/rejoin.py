"""Rejoin paragraphs that a page break or a hard line wrap split mid-sentence.

Sources copied out of PDFs (and PDFs themselves) break lines where the page or the visual
line ended, not where the paragraph did: 「…认真」 / 「贯彻落实…」. A split paragraph would
cut an article or a plan item in two and break citations, so we join such lines back.

The rule is conservative because merging a heading into body text is far worse than leaving
a split: line A is joined with the next line B only when

- A is prose (at least ``MIN_PROSE_CHARS`` characters and some clause punctuation ，。；：,
  no formula ＝), does not end a sentence, is not a heading or list label, is not a date or
  revision line, unless it ends with ，or 、, which promise a continuation;
- B does not start a structural unit (第…编/章/节/条, 一、, （一）, 1., （1）, ①, case
  section names, 附件, a date line, a 文号 line, a table row or bullet);
- neither was marked fixed (a markdown heading, table row, bullet) nor separated by an
  explicit break (``<!-- FORCE BREAK -->``).

One exception: revision lines in LawRefBook headers wrap inside a 《…》 title, e.g.
「…《关于修改〈…土地管理法〉」 / 「〈…城市房地产管理法〉的决定》第三次修正」; A with an
unclosed 《 is joined with the B that continues it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_PROSE_CHARS = 25

#: Characters that end a sentence or close a quotation/bracket; a line ending in one is
#: taken as a complete paragraph.
SENTENCE_END = frozenset("。；：！？…”’」』）)】》;:!?．.")
#: Clause punctuation: a line without any is a title, heading, formula or list of names.
CLAUSE_PUNCT = frozenset("，。；：,;")
#: Endings that promise the sentence goes on.
CONTINUATION_END = frozenset("，、,")

_CN_NUM = "一二三四五六七八九十百千零〇两"
_DATE = r"(?:\d{4}|[〇零一二三四五六七八九]{4})年[\d一二三四五六七八九十]{1,3}月[\d一二三四五六七八九十]{1,3}日"

CASE_SECTIONS = (
    "基本案情", "简要案情", "案情简介", "案情回顾", "案件事实", "裁判结果", "裁判理由",
    "裁判要旨", "裁判要点", "典型意义", "案例分析", "适用解析", "处理结果", "法官解读",
    "申请人请求", "原告诉讼请求", "法院裁判", "争议焦点", "相关法条", "司法解释相关法条",
    "法律分析", "专家点评", "案例评析", "指导意义",
)

#: A line that opens a structural unit (never the continuation of the line before).
STRUCTURAL_START = re.compile(
    "|".join(
        [
            rf"第[{_CN_NUM}\d]+[编章节条款项]",
            rf"第[{_CN_NUM}\d]+部分",
            rf"[{_CN_NUM}]+[、．.]",
            rf"[（(][{_CN_NUM}]+[）)]",
            r"\d+[.．、](?!\d)",
            r"[（(]\d+[）)]",
            r"[①-⑳⑴-⒇]",
            r"【",
            r"(?:" + "|".join(CASE_SECTIONS) + r")\s*[：:]?\s*$",
            r"附[件录表则]",
            r"序言\s*$",
            _DATE,
            r"[（(]" + _DATE,
            r"\S{0,16}[〔［\[]\d{4}[〕］\]]\s*第?\d+\s*号",
            r"[-*+•·]\s",
            r"\|",
        ]
    )
)

#: Labels that, on a line without a full sentence, make it a heading or a list entry.
HEADING_LABEL = re.compile(
    rf"第[{_CN_NUM}\d]+[编章节]|第[{_CN_NUM}\d]+部分|[{_CN_NUM}]+[、．.]|[（(][{_CN_NUM}]+[）)]"
    r"|\d+[.．、](?!\d)|[（(]\d+[）)]|[①-⑳⑴-⒇]"
)
DATE_START = re.compile(r"[（(]?" + _DATE)
DATE_END = re.compile(_DATE + r"\s*$")
_TRAILER = re.compile(r"(?:[\ue000-\uf8ff\s]|\[\d{1,3}\])+$")


@dataclass
class Para:
    """One line of normalised text, with what the markup said about its boundaries."""

    text: str
    fixed: bool = False  # a markdown heading, table row or bullet: never joined
    break_before: bool = False  # an explicit break (FORCE BREAK) separates it from the line above


def _tail(text: str) -> str:
    """The line without trailing footnote marks (「。 [1]」) or private-use glyphs (seen
    after ：in some LawRefBook files), so its real last character can be judged."""
    return _TRAILER.sub("", text)


def _unclosed_title(text: str) -> bool:
    return text.count("《") > text.count("》")


def _closes_title(text: str) -> bool:
    close, open_ = text.find("》"), text.find("《")
    return close >= 0 and (open_ < 0 or close < open_)


def is_structural_start(line: str) -> bool:
    """True when ``line`` opens a heading, article, item, case section, date or 文号 line."""
    return bool(STRUCTURAL_START.match(line))


def is_heading_like(line: str) -> bool:
    """A numbered line with no full sentence: 「一、总体要求」「（六）陶瓷防热材料」."""
    if not HEADING_LABEL.match(line):
        return False
    return "。" not in line and "；" not in line


def should_join(a: Para, b: Para) -> bool:
    """Decide whether ``b`` continues the sentence that ``a`` left unfinished."""
    if a.fixed or b.fixed or b.break_before:
        return False
    tail = _tail(a.text)
    if not tail or tail[-1] in SENTENCE_END:
        return False
    if (
        _unclosed_title(tail)
        and not DATE_START.match(b.text)
        and (_closes_title(b.text) or not is_structural_start(b.text))
    ):
        return True
    if len(tail) < MIN_PROSE_CHARS or is_structural_start(b.text):
        return False
    if DATE_START.match(tail) or DATE_END.search(tail):
        return False
    if tail[-1] in CONTINUATION_END:
        return True
    if not any(ch in CLAUSE_PUNCT for ch in tail) or "＝" in tail or "=" in tail:
        return False  # a title, a list of names or a formula line stands alone
    return not is_heading_like(tail)


def glue(a: str, b: str) -> str:
    """Join two pieces of one sentence: no space in Chinese, one space between Latin words."""
    if a and b and a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha():
        return f"{a} {b}"
    return a + b


def rejoin(paras: list[Para]) -> list[str]:
    """Merge split paragraphs; returns the final lines (non-empty, stripped)."""
    out: list[Para] = []
    for para in paras:
        if out and should_join(out[-1], para):
            prev = out[-1]
            out[-1] = Para(glue(prev.text, para.text), fixed=False, break_before=prev.break_before)
        else:
            out.append(para)
    return [p.text for p in out]
