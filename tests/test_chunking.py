"""Chunks: one per article / plan task / case section, verbatim, with breadcrumbs."""

from __future__ import annotations

import glob

import pytest

from ingest.loaders import load
from ingest.pipeline import prepare
from kb.chunking import MAX_CHARS, chunk_document
from kb.citation import render_path
from kb.structure import parse_structure
from tests.conftest import SAMPLE, sample


def test_every_sample_chunk_is_a_verbatim_slice():
    files = sorted(glob.glob(str(SAMPLE / "*.md")))
    if not files:
        pytest.skip("sample corpus missing")
    for f in files:
        src = load(f)
        _doc, chunks, _style = prepare(src)
        assert chunks, f
        for c in chunks:
            assert src.text[c.start:c.end] == c.text
            assert c.text.strip()


def test_law_chunk_per_article_with_breadcrumb():
    src = load(sample("law_xingzheng-chufa-fa_2021.md"))
    doc, chunks, _ = prepare(src)
    by_path = {c.path: c for c in chunks if c.part in (0, 1)}
    assert len({c.path for c in chunks}) == 86
    c64 = by_path["第六十四条"]
    assert c64.breadcrumb == "《行政处罚法》 第五章 行政处罚的决定 第四节 听证程序 第六十四条"
    assert c64.text.startswith("第六十四条")
    assert c64.key == f"{doc.key}/第六十四条" or c64.key.startswith(f"{doc.key}/第六十四条#")


def test_long_article_splits_at_paragraphs_and_keeps_label():
    text = "某法\n第一条 " + "甲" * 300 + "。\n" + "乙" * 300 + "。\n" + "丙" * 300 + "。"
    parsed = parse_structure(text, "law")
    chunks = chunk_document("某法@x", "某法", text, parsed, max_chars=MAX_CHARS)
    assert [c.part for c in chunks] == [1, 2, 3]
    assert all(c.path == "第一条" for c in chunks)
    assert chunks[0].text.startswith("第一条")
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    joined = "".join(text[c.start:c.end] for c in chunks).replace("\n", "")
    assert joined == text[text.index("第一条"):].replace("\n", "")


def test_plan_chunks_are_tasks():
    src = load(sample("plan_liaozhengbanfa-2023-18_tisheng-xingzheng-zhifa-zhiliang.md"))
    _doc, chunks, style = prepare(src)
    assert style == "outline"
    paths = [c.path for c in chunks]
    assert "二/（一）/2" in paths and "一/（二）" in paths
    task = next(c for c in chunks if c.path == "二/（一）/2")
    assert "60学时" in task.text
    assert task.attrs["责任单位"].startswith("省司法厅")
    assert render_path(task.path) == "二、（一）2."


def test_render_path():
    assert render_path("第三十三条", 2) == "第三十三条第二款"
    assert render_path("基本案情") == "基本案情"
