"""Read a source file into :class:`kb.model.SourceText`, whatever its format.

``load(path)`` is the only entry point the rest of the system needs. Each format has a small
reader (:mod:`.decoding` for md/txt/html bytes, :mod:`.pdf_text`, :mod:`.docx_text`,
:mod:`.html_text`); all of them then go through the same normalisation (:mod:`.frontmatter`,
:mod:`.markup`, :mod:`.rejoin`), so offsets mean the same thing for every format. Metadata the
file does not declare is inferred by :func:`kb.metadata.infer_metadata`.

A bad file (corrupt, encrypted, empty, binary, undecodable, scanned, unsupported) raises
:class:`kb.errors.LoadError` with a one-line reason that says what to do; no other exception
type escapes for a bad file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.loaders.decoding import EMPTY, decode_text
from ingest.loaders.docx_text import docx_text
from ingest.loaders.frontmatter import split_front_matter
from ingest.loaders.html_text import html_text
from ingest.loaders.markup import to_paras
from ingest.loaders.pdf_text import pdf_paras
from ingest.loaders.rejoin import Para, rejoin
from kb.errors import LoadError
from kb.metadata import infer_metadata
from kb.model import SourceText

#: File extension → format name stored in ``SourceText.fmt``.
FORMATS: dict[str, str] = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
}

__all__ = ["FORMATS", "load", "normalise"]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LoadError(path, "file does not exist; check the path") from None
    except IsADirectoryError:
        raise LoadError(path, "is a directory, not a file; name a file inside it") from None
    except PermissionError:
        raise LoadError(path, "permission denied; make the file readable") from None
    except OSError as exc:
        raise LoadError(path, f"cannot read file ({exc.strerror or exc}); check the disk") from None


def normalise(text: str, path: str | Path) -> tuple[dict[str, Any], str]:
    """Front matter out, markup out, split sentences rejoined: ``(declared_meta, text)``."""
    declared, body = split_front_matter(text, path)
    return declared, "\n".join(rejoin(to_paras(body)))


def _paras_to_text(paras: list[Para]) -> str:
    return "\n".join(p.text for p in paras)


_TEXT_READERS: dict[str, Callable[[bytes, Path], str]] = {
    "md": decode_text,
    "txt": decode_text,
    "html": lambda data, path: html_text(decode_text(data, path)),
    "docx": docx_text,
    "pdf": lambda data, path: _paras_to_text(pdf_paras(data, path)),
}


def load(path: str | Path) -> SourceText:
    """Read ``path`` into a :class:`SourceText` with normalised text and metadata."""
    path = Path(path)
    if not path.exists():  # before the type: a mistyped folder has no suffix either
        raise LoadError(path, "no such file or folder; check the path")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        kinds = ", ".join(sorted(set(FORMATS)))
        shown = path.suffix or "(none)"
        raise LoadError(path, f"unsupported file type {shown}; convert it to one of {kinds}")
    data = _read_bytes(path)
    if not data.strip():
        raise LoadError(path, EMPTY)
    try:
        raw = _TEXT_READERS[fmt](data, path)
        declared, text = normalise(raw, path)
    except LoadError:
        raise
    except Exception as exc:  # a reader library choking on odd input is still a bad file
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise LoadError(path, f"cannot read this {fmt} file ({detail}); re-save it and retry") from exc
    if not text:
        raise LoadError(path, f"{EMPTY}: no text left after front matter and markup")
    meta = infer_metadata(text, declared, path)
    meta["declared"] = sorted(declared)  # which keys the file itself stated, the rest were inferred
    return SourceText(
        path=str(path),
        text=text,
        meta=meta,
        content_hash=hashlib.sha256(data).hexdigest(),
        fmt=fmt,
    )
