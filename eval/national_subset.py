"""A national sub-corpus for ideas too costly to try on all 1,559 documents (part vectors).

Why: part vectors need every line of every chunk embedded — 107,539 passages for the national
corpus, hours on two cores. Their effect can be measured first on a subset that keeps the
competition that decides the national gold set: every document a gold question cites, plus
the documents that most often crowd into the current top 20 without being the answer, up to
a budget of line passages. The same subset is indexed with and without part vectors and
scored on the national gold set; only the difference between the two carries over, not the
absolute figures (a smaller haystack is easier).

    KB_DATA_DIR=/work/kb-national python -m eval.national_subset --budget 26000 \\
        --out /tmp/natsub.txt [--embed]

prints the choice and writes the chosen files, one path a line; ``--embed`` also fills the
configured embedding cache with their line passages, so both indexes then build from it:

    KB_DATA_DIR=/tmp/natsub-noparts KB_PART_VECTORS=false KB_EMBED_CACHE=/work/kb-national/embed_cache.sqlite \\
        xargs -d '\\n' -a /tmp/natsub.txt kb ingest -q
    KB_DATA_DIR=/tmp/natsub-parts KB_EMBED_CACHE=/work/kb-national/embed_cache.sqlite \\
        xargs -d '\\n' -a /tmp/natsub.txt kb ingest -q
    KB_DATA_DIR=/tmp/natsub-parts kb eval retrieval --gold national   # and the same for -noparts
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

from eval.gold import load_gold
from eval.retrieval import doc_keys_by_file
from kb.chunking import part_texts, stored_chunk
from kb.config import load_settings
from kb.embed import cached_embedder
from kb.retrieve import Retriever

DEPTH = 20  # a distractor counts each time it is in a gold question's top 20


def line_passages(retriever: Retriever) -> dict[str, list[str]]:
    """Each document's part passages, exactly as the pipeline would embed them."""
    out: dict[str, list[str]] = defaultdict(list)
    for m in retriever.store.scroll({"record": "chunk", "state": "live"}):
        out[m.payload["doc_key"]].extend(part_texts(stored_chunk(m.payload)))
    return out


def choose(retriever: Retriever, budget: int) -> tuple[list[str], set[str], Counter[str], dict[str, list[str]]]:
    """Gold documents first, then distractors by how often they crowd the top results."""
    gold = load_gold("national")
    keys = doc_keys_by_file(retriever)
    gold_docs = {keys[a.doc] for q in gold for a in q.answers if a.doc in keys}
    crowding: Counter[str] = Counter()
    for q in gold:
        crowding.update(h.doc_key for h in retriever.search(q.query, k=DEPTH).hits if h.doc_key not in gold_docs)
    passages = line_passages(retriever)
    chosen = sorted(gold_docs)
    used = sum(len(passages[d]) for d in chosen)
    for doc, _count in crowding.most_common():
        if used + len(passages[doc]) <= budget:
            chosen.append(doc)
            used += len(passages[doc])
    return chosen, gold_docs, crowding, passages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=int, default=26000, help="line passages the chosen documents may hold")
    ap.add_argument("--out", required=True, help="file to write the chosen source paths to")
    ap.add_argument("--embed", action="store_true", help="embed the chosen documents' line passages into the cache")
    args = ap.parse_args()
    settings = load_settings()
    retriever = Retriever(settings)
    chosen, gold_docs, crowding, passages = choose(retriever, args.budget)
    paths = {d.key: d.source_path for d in retriever.documents}
    retriever.close()
    covered = sum(crowding[d] for d in chosen)
    lines = sum(len(passages[d]) for d in chosen)
    print(f"{len(gold_docs)} gold documents + {len(chosen) - len(gold_docs)} distractors = {len(chosen)} of "
          f"{len(paths)} documents, {lines} line passages; the distractors hold {covered} of the "
          f"{sum(crowding.values())} non-answer places in the gold questions' top {DEPTH}")
    Path(args.out).write_text("\n".join(paths[d] for d in chosen) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.embed:
        embedder = cached_embedder(settings)
        embedder.embed_passages([t for d in chosen for t in passages[d]])
        print(f"embedded {embedder.computed} passages not yet in the cache")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
