"""Turn decoded text into clean paragraphs: one per line, markup removed, verbatim otherwise.

Every offset the knowledge base stores points into the normalised text, so normalisation is
done once, here, for every format: newlines unified, HTML comments dropped
(``<!-- INFO END -->``, ``<!-- FORCE BREAK -->``), markdown heading and emphasis markers
removed, lines stripped, blank lines dropped. Wording is never changed; full-width spaces
inside a line are kept (the structure parser accepts 「第一条　」 and 「第一条 」 alike).
"""

from __future__ import annotations

import re

from ingest.loaders.rejoin import Para

_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:[ \t\u3000]+|$)")
_CLOSING_HASHES = re.compile(r"[ \t]+#+\s*$")
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=[^\s_])([^_\n]+?)(?<=[^\s_])__")
_EM = re.compile(r"(?<![*A-Za-z0-9])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![*A-Za-z0-9])")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_FIXED = re.compile(r"^(?:\||[-*+•]\s)")
_BREAK = "\x00BREAK\x00"


def _comment(match: re.Match[str]) -> str:
    """A FORCE BREAK comment keeps its meaning (a paragraph boundary); others vanish."""
    return f"\n{_BREAK}\n" if "BREAK" in match.group(1).upper() else "\n"


def _link(match: re.Match[str]) -> str:
    label, target = match.group(1), match.group(2)
    return label or target


def clean_inline(line: str) -> str:
    """Remove emphasis markers and link syntax, keeping the words."""
    line = _LINK.sub(_link, line)
    line = _STRONG.sub(lambda m: m.group(1) or m.group(2), line)
    return _EM.sub(r"\1", line)


def to_paras(text: str) -> list[Para]:
    """Split ``text`` into stripped, non-empty paragraphs with their markup flags."""
    text = _NEWLINES.sub("\n", text.replace("\ufeff", ""))
    text = _COMMENT.sub(_comment, text)
    paras: list[Para] = []
    pending_break = False
    for raw in text.split("\n"):
        if raw.strip() == _BREAK:
            pending_break = True
            continue
        fixed = False
        heading = _HEADING.match(raw)
        if heading:
            raw = _CLOSING_HASHES.sub("", raw[heading.end() :])
            fixed = True
        elif _RULE.match(raw):
            continue
        line = clean_inline(raw).strip()
        if not line:
            continue
        fixed = fixed or bool(_FIXED.match(line))
        paras.append(Para(line, fixed=fixed, break_before=pending_break))
        pending_break = False
    return paras
