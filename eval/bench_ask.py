"""Latency of `kb ask` in extractive mode over an index.

    KB_DATA_DIR=/path/to/index python -m eval.bench_ask [--gold sample] [--repeat 2]

`kb ask` does more than `kb search` (eval/bench_query.py): a second dense search to judge
whether to abstain, sentence scoring and version notes. An officer waits for all of it, so
this times Answerer.answer end to end over the in-scope and out-of-scope gold questions
(abstentions are answers too) after a warm-up, and prints p50/p95/p99 overall and per mode.
The LLM is switched off: its latency is the endpoint's, not ours.

The retriever memoises query vectors (the last 256), so each question is asked ``--repeat``
times in a row: the first ask embeds it, the next ones are the officer asking again (the app
re-runs the last question often). The two are reported apart (mixed, the p50 would be the
cached case and hide what a new question costs), with the time spent embedding the query.
(Asked pass by pass instead, the 376 gold questions would push each other out of the memo.)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

from eval.bench_query import percentile
from eval.gold import load_gold
from kb.answer import Answerer
from kb.config import load_settings

WARM_UP = "行政机关实施行政强制应当遵循什么原则"


def _time_embedding(answerer: Answerer) -> list[float]:
    """Wrap the retriever's (memoised) embed_query on this instance; returns the list it fills."""
    spent: list[float] = []
    inner: Callable[[str], list[float]] = answerer.retriever.embed_query

    def timed(text: str) -> list[float]:
        t = time.perf_counter()
        try:
            return inner(text)
        finally:
            spent.append((time.perf_counter() - t) * 1000)

    answerer.retriever.embed_query = timed  # type: ignore[method-assign]
    return spent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default="sample")
    ap.add_argument("--out-of-scope", default="out_of_scope")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    settings = replace(load_settings(), llm_base_url="")
    t0 = time.perf_counter()
    answerer = Answerer(settings)
    opened = time.perf_counter() - t0
    queries = [q.query for q in load_gold(args.gold) + load_gold(args.out_of_scope)]
    t = time.perf_counter()
    answerer.answer(WARM_UP)  # loads the model and lazy state; not a gold question, so not cached
    warm = time.perf_counter() - t
    embed_ms = _time_embedding(answerer)
    ms: list[float] = []
    by_pass: dict[str, list[float]] = defaultdict(list)
    by_mode: dict[str, list[float]] = defaultdict(list)
    embedding: dict[str, list[float]] = defaultdict(list)
    for q in queries:
        for i in range(args.repeat):
            label = "first ask" if i == 0 else "asked again"
            embed_ms.clear()
            t = time.perf_counter()
            a = answerer.answer(q)
            elapsed = (time.perf_counter() - t) * 1000
            ms.append(elapsed)
            by_pass[label].append(elapsed)
            embedding[label].append(sum(embed_ms))
            by_mode["abstained" if a.abstained else a.mode].append(elapsed)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"index: {settings.data_dir} — {len(answerer.retriever.documents)} documents (opened in {opened:.1f}s, "
          f"first answer {warm:.1f}s)")
    print(f"{len(ms)} answers ({len(queries)} questions x {args.repeat}, extractive): p50 {percentile(ms, 50):.0f} ms, "
          f"p95 {percentile(ms, 95):.0f} ms, p99 {percentile(ms, 99):.0f} ms, mean {statistics.mean(ms):.0f} ms")
    for label, values in by_pass.items():
        emb = embedding[label]
        print(f"  {label:11} n={len(values):4}: p50 {percentile(values, 50):.0f} ms, "
              f"p95 {percentile(values, 95):.0f} ms; of which query embedding p50 {percentile(emb, 50):.0f} ms, "
              f"p95 {percentile(emb, 95):.0f} ms")
    for mode, values in sorted(by_mode.items()):
        print(f"  {mode:11} n={len(values):4}: p50 {percentile(values, 50):.0f} ms, "
              f"p95 {percentile(values, 95):.0f} ms")
    print(f"peak RSS {rss:.0f} MiB")
    answerer.retriever.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
