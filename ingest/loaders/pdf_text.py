"""PDF to paragraphs: text layer only, page furniture removed, visual lines rejoined.

pypdf returns one line per visual line and repeats whatever sits at the top and bottom of
every page. We drop running headers/footers (a line that recurs at the edge of most pages,
digits ignored, so 「第 3 页 共 12 页」 counts as one) and page numbers (「- 3 -」, 「第 3 页」,
「3/12」, a bare number) at page edges only, then join a visual line with the next when it
runs to (nearly) the full line width and does not end a sentence. Paragraph splits across
page breaks are left to :mod:`ingest.loaders.rejoin`, which every format goes through.

There is no OCR here: a PDF without a text layer (a scan), or whose text layer decodes to
junk (fonts without a Unicode map), is refused with a message that says so.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from ingest.loaders.decoding import plausible
from ingest.loaders.rejoin import SENTENCE_END, Para, glue, is_structural_start
from kb.errors import LoadError

ENCRYPTED = "PDF is encrypted; remove the password and ingest again"
CORRUPT = "PDF is corrupt or truncated; export or download it again"
NO_TEXT = "PDF has no text layer (a scan?); run OCR on it (e.g. ocrmypdf) and ingest the result"
UNREADABLE = (
    "PDF text layer is not readable text (fonts without a Unicode map); run OCR on it (e.g. ocrmypdf)"
    " and ingest the result"
)

_PAGE_NUMBER = re.compile(
    r"^(?:[-－—–~～\s]*\d{1,4}[-－—–~～\s]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|[Pp]age\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$"
)
_DIGITS = re.compile(r"\d+")
EDGE = 2  # lines at the top and at the bottom of a page that may be furniture
FURNITURE_CHARS = 40  # running headers are short; a long repeated edge line is body text
FULL_LINE = 0.85  # a visual line at least this share of the typical width is wrapped, not ended


def _width(line: str) -> float:
    """Display width: ASCII is half as wide as a Chinese character."""
    return sum(0.5 if ch.isascii() else 1.0 for ch in line)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs every repair it attempts; we report a damaged file once, as a LoadError."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_pages(data: bytes, path: str | Path) -> list[list[str]]:
    """Extract each page's non-empty, stripped lines; raise LoadError on unreadable files."""
    if b"%PDF-" not in data[:1024]:
        raise LoadError(path, f"{CORRUPT} (no PDF header)")
    with _quiet_pypdf():
        return _read_pages(data, path)


def _read_pages(data: bytes, path: str | Path) -> list[list[str]]:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # owner-password-only files open without one
            except (DependencyError, NotImplementedError):
                raise LoadError(path, ENCRYPTED) from None
            if not opened:
                raise LoadError(path, ENCRYPTED)
        pages = [(page.extract_text() or "") for page in reader.pages]
    except LoadError:
        raise
    except FileNotDecryptedError:
        raise LoadError(path, ENCRYPTED) from None
    except Exception:  # PdfReadError, but also KeyError, ValueError... from damaged input
        raise LoadError(path, CORRUPT) from None
    if not pages:
        raise LoadError(path, f"{CORRUPT} (no pages)")
    result = [[ln.strip() for ln in page.splitlines() if ln.strip()] for page in pages]
    if not any(result):
        raise LoadError(path, NO_TEXT)
    return result


def _furniture(pages: list[list[str]]) -> set[str]:
    """Lines (digits masked) found at a page edge on most pages: running headers/footers."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        edge = {ln for ln in (*lines[:EDGE], *lines[-EDGE:]) if len(ln) <= FURNITURE_CHARS}
        seen.update({_DIGITS.sub("#", ln) for ln in edge})
    need = max(2, int(0.6 * len(pages) + 0.5))
    return {key for key, count in seen.items() if count >= need}


def strip_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Remove running headers/footers and page numbers from the edges of every page."""
    repeated = _furniture(pages)
    cleaned: list[list[str]] = []
    for lines in pages:
        lines = list(lines)
        for _ in range(EDGE):
            if lines and (_DIGITS.sub("#", lines[0]) in repeated or _PAGE_NUMBER.match(lines[0])):
                lines.pop(0)
            if lines and (_DIGITS.sub("#", lines[-1]) in repeated or _PAGE_NUMBER.match(lines[-1])):
                lines.pop()
        cleaned.append(lines)
    return cleaned


def _typical_width(pages: list[list[str]]) -> float:
    widths = sorted(_width(ln) for lines in pages for ln in lines)
    if not widths:
        return 0.0
    return widths[int(0.9 * (len(widths) - 1))]


def join_visual_lines(pages: list[list[str]]) -> list[Para]:
    """Join wrapped visual lines into paragraphs; each page ends its last paragraph."""
    full = FULL_LINE * _typical_width(pages)
    paras: list[Para] = []
    for lines in pages:
        current, current_last = "", ""
        for line in lines:
            if (
                current
                and _width(current_last) >= full
                and current[-1] not in SENTENCE_END
                and not is_structural_start(line)
            ):
                current = glue(current, line)
            else:
                if current:
                    paras.append(Para(current))
                current = line
            current_last = line
        if current:
            paras.append(Para(current))
    return paras


def pdf_paras(data: bytes, path: str | Path) -> list[Para]:
    """The whole PDF pipeline: read, strip page furniture, rejoin visual lines."""
    pages = strip_furniture(read_pages(data, path))
    if not any(pages):
        raise LoadError(path, NO_TEXT)
    if not plausible("".join(line for lines in pages for line in lines)):
        raise LoadError(path, UNREADABLE)
    return join_visual_lines(pages)
