"""Retrieval over real Qdrant Edge with the real e5 model (five sample documents)."""

from __future__ import annotations

import pytest
from llama_index.core.schema import QueryBundle

from kb.llama import KBRetriever
from kb.retrieve import Retriever


@pytest.fixture(scope="module")
def retriever(small_kb):
    r = Retriever(small_kb)
    yield r
    r.close()


def top(r, q, **kw):
    return [(h.short_title, h.path) for h in r.search(q, **kw).hits]


def test_explicit_references_resolve_by_lookup(retriever):
    assert top(retriever, "处罚法第三十三条")[0] == ("行政处罚法", "第三十三条")
    assert top(retriever, "《中华人民共和国行政强制法》第25条")[0] == ("行政强制法", "第二十五条")
    assert top(retriever, "行政处罚法第六十四条是怎么规定的")[0] == ("行政处罚法", "第六十四条")
    hit = retriever.search("强制法第二十五条").hits[0]
    assert hit.citation == "《中华人民共和国行政强制法》第二十五条" and hit.version == "2011-06-30"


def test_named_document_scopes_the_search(retriever):
    result = retriever.search("处罚法 听证", k=5)
    assert result.scoped_to and all(h.short_title == "行政处罚法" for h in result.hits)
    assert ("行政处罚法", "第六十三条") in [(h.short_title, h.path) for h in result.hits]


def test_semantic_questions(retriever):
    assert ("行政处罚法", "第六十八条") in top(retriever, "当场收缴罚款的情形", k=5)
    assert ("行政强制法", "第二十五条") in top(retriever, "查封扣押的期限最长多少天", k=5)
    plan = top(retriever, "执法人员每年培训学时要求", k=5)
    assert any(p == "二/（一）/2" for _t, p in plan)


def test_filters_by_doc_type(retriever):
    hits = retriever.search("行政协议解除", k=5, doc_types=["case"]).hits
    assert hits and all(h.doc_type == "case" for h in hits)
    assert all(h.doc_type == "plan" for h in retriever.search("培训", k=3, doc_types=["plan"]).hits)


def test_modes_and_bad_queries(retriever):
    for mode in ("dense", "sparse", "hybrid"):
        assert retriever.search("行政处罚的种类", k=3, mode=mode).hits
    assert retriever.search("   ").hits == []
    long = retriever.search("罚款" * 2500, k=3)  # a 5,000-character paste is cut, not an error
    assert len(long.query) == 500 and long.hits
    assert retriever.search("ＡＢＣ处罚法第３３条").hits[0].path == "第三十三条"
    assert retriever.search("what is 行政处罚 first-time violation 首违不罚", k=3).hits


def test_one_hit_per_provision(retriever):
    hits = retriever.search("行政处罚决定书应当载明的事项", k=10).hits
    keys = [(h.doc_key, h.path) for h in hits]
    assert len(keys) == len(set(keys))


def test_llama_index_retriever(retriever):
    nodes = KBRetriever(retriever, similarity_top_k=3).retrieve(QueryBundle("处罚法第三十三条"))
    assert nodes[0].node.metadata["citation"] == "《中华人民共和国行政处罚法》第三十三条"
    assert nodes[0].node.get_content().startswith("第三十三条")


def test_document_type_weights_from_settings_rerank(retriever, small_kb):
    """KB_DOC_TYPE_WEIGHTS scales fused scores by document type: the plan task that answers
    the training-hours question drops below the laws when plans weigh 0.01."""
    from dataclasses import replace

    question = "执法人员每年培训学时要求"
    assert retriever.search(question, k=1).hits[0].doc_type == "plan"
    weighted = Retriever(replace(small_kb, doc_type_weights="plan=0.01, case=0.5"), store=retriever.store)
    assert weighted.type_weights == {"plan": 0.01, "case": 0.5}
    assert weighted.search(question, k=5).hits[0].doc_type != "plan"
