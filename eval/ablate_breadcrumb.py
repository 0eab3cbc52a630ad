"""Build an index whose chunks are embedded without their breadcrumb, to measure what the
breadcrumb (law short name + 编/章/节 headings, see kb.chunking.embed_text) is worth.

    KB_DATA_DIR=/tmp/kb-nocrumb python -m eval.ablate_breadcrumb ../shared/corpus/sample
    KB_DATA_DIR=/tmp/kb-nocrumb python -m eval.ablate --gold sample --only "as configured"

The chunks, payloads and citations are the shipped ones; only the text handed to the
embedding model and to the sparse terms is the bare provision. The cache keys on that text,
so this never disturbs the shipped vectors.
"""

from __future__ import annotations

import argparse

import ingest.pipeline
from kb.config import load_settings
from kb.model import Chunk


def bare_text(chunk: Chunk) -> str:
    return chunk.text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    ingest.pipeline.embed_text = bare_text  # the one thing this experiment changes
    ingestor = ingest.pipeline.Ingestor(load_settings())
    try:
        report = ingestor.ingest(args.paths)
    finally:
        ingestor.close()
    print(f"{report.count('added')} added, {len(report.failed)} failed; embedded {ingestor.embedder.computed} passages")
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
