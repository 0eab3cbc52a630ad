"""Parse laws, regulations, rules and interpretations: 编/分编/章/节/条/款/项/目.

What makes this hard in real texts, and how each case is handled:
- 目录 (table of contents) repeats the headings: headings listed between 「目录」 and the
  first article are skipped.
- A paragraph may *start* with a cross-reference that looks like an article heading
  (「第二条规定的……」「第三十条之一的规定……」). An article heading is the label followed by
  white space, or — for sources that drop the space — the label of the next expected
  article followed by text that does not read as a reference (规定/所称/的/中/至…).
- Article numbers use 〇/零/十/百/千 and 之一; labels are stored canonically.
- 款 are the paragraphs of an article; 项 are the （一）（二） items of the 款 before
  them; 目 are 1. 2. items inside a 项.
"""

from __future__ import annotations

import re

from kb.model import Provision
from kb.numerals import CN_NUMERAL, canonical_label, cn_to_int, int_to_cn
from kb.structure.lines import Line

_NUM = f"[{CN_NUMERAL}0-9０-９]+"
ARTICLE_RE = re.compile(rf"^第({_NUM})条(?:之([{CN_NUMERAL}]+))?")
HEADING_RE = re.compile(rf"^第({_NUM})(编|分编|章|节)(?:[\s　]+(.*)|$)")
# Judicial interpretations use 「一、一般规定」 lines as chapters above their articles.
OUTLINE_HEADING_RE = re.compile(rf"^([{CN_NUMERAL}]+)、\s*([^。；，]{{1,20}})$")
ITEM_RE = re.compile(rf"^[（(]([{CN_NUMERAL}]+)[）)]")
SUBITEM_RE = re.compile(r"^([0-9０-９]+)[.．、]\s*\D")
TOC_RE = re.compile(r"^目\s*录$")
# Words that, right after 「第X条」 with no space, make the line a cross-reference.
_REFERENCE_TAIL = re.compile(
    r"^(?:规定|所称|所列|所指|所述|的|中|至|及|和|与|或者|、|，|,|第|款|项|之规定|以及|设定|第[一二三四五六七八九十])"
)
_HEADING_KINDS = {"编": "part", "分编": "subpart", "章": "chapter", "节": "section"}
_HEADING_RANK = {"part": 0, "subpart": 1, "chapter": 2, "section": 3}

MIN_ARTICLES = 3


# Source typos seen in the national corpus, accepted only for the article we expect next:
# 「笫五十四条」 (笫 for 第) and 「第一百二十八 条」 (a space inside the label).
LOOSE_ARTICLE_RE = re.compile(rf"^[第笫]\s*({_NUM})\s*条")


def count_article_lines(lines: list[Line]) -> int:
    """How many lines open an article (used to choose this parser), following the numbering
    so texts that drop the space after 第X条 are recognised too."""
    expected, count = 1, 0
    for ln in lines:
        opened = _article_heading(ln.text, expected)
        if opened is not None:
            count += 1
            expected = opened[2] + 1
    return count


def _article_heading(text: str, expected: int | None) -> tuple[str, int, int] | None:
    """(canonical label, length of the label+space prefix, number) if ``text`` opens an article."""
    m = ARTICLE_RE.match(text)
    loose = m is None
    if loose:
        m = LOOSE_ARTICLE_RE.match(text)
        if not m:
            return None
    try:
        number = cn_to_int(m.group(1))
        sub = cn_to_int(m.group(2)) if not loose and m.group(2) else 0
    except ValueError:
        return None
    if loose and number != expected:
        return None
    rest = text[m.end():]
    label = f"第{int_to_cn(number)}条" + (f"之{int_to_cn(sub)}" if sub else "")
    if not rest:
        return label, m.end(), number
    if rest[0] in " \t　":
        return label, m.end() + (len(rest) - len(rest.lstrip(" \t　"))), number
    if rest[0] in "：:．.":
        return label, m.end() + 1, number
    # No separator: accept only the article we expect next, and only if the text after the
    # label does not read as a cross-reference.
    if expected is not None and number == expected and not sub and not _REFERENCE_TAIL.match(rest):
        return label, m.end(), number
    return None


def _split_run_on(ln: Line, next_number: int) -> tuple[Line, Line | None]:
    """Some sources run articles together on one line (「…制定本规则。 第二条 凡…」): split
    before the next expected article when it follows a sentence end and white space."""
    m = re.search(rf"(?<=[。；])[\s　]+(?=第{int_to_cn(next_number)}条[\s　])", ln.text)
    if not m:
        return ln, None
    head = Line(ln.text[:m.start()], ln.start, ln.start + m.start())
    tail = Line(ln.text[m.end():], ln.start + m.end(), ln.end)
    return head, tail


def _toc_skip(lines: list[Line]) -> set[int]:
    """Indexes of table-of-contents lines (「目录」 and the headings listed under it)."""
    skip: set[int] = set()
    for i, ln in enumerate(lines):
        if not TOC_RE.match(ln.text):
            continue
        skip.add(i)
        seen: set[str] = set()
        for j in range(i + 1, len(lines)):
            text = lines[j].text
            if ARTICLE_RE.match(text) and _article_heading(text, None):
                break
            norm = re.sub(r"\s+", "", text)
            if norm in seen:  # the first heading comes round again: the body starts
                break
            if HEADING_RE.match(text) or (len(text) <= 20 and not text.endswith("。")):
                seen.add(norm)
                skip.add(j)
                continue
            break
        break
    return skip


def parse_law(lines: list[Line], body_start: int = 0) -> list[Provision]:
    """Build the tree; returns the top-level nodes (preamble, parts/chapters, articles)."""
    roots: list[Provision] = []
    headings: list[Provision] = []  # open 编/章/节 stack
    article: Provision | None = None
    paragraph: Provision | None = None
    item: Provision | None = None
    expected = 1
    skip = _toc_skip(lines)
    preamble: Provision | None = None

    def close_to(end: int) -> None:
        for node in (item, paragraph, article):
            if node is not None and node.end < end:
                node.end = end

    def attach(node: Provision) -> None:
        (headings[-1].children if headings else roots).append(node)

    queue = [ln for idx, ln in enumerate(lines) if idx not in skip and ln.start >= body_start]
    queue.reverse()  # pop() from the end walks the text in order
    while queue:
        ln = queue.pop()
        if article is not None:
            ln, rest = _split_run_on(ln, expected)
            if rest is not None:
                queue.append(rest)
        text = ln.text
        heading = HEADING_RE.match(text)
        if heading and len(text) <= 40 and not text.endswith(("。", "；")):
            kind = _HEADING_KINDS[heading.group(2)]
            label = canonical_label(f"第{heading.group(1)}{heading.group(2)}") \
                if heading.group(2) != "分编" else f"第{heading.group(1)}分编"
            node = Provision(kind, label, (heading.group(3) or "").strip(), ln.start, ln.end)
            while headings and _HEADING_RANK[headings[-1].kind] >= _HEADING_RANK[kind]:
                headings.pop()
            attach(node)
            headings.append(node)
            article = paragraph = item = None
            continue
        outline = OUTLINE_HEADING_RE.match(text)
        if outline and (article is not None or headings):
            node = Provision("chapter", f"{outline.group(1)}、", outline.group(2).strip(), ln.start, ln.end)
            while headings and _HEADING_RANK[headings[-1].kind] >= _HEADING_RANK["chapter"]:
                headings.pop()
            attach(node)
            headings.append(node)
            article = paragraph = item = None
            continue
        opened = _article_heading(text, expected)
        if opened:
            label, prefix, number = opened
            ln, rest = _split_run_on(ln, number + 1)
            if rest is not None:
                queue.append(rest)
            article = Provision("article", label, "", ln.start, ln.end)
            attach(article)
            paragraph = Provision("paragraph", "第一款", "", ln.start + prefix, ln.end)
            article.children.append(paragraph)
            item = None
            expected = number + 1
            _extend_headings(headings, ln.end)
            continue
        if article is None:
            if headings:
                # Text under a heading before its first article (a chapter's own note) stays
                # with that heading; it must not stretch the preamble over the articles.
                _extend_headings(headings, ln.end)
                continue
            if preamble is None:
                preamble = Provision("preamble", "序言", "", ln.start, ln.end)
                roots.insert(0, preamble)
            preamble.end = ln.end
            continue
        item_m = ITEM_RE.match(text)
        if item_m and paragraph is not None:
            n = len(paragraph.children) + 1
            item = Provision("item", f"第{int_to_cn(n)}项", "", ln.start, ln.end)
            paragraph.children.append(item)
        elif item is not None and SUBITEM_RE.match(text):
            n = len(item.children) + 1
            item.children.append(Provision("subitem", f"第{int_to_cn(n)}目", "", ln.start, ln.end))
        else:
            n = len(article.children) + 1
            paragraph = Provision("paragraph", f"第{int_to_cn(n)}款", "", ln.start, ln.end)
            article.children.append(paragraph)
            item = None
        close_to(ln.end)
        _extend_headings(headings, ln.end)
    return roots


def _extend_headings(headings: list[Provision], end: int) -> None:
    for node in headings:
        node.end = max(node.end, end)
