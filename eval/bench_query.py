"""Query latency of `kb search`'s retrieval (query embedding included) over an index.

    KB_DATA_DIR=/path/to/index python -m eval.bench_query [--gold sample] [--repeat 3]

Runs every gold question through Retriever.search twice: first as a new question (the query
vector is computed, as for an officer's first ask) and then again (the vector is memoised, so
only the store query is timed). Prints p50/p95/p99 of both, the embedding alone, and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from eval.gold import load_gold
from kb.config import load_settings
from kb.retrieve import Retriever


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default="sample")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("-k", type=int, default=5)
    args = ap.parse_args()
    settings = load_settings()
    t0 = time.perf_counter()
    retriever = Retriever(settings)
    opened = time.perf_counter() - t0
    chunks = retriever.store.count({"record": "chunk", "state": "live"})
    queries = [q.query for q in load_gold(args.gold)]
    retriever.search(queries[0], k=args.k)  # warm-up: first query loads lazy state
    first: list[float] = []  # a new question: query embedding + store query
    again: list[float] = []  # the same question again: memoised vector, store query alone
    embed: list[float] = []
    for _ in range(args.repeat):
        for q in queries:
            retriever._query_cache.clear()
            t = time.perf_counter()
            retriever.search(q, k=args.k)
            first.append(time.perf_counter() - t)
            t = time.perf_counter()
            retriever.search(q, k=args.k)
            again.append(time.perf_counter() - t)
            retriever._query_cache.clear()
            t = time.perf_counter()
            retriever.embed_query(q)
            embed.append(time.perf_counter() - t)
    ms = [x * 1000 for x in first]
    warm = [x * 1000 for x in again]
    ems = [x * 1000 for x in embed]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine = getattr(retriever.embedder, "engine", retriever.embedder.name)
    print(f"index: {settings.data_dir} — {len(retriever.documents)} documents, {chunks} chunks "
          f"(opened in {opened:.1f}s); embedding engine: {engine}")
    print(f"{len(ms)} searches (k={args.k}), query embedding included: p50 {percentile(ms, 50):.1f} ms, "
          f"p95 {percentile(ms, 95):.1f} ms, p99 {percentile(ms, 99):.1f} ms, mean {statistics.mean(ms):.1f} ms")
    print(f"  query embedding alone: p50 {percentile(ems, 50):.1f} ms, p95 {percentile(ems, 95):.1f} ms")
    print(f"  same question again (vector memoised, store query alone): p50 {percentile(warm, 50):.1f} ms, "
          f"p95 {percentile(warm, 95):.1f} ms, p99 {percentile(warm, 99):.1f} ms")
    print(f"peak RSS {rss:.0f} MiB")
    retriever.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
