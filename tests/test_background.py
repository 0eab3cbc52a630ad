"""The background index (kb.background): documents the knowledge base does not hold, searched
by the question's vector, as evidence for abstaining and as a hint where the answer lies.

A real background (tests/conftest.py ``background_dir``): three files of the national corpus
ingested into their own Edge store, one of them (行政处罚法) also held by the knowledge base,
so it must never count."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kb.answer import Answerer
from kb.answer.abstain import BACKGROUND_FEATURES, FEATURES, model
from kb.background import open_background
from kb.errors import ConfigError
from kb.retrieve import Retriever
from kb.store import StoredPoint, point_id
from kb.store.edge import EdgeStore

PARCELS = "快递企业违规收寄禁寄物品怎么处罚"


@pytest.fixture
def with_background(small_kb, background_dir):
    answerer = Answerer(replace(small_kb, background_dir=str(background_dir), llm_base_url=""))
    yield answerer
    answerer.retriever.close()


def test_documents_the_knowledge_base_holds_never_count(with_background):
    retriever = with_background.retriever
    held = {d.title for d in retriever.documents}
    assert "中华人民共和国行政处罚法" in held
    question = "行政处罚的种类有哪些"
    nearest = retriever.background_nearest(question, limit=3)
    assert nearest and all(m.title != "中华人民共和国行政处罚法" for m in nearest)
    assert len({m.title for m in nearest}) == len(nearest)  # one match per document
    # the same background, asked as if nothing were held, finds the law first: the filter did it
    everything = retriever.background.nearest(retriever.embed_query(question), set(), limit=3)
    assert everything[0].title == "中华人民共和国行政处罚法"


def test_a_question_about_a_law_we_do_not_hold_abstains_and_names_it(small_kb, with_background):
    # the same store, no background (one process may hold an Edge store once)
    plain = Answerer(replace(small_kb, llm_base_url=""), Retriever(small_kb, store=with_background.retriever.store))
    without = plain.answer(PARCELS)
    answer = with_background.answer(PARCELS)
    assert answer.abstained and answer.text.startswith("知识库中未找到相关依据")
    assert answer.confidence < without.confidence
    assert any("《快递暂行条例》" in n for n in answer.notes), answer.notes
    assert answer.related  # the nearest held provisions are still offered


def test_in_scope_questions_are_still_answered(with_background):
    for question in ("当场收缴罚款的情形有哪些", "查封扣押的期限最长多少天"):
        answer = with_background.answer(question)
        assert not answer.abstained, (question, answer.reason)
        assert not any("未收录" in n for n in answer.notes)


def test_chatter_gets_no_law_named(with_background):
    answer = with_background.answer("今天天气怎么样")
    assert answer.abstained
    assert not any("未收录" in n for n in answer.notes)


def test_the_background_model_is_the_one_fitted_with_its_feature():
    assert tuple(model(BACKGROUND_FEATURES)["features"]) == BACKGROUND_FEATURES
    assert tuple(model(FEATURES)["features"]) == FEATURES


def test_misconfigurations_are_clear_errors(small_kb, tmp_path):
    retriever = Retriever(replace(small_kb, background_dir=str(small_kb.data_dir)))
    try:
        with pytest.raises(ConfigError, match="自身的数据目录"):
            _ = retriever.background
    finally:
        retriever.close()
    with pytest.raises(ConfigError, match="没有索引"):
        open_background(replace(small_kb, background_dir=str(tmp_path / "nothing")), _embedder(small_kb))
    with pytest.raises(ConfigError, match="KB_QDRANT_URL"):
        open_background(replace(small_kb, background_collection="laws"), _embedder(small_kb))


def test_a_failed_background_check_leaves_the_store_free(small_kb, tmp_path):
    """The Answerer that opened the store closes it again, so the next one can open it."""
    with pytest.raises(ConfigError):
        Answerer(replace(small_kb, background_dir=str(tmp_path / "nothing")))
    Answerer(small_kb).retriever.close()


def test_a_background_embedded_by_another_model_is_refused(small_kb, tmp_path):
    """Its stored vector is not our embedding of its stored text: cosines would not compare."""
    embedder = _embedder(small_kb)
    store = EdgeStore(tmp_path / "other" / "qdrant")
    store.ensure_schema(embedder.dim)
    text, other = "第一条 为了加强互联网上网服务营业场所的管理，制定本条例。", "今天天气晴朗，适合出游。"
    payload = {"record": "chunk", "state": "live", "title": "某条例", "doc_key": "某条例", "path": "第一条",
               "breadcrumb": "某条例", "text": text, "start": 0, "end": len(text)}
    store.upsert([StoredPoint(point_id("x"), payload,
                              dense=embedder.embed_passages([f"某条例\n{other}"])[0].tolist())])
    store.close()
    with pytest.raises(ConfigError, match="另一个向量模型"):
        open_background(replace(small_kb, background_dir=str(tmp_path / "other")), embedder)


def test_a_background_on_the_server_path_finds_the_same(background_dir, small_kb, tmp_path):
    """The Background runs on qdrant-client's store as on Qdrant Edge (here its local mode: a
    Qdrant server with KB_BACKGROUND_COLLECTION takes the same code)."""
    from kb.background import Background
    from kb.store.client import ClientStore
    from kb.store.transfer import copy_store

    edge = EdgeStore(background_dir / "qdrant")
    client = ClientStore(f"local:{tmp_path / 'local'}", "background")
    try:
        copy_store(edge, client)
        vector = _embedder(small_kb).embed_query(PARCELS).tolist()
        held = {"中华人民共和国行政处罚法"}
        on_edge = Background(edge, "edge").nearest(vector, held)
        on_client = Background(client, "client").nearest(vector, held)
        assert [m.title for m in on_client] == [m.title for m in on_edge]
        assert on_client[0].title == "快递暂行条例"
        assert on_client[0].score == pytest.approx(on_edge[0].score, abs=1e-5)
    finally:
        client.close()
        edge.close()


def test_without_a_background_nothing_changes(small_kb):
    retriever = Retriever(small_kb)
    try:
        assert retriever.background is None
        assert retriever.background_nearest(PARCELS) == []
    finally:
        retriever.close()


def _embedder(settings):
    from kb.embed import load_embedder

    return load_embedder(settings)
