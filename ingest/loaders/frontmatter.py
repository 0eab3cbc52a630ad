"""YAML front matter: the metadata a curated Markdown file declares about itself.

Declared values always win over inferred ones, so they are parsed strictly: a front matter
block that is not valid YAML is reported rather than silently read as body text.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from kb.errors import LoadError

_OPEN = re.compile(r"\A(?:\ufeff)?\s*---[ \t]*\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


def _plain(value: Any) -> Any:
    """Dates become ``YYYY-MM-DD`` strings, recursively, so meta stays JSON-friendly."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def split_front_matter(text: str, path: str | Path) -> tuple[dict[str, Any], str]:
    """Return ``(declared_meta, body)``; ``({}, text)`` when there is no front matter."""
    opening = _OPEN.match(text)
    if not opening:
        return {}, text
    closing = _CLOSE.search(text, opening.end())
    if not closing:
        return {}, text  # a lone '---' is a thematic break, not front matter
    block = text[opening.end() : closing.start()]
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise LoadError(path, f"front matter is not valid YAML{where}; fix or remove it") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LoadError(path, "front matter is not a YAML mapping of key: value; fix or remove it")
    return _plain(data), text[closing.end() :]
