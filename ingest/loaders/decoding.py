"""Bytes to text for the plain formats (md, txt, html).

Chinese documents arrive as UTF-8, GB18030/GBK (older Windows tools) or UTF-16 (Word's
"Unicode text", sometimes without a BOM). We try them in a fixed order and accept a result
only if it reads as Chinese/ASCII text: a lenient codec such as GB18030 decodes almost any
bytes, so "it decoded" proves nothing by itself. Anything else is refused with a message that
tells the user how to fix the file, never guessed at.
"""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

from kb.errors import LoadError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Leading bytes of formats that are documents, just not text ones.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "it is a PDF; give it the .pdf extension"),
    (b"PK\x03\x04", "it is a ZIP/Office file; save it as .docx with that extension"),
    (b"\xd0\xcf\x11\xe0", "it is an old Word/Office file; save it as .docx"),
    (b"{\\rtf", "it is an RTF file; save it as .docx or UTF-8 text"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
UNDECODABLE = "cannot decode: not UTF-8, GB18030 or UTF-16; save it as UTF-8"
BINARY = "binary file, not a document"
EMPTY = "file is empty"


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF  # unified ideographs
        or 0x3400 <= cp <= 0x4DBF  # extension A
        or 0x3000 <= cp <= 0x303F  # CJK punctuation
        or 0xFF00 <= cp <= 0xFFEF  # full-width forms
        or 0x2000 <= cp <= 0x206F  # general punctuation (“” — …)
        or 0x20000 <= cp <= 0x2FA1F  # extensions B+ (rare names)
    )


def _is_common_hanzi(ch: str) -> bool:
    """In GB2312 level 1, the 3,755 most frequent characters of simplified Chinese."""
    try:
        lead = ch.encode("gb2312")[0]
    except UnicodeEncodeError:
        return False
    return 0xB0 <= lead <= 0xD7


def plausible(text: str, *, simplified: bool = False) -> bool:
    """Does ``text`` read as a document: printable, mostly CJK and ASCII?

    ``simplified`` adds a frequency test for GB18030 results: text read with the wrong legacy
    code page (e.g. Big5 bytes) decodes to valid but rare characters.
    """
    body = [ch for ch in text if not ch.isspace()]
    if not body:
        return True
    bad = sum(
        1
        for ch in body
        if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Cs", "Cn")
    )
    if bad > max(2, len(body) // 100):
        return False
    usual = sum(1 for ch in body if (ch.isascii() and ch.isprintable()) or _is_cjk(ch))
    if usual < 0.6 * len(body):
        return False
    if simplified:
        hanzi = [ch for ch in body if 0x4E00 <= ord(ch) <= 0x9FFF]
        if hanzi and sum(map(_is_common_hanzi, hanzi)) < 0.6 * len(hanzi):
            return False
    return True


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM. ASCII characters put a NUL on one byte parity, but so do
    U+3000 and 一 (U+4E00) on the other, so rather than count NULs we decode both ways and
    keep the reading that is plausible Chinese (the byte-swapped one never is)."""
    if len(data) % 2:
        return None
    sample = data[:8192]
    odd_first = sum(1 for b in sample[1::2] if b == 0) >= sum(1 for b in sample[0::2] if b == 0)
    order = ("utf-16-le", "utf-16-be") if odd_first else ("utf-16-be", "utf-16-le")
    for encoding in order:
        text = _try(data, encoding, simplified=True)
        if text is not None:
            return text
    return None


def _try(data: bytes, encoding: str, *, simplified: bool = False) -> str | None:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return text if plausible(text, simplified=simplified) else None


def _has_control_bytes(data: bytes) -> bool:
    sample = data[:65536]
    controls = sum(1 for b in sample if (b < 0x20 and chr(b) not in _ALLOWED_CONTROLS) or b == 0x7F)
    return controls > max(2, len(sample) // 200)


def decode_text(data: bytes, path: str | Path) -> str:
    """Decode a text file's bytes or raise :class:`LoadError` saying how to fix the file."""
    if not data.strip():
        raise LoadError(path, EMPTY)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _try(data[len(bom) :], encoding)
            if text is None:
                raise LoadError(path, f"{UNDECODABLE} (it starts with a {encoding} byte-order mark)")
            return _non_empty(text, path)
    for magic, hint in _MAGIC:
        if data.startswith(magic):
            raise LoadError(path, f"{BINARY}: {hint}")
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise LoadError(path, BINARY)
        return _non_empty(text, path)
    text = _try(data, "utf-8")
    binary = text is None and _has_control_bytes(data)
    if text is None and not binary:
        text = _try(data, "gb18030", simplified=True)
    if text is None:  # all-Chinese UTF-16 has no NUL bytes
        text = _utf16_without_bom(data)
    if text is None:
        raise LoadError(path, BINARY if binary else UNDECODABLE)
    return _non_empty(text, path)


def _non_empty(text: str, path: str | Path) -> str:
    if not text.strip():
        raise LoadError(path, EMPTY)
    return text
