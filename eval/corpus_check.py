"""Parse a whole corpus without embedding: exceptions, structure styles, and whether each
law-style file numbers its articles contiguously from 第一条.

    python -m eval.corpus_check ../shared/corpus/national [--list]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import time

from ingest.loaders import load
from ingest.pipeline import expand_paths, prepare
from kb.errors import KBError
from kb.numerals import label_number
from kb.structure import parse_structure, walk


def article_gaps(text: str, doc_type: str) -> tuple[str, list[str]]:
    """(style, problems): problems name the first break in the article numbering."""
    parsed = parse_structure(text, doc_type)
    numbers = [label_number(n.label) for n in walk(parsed.roots) if n.kind == "article"]
    main = [n for n, sub in numbers if sub == 0]
    problems = []
    if parsed.style == "law":
        if not main:
            problems.append("no articles")
        elif main[0] != 1:
            problems.append(f"starts at 第{main[0]}条")
        for a, b in itertools.pairwise(main):
            if b != a + 1:
                problems.append(f"第{a}条 → 第{b}条")
                break
    return parsed.style, problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--list", action="store_true", help="list every file with a numbering break")
    args = ap.parse_args()
    t0 = time.perf_counter()
    files = expand_paths(args.paths)
    styles: collections.Counter[str] = collections.Counter()
    failures, gaps, chunks = [], [], 0
    for f in files:
        try:
            src = load(f)
            doc, doc_chunks, _style = prepare(src)
        except KBError as exc:
            failures.append(str(exc))
            continue
        chunks += len(doc_chunks)
        style, problems = article_gaps(src.text, doc.doc_type)
        styles[style] += 1
        if problems and doc.doc_type in {"law", "regulation", "rule", "interpretation"}:
            gaps.append(f"{f}: {'; '.join(problems)}")
    print(f"{len(files)} files, {chunks} chunks, {time.perf_counter() - t0:.1f}s; styles {dict(styles)}")
    print(f"{len(failures)} failed to load/parse (reported, no exception escaped)")
    for line in failures:
        print("  FAILED", line)
    print(f"{len(gaps)} law-style files whose article numbers are not contiguous from 第一条")
    if args.list:
        for line in gaps:
            print("  ", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
