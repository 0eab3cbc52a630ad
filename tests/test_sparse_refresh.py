"""Sparse vectors are a function of the stored documents, not of the order or history of the
ingests that stored them (ingest.sparse_refresh, kb.sparse.add_terms)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.sparse_refresh import NameFinder
from kb.sparse import add_terms, taught_names, tokenize, use_names
from kb.store import open_store
from tests.conftest import EMBED_CACHE, ROOT, SAMPLE, make_settings, sample

# The case names 《城乡规划法》, a law that sorts (and so is ingested) after it.
CASE = "case_spc-xingzheng-xieyi-dianxing-anli-pi2_08-anhui-huaining.md"
LAW = "law_chengxiang-guihua-fa_2019.md"


def kb(data: Path, *args: str) -> subprocess.CompletedProcess:
    """`kb` in a fresh process: its tokenizer knows only what the store teaches it."""
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_EMBED_CACHE": str(EMBED_CACHE)}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def kb_ingest(data: Path, *files: str) -> subprocess.CompletedProcess:
    out = kb(data, "ingest", *(str(sample(f)) for f in files))
    assert out.returncode == 0, out.stderr
    return out


def sparse_by_point(data: Path) -> dict[str, tuple[list[int], list[float]]]:
    store = open_store(make_settings(data))
    try:
        return {p.id: (list(p.sparse[0]), list(p.sparse[1])) for batch in store.export() for p in batch
                if p.payload.get("record") == "chunk"}
    finally:
        store.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, tuple[list[int], list[float]]]:
    """Both documents in one run, the law first: every chunk cut knowing 城乡规划法."""
    if not SAMPLE.exists():
        pytest.skip(f"sample corpus not found at {SAMPLE}")
    data = tmp_path_factory.mktemp("law-first")
    out = kb_ingest(data, LAW, CASE)
    assert "re-tokenized" not in out.stdout  # every name was known before a chunk that holds it was cut
    return sparse_by_point(data)


def test_ingest_order_and_history_do_not_change_sparse_vectors(reference, tmp_path):
    case_first = tmp_path / "case-first"
    out = kb_ingest(case_first, CASE, LAW)
    assert re.search(r"^[1-9]\d? stored chunks re-tokenized", out.stdout, re.M), out.stdout  # the case's, a few
    assert sparse_by_point(case_first) == reference

    two_runs = tmp_path / "two-runs"
    kb_ingest(two_runs, CASE)
    kb_ingest(two_runs, LAW)
    assert sparse_by_point(two_runs) == reference


def test_a_run_killed_before_re_tokenizing_is_made_good_by_the_next(reference, tmp_path, monkeypatch):
    import ingest.pipeline as pipeline

    data = tmp_path / "killed"
    kb_ingest(data, CASE)

    ingestor = pipeline.Ingestor(make_settings(data))  # (its sync before the run finds nothing to do)

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "sync_sparse", killed)  # the run is killed once the law is stored
    with pytest.raises(KeyboardInterrupt):
        ingestor.ingest([sample(LAW)])
    ingestor.close()
    assert sparse_by_point(data) != reference  # the case's chunks were cut without the law's name

    out = kb_ingest(data, CASE, LAW)
    assert "2 unchanged" in out.stdout and "re-tokenized" in out.stdout
    assert sparse_by_point(data) == reference


def test_learning_and_forgetting_names_change_only_text_that_contains_them():
    text = "".join(p.read_text(encoding="utf-8")[:20000] for p in sorted(SAMPLE.glob("law_*.md")))
    if not text:
        pytest.skip(f"sample corpus not found at {SAMPLE}")
    taught = taught_names()
    before = tokenize(text)
    named = "依照测试专用第7号名称条例第三条处理"
    cut_unknown = tokenize(named)
    try:
        add_terms(f"测试专用第{i}号名称条例" for i in range(4000))  # more than the national corpus has
        assert tokenize(text) == before
        assert "测试专用第7号名称条例" in tokenize(named)
    finally:
        use_names(taught)
    assert tokenize(named) == cut_unknown and tokenize(text) == before


def test_removing_a_document_cuts_the_chunks_that_name_it_again(reference, tmp_path):
    alone = tmp_path / "case-alone"
    kb_ingest(alone, CASE)
    data = tmp_path / "both"
    kb_ingest(data, LAW, CASE)
    assert sparse_by_point(data) == reference
    out = kb(data, "remove", "城乡规划法")
    assert out.returncode == 0, out.stderr
    assert sparse_by_point(data) == sparse_by_point(alone)  # as if the law had never been there

    kb_ingest(data, CASE, LAW)  # and back, the case first this time
    assert sparse_by_point(data) == reference


def test_name_finder():
    finder = NameFinder(["城乡规划法", "城乡规划条例", "规划法", "法"])
    assert finder.occurs_in("违反《中华人民共和国城乡规划法》第四十条")
    assert finder.occurs_in("依照城乡规划条例")  # a name sharing its first characters with another
    assert finder.occurs_in("依照规划法")
    assert not finder.occurs_in("城乡规划")
    assert not finder.occurs_in("依法作出处罚决定")  # one-character names are ignored
    assert not NameFinder([])
