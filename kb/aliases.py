"""Names officers use for documents: full titles, short titles and abbreviations.

Built from the documents in the knowledge base plus a small table we maintain
(``resources/aliases.tsv``), so 「行诉法33条」 and 「处罚法第三十三条」 resolve to one article.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def alias_table() -> dict[str, tuple[str, ...]]:
    """short title → abbreviations."""
    text = resources.files("kb.resources").joinpath("aliases.tsv").read_text(encoding="utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        short, _tab, names = line.partition("\t")
        table[short.strip()] = tuple(n.strip() for n in names.split(",") if n.strip())
    return table


def aliases_for(title: str, short: str) -> list[str]:
    """Every name a user might type for a document, most specific first."""
    names = [title, short, *alias_table().get(short, ())]
    if short.startswith("行政") and short.endswith("法") and len(short) >= 5:
        names.append(short[2:])  # 行政处罚法 → 处罚法
    seen: list[str] = []
    for n in names:
        if n and n not in seen:
            seen.append(n)
    return seen


def document_names(title: str, short: str, own: Iterable[str] = ()) -> list[str]:
    """:func:`aliases_for` plus the document's own aliases (its front matter): every name a
    question may use for it, and the names the tokenizer keeps whole (kb.sparse.add_terms) on
    the ingest side and the query side alike."""
    return aliases_for(title, short) + [n for n in own if n]
