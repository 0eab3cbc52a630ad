"""Check the national gold set against the corpus without an index: no embedding, no store.

The national index takes about an hour to embed, and a label that names a missing article or
a superseded version would silently count as a miss in every run. So each cited file is parsed
with the ingest pipeline's own functions (``load`` → ``prepare``, which calls
``build_document``), giving the exact doc_key and provision paths the index will hold, and
every gold reference must resolve to one of those provisions.

``python -m eval.gold_national [corpus_dir]`` prints the set's counts (questions, laws, kinds,
share without a statute name) and any problem; exit status 1 when there is one.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from eval.gold import GoldQuestion, load_gold, path_matches
from ingest.loaders import load
from ingest.pipeline import SKIP_NAMES, prepare
from kb.aliases import aliases_for

#: Where the national corpus sits beside the checkout (as ../shared/corpus/sample does).
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "national"
_VERSION_SUFFIX = re.compile(r"\(\d{4}-\d{2}-\d{2}\)$")


def corpus_dir() -> Path:
    """``KB_NATIONAL_CORPUS`` when set, else the shared corpus next to the checkout."""
    return Path(os.environ.get("KB_NATIONAL_CORPUS") or DEFAULT_CORPUS)


@dataclass
class CitedDocument:
    """One cited file as the ingest pipeline would store it."""

    name: str
    key: str
    title: str
    short_title: str
    doc_type: str
    version: str
    paths: list[str]


@dataclass
class Verification:
    documents: dict[str, CitedDocument] = field(default_factory=dict)  # file name → document
    problems: list[str] = field(default_factory=list)


def files_by_name(root: Path) -> dict[str, list[Path]]:
    """Every document file under ``root`` by file name; some laws sit in two sections."""
    out: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*.md")):
        if p.is_file() and p.name not in SKIP_NAMES:
            out.setdefault(p.name, []).append(p)
    return out


def _series(name: str) -> str:
    """File name without its version date: 「妇女权益保障法(2022-10-30).md」 → 「妇女权益保障法」."""
    return _VERSION_SUFFIX.sub("", Path(name).stem)


def verify(questions: list[GoldQuestion], root: Path) -> Verification:
    """Parse only the cited files (and their other versions) and check every reference."""
    result = Verification()
    by_name = files_by_name(root)
    by_series: dict[str, list[str]] = {}
    for name in by_name:
        by_series.setdefault(_series(name), []).append(name)
    for name in sorted({a.doc for q in questions for a in q.answers}):
        paths = by_name.get(name)
        if not paths:
            result.problems.append(f"{name}: not in the corpus at {root}")
            continue
        # A law filed under two sections is one document to the index only if both copies get
        # the same key (the later copy then replaces the earlier); a label must hold in either.
        sources = [load(p) for p in paths]
        parsed = [prepare(s) for s in sources]
        if len({doc.key for doc, _c, _s in parsed}) > 1:
            result.problems.append(f"{name}: files of this name get different keys; the label is ambiguous")
            continue
        doc = parsed[0][0]
        common = set.intersection(*({c.path for c in chunks} for _d, chunks, _s in parsed))
        result.documents[name] = CitedDocument(name, doc.key, doc.title, doc.short_title, doc.doc_type,
                                               doc.version, [c.path for c in parsed[0][1] if c.path in common])
        for other in by_series.get(_series(name), []):
            if other == name:
                continue
            rival = load(by_name[other][0])
            if rival.meta.get("title") == sources[0].meta.get("title") and \
                    str(rival.meta.get("version") or "") > doc.version:
                result.problems.append(f"{name}: a newer version of this title is in the corpus ({other}); "
                                       "label the current one")
    for q in questions:
        if not q.answers:
            result.problems.append(f"{q.id}: no gold answer")
        for a in q.answers:
            cited = result.documents.get(a.doc)
            if cited and not any(path_matches(p, a.path) for p in cited.paths):
                result.problems.append(f"{q.id}: {cited.key} has no provision {a.path}")
    return result


def statute_names(documents: Iterable[CitedDocument]) -> set[str]:
    """Titles, short titles and the aliases of kb/resources/aliases.tsv (plus 行政X法 → X法)."""
    return {n for d in documents for n in aliases_for(d.title, d.short_title)}


def names_statute(query: str, names: set[str]) -> bool:
    return any(n in query for n in names)


def law_counts(questions: list[GoldQuestion], documents: dict[str, CitedDocument]) -> Counter[str]:
    """Questions per law (by title: the 民法典's parts count as one law), first answer's law."""
    return Counter(documents[q.answers[0].doc].title for q in questions if q.answers[0].doc in documents)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else corpus_dir()
    questions = load_gold("national")
    result = verify(questions, root)
    docs = result.documents
    names = statute_names(docs.values())
    named = [q for q in questions if names_statute(q.query, names)]
    titles = {d.title for d in docs.values()}
    print(f"{len(questions)} questions, {sum(len(q.answers) for q in questions)} references, "
          f"{len(titles)} laws and regulations ({len(docs)} files)")
    print("by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(q.kind for q in questions).items())))
    print("cited files by document type: " + ", ".join(
        f"{k} {n}" for k, n in sorted(Counter(d.doc_type for d in docs.values()).items())))
    print(f"without a statute name: {len(questions) - len(named)}/{len(questions)} "
          f"({1 - len(named) / max(len(questions), 1):.1%}); named: " + " / ".join(q.query for q in named))
    for title, n in law_counts(questions, docs).most_common():
        print(f"  {n:3d}  {title}")
    for p in result.problems:
        print(f"PROBLEM {p}")
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
