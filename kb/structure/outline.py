"""Parse plans and policy documents numbered 一、/（一）/1./（1）.

Each numbered line is both a heading and the start of its text: 「2. 着力抓好业务培训。建立健全……」
has label ``2``, title 着力抓好业务培训 and a body running to the next heading of the same
or a higher level. Levels are not fixed by marker type: a document may start at （一）. The
first marker style seen opens level 1, the next new style nests under it, and so on, which
is how readers understand these documents too.

A numbered task in an implementation plan carries its 责任单位 and 完成时限 in a trailing
parenthesis; we keep them as attributes of the provision.
"""

from __future__ import annotations

import re

from kb.model import Provision
from kb.numerals import CN_NUMERAL, cn_to_int
from kb.structure.lines import Line

_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cn", re.compile(rf"^([{CN_NUMERAL}]+)、")),
    ("paren_cn", re.compile(rf"^[（(]([{CN_NUMERAL}]+)[）)]")),
    ("arabic", re.compile(r"^([0-9]{1,2})[.．、](?![0-9])")),
    ("paren_arabic", re.compile(r"^[（(]([0-9]{1,2})[）)]")),
)
_TITLE_RE = re.compile(r"^\s*([^。；！？]{1,40}?)[。；！？]")
_DUTY_RE = re.compile(r"[（(]责任单位[：:](?P<body>.*)[）)]\s*$", re.S)
_DUE_SPLIT = re.compile(r"[；;]\s*完成时限[：:]")


def match_marker(text: str) -> tuple[str, str, int, int] | None:
    """(style, label, number, prefix length) when ``text`` opens a numbered heading."""
    for style, pattern in _MARKERS:
        m = pattern.match(text)
        if not m:
            continue
        try:
            number = cn_to_int(m.group(1))
        except ValueError:
            return None
        label = {
            "cn": m.group(1),
            "paren_cn": f"（{m.group(1)}）",
            "arabic": m.group(1),
            "paren_arabic": f"（{m.group(1)}）",
        }[style]
        return style, label, number, m.end()
    return None


def count_markers(lines: list[Line]) -> int:
    return sum(1 for ln in lines if match_marker(ln.text))


def parse_outline(lines: list[Line], source: str) -> list[Provision]:
    """Build the heading tree; text before the first heading becomes the 序言 node."""
    roots: list[Provision] = []
    stack: list[tuple[str, int, Provision]] = []  # (style, number, node)
    preamble: Provision | None = None
    for ln in lines:
        marker = match_marker(ln.text)
        if marker and _continues_sequence(stack, marker[0], marker[2]):
            style, label, number, prefix = marker
            node = Provision("heading", label, _title(ln.text[prefix:]), ln.start, ln.end)
            styles = [s for s, _n, _node in stack]
            if style in styles:
                del stack[styles.index(style):]
            (stack[-1][2].children if stack else roots).append(node)
            stack.append((style, number, node))
        elif not stack:
            if preamble is None:
                preamble = Provision("preamble", "序言", "", ln.start, ln.end)
                roots.append(preamble)
            preamble.end = ln.end
            continue
        for _s, _n, open_node in stack:
            open_node.end = max(open_node.end, ln.end)
    for node in _walk(roots):
        if node.kind == "heading" and not node.children:
            node.attrs.update(task_duties(source[node.start:node.end]))
    return roots


def _continues_sequence(stack: list[tuple[str, int, Provision]], style: str, number: int) -> bool:
    """A numbered line is a heading only if it fits the numbering: the first of a new level
    or the successor of its sibling. Guards against body text that starts with 「1.」."""
    for s, n, _node in reversed(stack):
        if s == style:
            # a sibling continues (plan task numbers run on across groups: allow any increase)
            return number > n or number == 1
    return True


def _title(rest: str) -> str:
    m = _TITLE_RE.match(rest)
    if m:
        return m.group(1).strip()
    stripped = rest.strip()
    return stripped if len(stripped) <= 40 else ""


def _walk(nodes: list[Provision]):
    for node in nodes:
        yield node
        yield from _walk(node.children)


def task_duties(text: str) -> dict[str, str]:
    """责任单位 / 完成时限 from a plan task's trailing parenthesis, when stated.

    The units may themselves hold parentheses (省营商局（省大数据局）), so the parenthesis
    is taken from 「（责任单位：」 to the text's last closing bracket.
    """
    m = _DUTY_RE.search(text)
    if not m:
        return {}
    parts = _DUE_SPLIT.split(m.group("body"), maxsplit=1)
    attrs = {"责任单位": parts[0].strip()}
    if len(parts) == 2 and parts[1].strip():
        attrs["完成时限"] = parts[1].strip()
    return attrs
