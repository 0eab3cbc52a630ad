"""Sentences of a provision with their offsets, so a quote is always an exact slice.

Chinese legal text ends sentences with 。；！？ and lists items on their own lines; a sentence
that ends with 「：」 introduces a list and is kept together with its items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_END = re.compile(r"[。；！？]|\n")
_ITEM = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
_LABEL = re.compile(r"^第[一二三四五六七八九十百千零〇]+条(?:之[一二三四五六七八九十]+)?[\s　]*")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offsets into the chunk text
    end: int
    paragraph: int  # 1-based 款 within the chunk (items belong to the 款 above them)
    is_item: bool
    opens_list: bool


def split_sentences(chunk_text: str) -> list[Sentence]:
    """Sentences in order; the article label (第三十三条 ) is left out of the first one."""
    out: list[Sentence] = []
    paragraph = 0
    pos = 0
    for line in chunk_text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        is_item = bool(_ITEM.match(line.strip()))
        if not is_item:
            paragraph += 1
        offset = line_start
        label = _LABEL.match(line) if line_start == 0 else None
        if label:
            offset += label.end()
        body = chunk_text[offset:line_start + len(line)]
        cursor = 0
        for m in _END.finditer(body):
            piece = body[cursor:m.end()]
            if piece.strip():
                out.append(_sentence(chunk_text, offset + cursor, offset + m.end(), paragraph, is_item))
            cursor = m.end()
        if body[cursor:].strip():
            out.append(_sentence(chunk_text, offset + cursor, offset + len(body), paragraph, is_item))
    return out


def _sentence(text: str, start: int, end: int, paragraph: int, is_item: bool) -> Sentence:
    while start < end and text[start] in " \t　":
        start += 1
    piece = text[start:end]
    return Sentence(piece, start, end, paragraph, is_item, piece.rstrip().endswith(("：", ":")))
