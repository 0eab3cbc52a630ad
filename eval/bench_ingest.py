"""Ingest benchmark: throughput, where the time goes, and the cost of an unchanged re-ingest.

    python -m eval.bench_ingest ../shared/corpus/sample [--cache FILE] [--keep DIR]

A fresh data folder (and, unless --cache is given, a fresh embedding cache) is used so the
first pass embeds everything; the second pass over the same files must skip them all.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ingest.pipeline import Ingestor
from kb.config import load_settings


def run(paths: list[str], data_dir: Path, cache: str) -> None:
    settings = load_settings(data_dir=data_dir, embed_cache=cache)
    t0 = time.perf_counter()
    ing = Ingestor(settings)
    setup = time.perf_counter() - t0
    report = ing.ingest(paths)
    total = time.perf_counter() - t0
    chunks = sum(r.chunks for r in report.results)
    embed = sum(r.embed_seconds for r in report.results)
    computed = ing.embedder.computed
    ing.close()
    print(f"first ingest: {len(report.results)} files, {chunks} chunks ({computed} embedded) in {total:.1f}s "
          f"(model+store setup {setup:.1f}s)")
    print(f"  throughput: {chunks / total:.1f} chunks/s overall; embedding {embed:.1f}s "
          f"({computed / embed if embed else 0:.1f} passages/s)")
    print(f"  time outside embedding: {total - embed:.1f}s = {(total - embed) / total:.1%} of the run")
    t1 = time.perf_counter()
    again = Ingestor(settings)
    report2 = again.ingest(paths)
    again.close()
    second = time.perf_counter() - t1
    print(f"re-ingest unchanged: {report2.count('unchanged')}/{len(report2.results)} skipped in {second:.2f}s "
          f"({again.embedder.computed} passages embedded)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--cache", help="embedding cache file (default: a fresh one, so everything is embedded)")
    ap.add_argument("--keep", help="data folder to keep instead of a temporary one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.keep) if args.keep else Path(tmp) / "data"
        run(args.paths, data, args.cache or str(Path(tmp) / "cache.sqlite"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
