"""DOCX to text: body paragraphs and tables in document order.

Word's page headers and footers live outside the body, so they never reach the text. Heading
paragraphs come out as markdown headings and table rows as ``| a | b |`` (one line per row,
which keeps the 责任单位/完成时限 tables of plans readable), so the shared normaliser treats
them like the same constructs in Markdown sources.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from docx import Document as open_docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from kb.errors import LoadError

CORRUPT = "DOCX is corrupt or not a Word document; open it in Word and save it as .docx again"
ENCRYPTED = "DOCX is password-protected (or an old .doc); remove the password and save it as .docx"


def _table_lines(table: Table) -> list[str]:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _paragraph_line(paragraph: Paragraph) -> str:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style.startswith(("Heading", "标题", "Title")) and paragraph.text.strip():
        level = style.rsplit(" ", 1)[-1]
        marks = "#" * int(level) if level.isdigit() and 1 <= int(level) <= 6 else "#"
        return f"{marks} {paragraph.text}"
    return paragraph.text


def docx_text(data: bytes, path: str | Path) -> str:
    """Extract the body text of a .docx file, one paragraph per line."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LoadError(path, ENCRYPTED)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoadError(path, CORRUPT)
    try:
        document = open_docx(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(_paragraph_line(block))
            elif isinstance(block, Table):
                lines.extend(_table_lines(block))
    except Exception:  # python-docx raises KeyError, BadZipFile, lxml errors... on damage
        raise LoadError(path, CORRUPT) from None
    return "\n".join(lines)
