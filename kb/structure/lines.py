"""Split a document text into lines with their offsets.

Every parser works on these, so every provision's span is an exact slice of the text.
"""

from __future__ import annotations

from dataclasses import dataclass

# Zero-width characters some sources put on otherwise empty lines around headings
# (「\u200b\n第一章 总 则\n\u200b」); str.strip() keeps them, so a line of nothing else
# would otherwise count as text.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


@dataclass(frozen=True)
class Line:
    """One paragraph of the text: ``text == source[start:end]`` (no newline)."""

    text: str
    start: int
    end: int


def split_lines(text: str) -> list[Line]:
    """Non-empty lines, stripped, with offsets of the stripped content."""
    lines: list[Line] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped.strip(_INVISIBLE).strip():
            lead = len(raw) - len(raw.lstrip())
            start = pos + lead
            lines.append(Line(stripped, start, start + len(stripped)))
        pos += len(raw) + 1
    return lines
