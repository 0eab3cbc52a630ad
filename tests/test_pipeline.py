"""Ingest end to end with the real model and real stores: idempotence, replacement,
bad files, duplicates, removal, versions, and an ingest killed half-way."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ingest.pipeline import Ingestor
from ingest.sparse_refresh import sync_sparse
from kb.library import document_text, list_documents, remove_document
from kb.retrieve import Retriever
from tests.conftest import ROOT, SAMPLE, make_settings, sample

LAW = "law_xingzheng-chufa-fa_2021.md"
REG = "reg_fakuan-jueding-yu-fakuan-shoujiao-fenli-shishi-banfa_1997.md"


def test_small_kb_chunks_match_document_text(small_kb):
    r = Retriever(small_kb)
    try:
        docs = {d.short_title: d for d in r.documents}
        assert docs["行政处罚法"].chunks == 86 and docs["行政处罚法"].status == "current"
        text = document_text(r.store, docs["行政处罚法"].key)
        for m in r.store.scroll({"record": "chunk", "doc_key": docs["行政处罚法"].key}):
            p = m.payload
            assert text[p["start"]:p["end"]] == p["text"]
            assert p["state"] == "live"
    finally:
        r.close()


def test_each_chunk_carries_its_vector_then_one_per_line(small_kb):
    """The ``parts`` multivector: row 0 is the chunk's own vector, then one row per 款/项
    line, each the embedding of that line under the breadcrumb."""
    from kb.chunking import part_texts, stored_chunk
    from kb.embed import cached_embedder

    r = Retriever(small_kb)
    try:
        assert r.store.has_parts
        points = [p for batch in r.store.export() for p in batch if p.payload.get("record") == "chunk"]
    finally:
        r.close()
    by_path = {(p.payload["short_title"], p.payload["path"]): p for p in points}
    art = by_path[("行政处罚法", "第三十三条")]  # three 款
    lines = [x for x in art.payload["text"].split("\n") if x.strip()]
    assert len(lines) == 3 and len(art.parts) == 4
    assert art.parts[0] == pytest.approx(art.dense, abs=1e-6)
    want = cached_embedder(small_kb).embed_passages(part_texts(stored_chunk(art.payload)))
    for row, vector in zip(art.parts[1:], want, strict=True):
        assert row == pytest.approx(vector.tolist(), abs=1e-3)  # the store normalises for cosine
    one_line = next(p for p in points if "\n" not in p.payload["text"].strip())
    assert len(one_line.parts) == 1


def test_part_vectors_off_makes_a_store_without_them(tmp_path):
    settings = make_settings(tmp_path, part_vectors=False)
    ing = Ingestor(settings)
    ing.ingest([sample(REG)])
    assert not ing.store.has_parts
    assert all(p.parts is None for batch in ing.store.export() for p in batch)
    ing.close()


def test_reingest_unchanged_is_skipped_without_embedding(tmp_path):
    settings = make_settings(tmp_path)
    first = Ingestor(settings)
    assert first.ingest([sample(REG)]).count("added") == 1
    first.close()
    again = Ingestor(settings)
    report = again.ingest([sample(REG)])
    again.close()
    assert report.count("unchanged") == 1 and again.embedder.computed == 0


def test_changed_document_replaces_its_chunks(tmp_path):
    settings = make_settings(tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    copy = src / REG
    shutil.copy(sample(REG), copy)
    ing = Ingestor(settings)
    ing.ingest([copy])
    before = ing.store.count({"record": "chunk"})
    text = copy.read_text(encoding="utf-8")
    assert "第三条" in text
    changed = text.replace("第三条 ", "第三条 （本条已由本地修改，用于测试）", 1)
    copy.write_text(changed, encoding="utf-8")
    report = ing.ingest([copy])
    assert report.results[0].status == "replaced"
    assert ing.store.count({"record": "chunk"}) == before
    new = [m.payload["text"] for m in ing.store.scroll({"record": "chunk", "path": "第三条"})]
    assert len(new) == 1 and "本地修改" in new[0]
    assert ing.store.count({"record": "chunk", "state": "staged"}) == 0
    ing.close()


def test_bad_files_fail_alone_with_a_clear_message(tmp_path):
    settings = make_settings(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "junk.pdf").write_bytes(b"%PDF-1.4\n garbage \x00\x01\x02")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (bad / "latin.txt").write_bytes("Ceci n'est pas un texte chinois. ".encode("cp1252") * 3 + b"\x81\x8d\x8f")
    (bad / "nostructure.md").write_text("# 标题\n\n", encoding="utf-8")
    shutil.copy(sample(REG), bad / REG)
    ing = Ingestor(settings)
    report = ing.ingest([bad])
    ing.close()
    status = {os.path.basename(r.path): r.status for r in report.results}
    assert status[REG] == "added"
    failed = {os.path.basename(r.path): r.message for r in report.failed}
    assert {"empty.txt", "junk.pdf", "binary.txt"} <= set(failed)
    for name, message in failed.items():
        assert name in message and "\n" not in message


def test_duplicate_content_under_another_name_is_refused(tmp_path):
    settings = make_settings(tmp_path)
    twin = tmp_path / "twin.md"
    shutil.copy(sample(REG), twin)
    ing = Ingestor(settings)
    ing.ingest([sample(REG)])
    report = ing.ingest([twin])
    ing.close()
    assert report.results[0].status in {"failed", "unchanged"}
    if report.results[0].status == "failed":
        assert "same content" in report.results[0].message


def test_remove_document(tmp_path):
    settings = make_settings(tmp_path)
    ing = Ingestor(settings)
    ing.ingest([sample(REG)])
    key = list_documents(ing.store)[0].key
    assert remove_document(ing.store, key) == 17
    sync_sparse(ing.store)  # as `kb remove` and the admin page do: the names it took go too
    assert ing.store.count() == 0
    ing.close()


def test_two_versions_current_preferred_and_labelled(tmp_path):
    settings = make_settings(tmp_path)
    text = sample(REG).read_text(encoding="utf-8")
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text(text.replace('promulgated: "1997-11-17"', 'promulgated: "1990-01-01"')
                   .replace("1997年11月17日", "1990年1月1日"), encoding="utf-8")
    new.write_text(text.replace("第十七条 ", "第十七条 （新版）", 1), encoding="utf-8")
    assert old.read_text(encoding="utf-8") != text
    ing = Ingestor(settings)
    report = ing.ingest([old, new])
    ing.close()
    assert report.count("added") == 2, [r.message for r in report.results]
    r = Retriever(settings)
    try:
        statuses = {d.version: d.status for d in r.documents}
        assert statuses == {"1990-01-01": "amended", "1997-11-17": "current"}
        hits = r.search("罚款决定与罚款收缴分离", k=4).hits
        assert hits[0].status == "current"
        ref = r.search("罚款决定与罚款收缴分离实施办法第十七条").hits
        assert ref[0].version == "1997-11-17" and "新版" in ref[0].text
    finally:
        r.close()


@pytest.mark.slow
def test_killed_ingest_leaves_a_consistent_resumable_store(tmp_path):
    """SIGKILL a real `kb ingest` mid-way, then rerun it: every document is whole."""
    if not SAMPLE.exists():
        pytest.skip("sample corpus missing")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (REG, "law_xingzheng-qiangzhi-fa_2011.md", LAW):
        shutil.copy(SAMPLE / name, corpus / name)
    env = {**os.environ, "KB_DATA_DIR": str(tmp_path / "data"), "KB_EMBED_CACHE": str(tmp_path / "cache.sqlite")}
    kb = [sys.executable, "-m", "kb.cli", "ingest", "-q", str(corpus)]
    proc = subprocess.Popen(kb, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline:  # kill once the second document is being embedded
        time.sleep(0.5)
        try:
            with sqlite3.connect(tmp_path / "cache.sqlite", timeout=5) as conn:
                n = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
        except sqlite3.Error:
            n = 0
        if n >= 17 + 30 or proc.poll() is not None:
            break
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = subprocess.run(kb, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "3 failed" not in done.stdout
    settings = make_settings(tmp_path / "data", embed_cache=str(tmp_path / "cache.sqlite"))
    r = Retriever(settings)
    try:
        docs = {d.short_title: d.chunks for d in r.documents}
        assert docs == {"罚款决定与罚款收缴分离实施办法": 17, "行政强制法": 71, "行政处罚法": 86}
        assert r.store.count({"record": "chunk", "state": "live"}) == 17 + 71 + 86
        assert r.store.count({"record": "chunk"}) == 17 + 71 + 86  # nothing staged or stale is left
    finally:
        r.close()
