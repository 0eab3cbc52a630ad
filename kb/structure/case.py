"""Parse typical cases (典型案例, 指导性案例) by their section headings.

Cases are cited by section: 基本案情, 裁判结果, 裁判理由, 典型意义... The heading words vary
between publishers, so a line is a section heading when it is a known name, or a short
line without punctuation directly followed by a longer paragraph.
"""

from __future__ import annotations

import re

from kb.model import Provision
from kb.structure.lines import Line

KNOWN_SECTIONS = (
    "基本案情", "案情简介", "简要案情", "案件事实", "裁判结果", "裁判理由", "裁判要旨", "裁判要点",
    "处理结果", "处理情况", "审理结果", "典型意义", "指导意义", "关键词", "相关法条", "争议焦点",
    "法院认为", "案例评析", "专家点评", "基本事实", "执法过程", "处罚决定", "法律依据", "案例要旨",
)
_PUNCT = re.compile(r"[，。；：！？、,.;:!?（）()《》“”]")


def is_case_heading(text: str, next_text: str | None) -> bool:
    """Known section names always; other short unpunctuated lines only before a long one."""
    bare = text.strip().rstrip("：:")
    if bare in KNOWN_SECTIONS:
        return True
    if len(bare) > 8 or _PUNCT.search(bare):
        return False
    return next_text is not None and len(next_text) > 3 * len(bare) + 20


def count_case_headings(lines: list[Line]) -> int:
    return sum(1 for ln in lines if ln.text.strip().rstrip("：:") in KNOWN_SECTIONS)


def parse_case(lines: list[Line]) -> list[Provision]:
    """Section nodes in order; text before the first section is the 序言 node."""
    roots: list[Provision] = []
    current: Provision | None = None
    seen: dict[str, int] = {}
    for i, ln in enumerate(lines):
        nxt = lines[i + 1].text if i + 1 < len(lines) else None
        if i > 0 and is_case_heading(ln.text, nxt):
            name = ln.text.strip().rstrip("：:")
            seen[name] = seen.get(name, 0) + 1
            label = name if seen[name] == 1 else f"{name}{seen[name]}"
            current = Provision("case_section", label, name, ln.start, ln.end)
            roots.append(current)
            continue
        if current is None:
            current = Provision("preamble", "序言", "", ln.start, ln.end)
            roots.append(current)
        current.end = ln.end
    return roots
