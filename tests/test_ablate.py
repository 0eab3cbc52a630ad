"""The ablation harness (eval/ablate.py) and the ranking priors it switches, on the real
small sample index: each switch must change the ranking the way it says, and be put back."""

from __future__ import annotations

from eval.ablate import AblationRetriever, Idea, applied, cross_validated, mine_definitions, ranks
from eval.gold import load_gold
from eval.retrieval import doc_keys_by_file, evaluate
from kb.sparse import term_id
from tests.conftest import national


def _law_questions(retriever: AblationRetriever, n: int = 12):
    keys = doc_keys_by_file(retriever)
    return [q for q in load_gold("sample") if all(a.doc in keys for a in q.answers)
            and q.answers[0].doc.startswith("law_") and q.kind != "reference"][:n]


def test_configured_row_is_the_shipped_retriever(small_kb):
    r = AblationRetriever(small_kb)
    try:
        questions = _law_questions(r)
        keys = doc_keys_by_file(r)
        shipped = evaluate(r, questions, depth=20, modes=("hybrid",), baseline=False)[0]
        row = cross_validated(r, Idea("as configured", [{}]), questions, keys, seed=1, log=lambda _: None)
        assert row.ranks == shipped.ranks
        assert sum(1 for x in row.ranks if x) >= len(questions) // 2
    finally:
        r.close()


def test_type_prior_moves_laws_down_and_is_restored(small_kb):
    r = AblationRetriever(small_kb)
    try:
        questions = _law_questions(r)
        keys = doc_keys_by_file(r)
        before = ranks(r, questions, keys)
        with applied(r, {"type_weights": {"law": 0.01}}):
            after = ranks(r, questions, keys)
        assert r.type_weights == {}
        assert ranks(r, questions, keys) == before
        # Every law hit now scores below every other document's, so law answers sink.
        found_before = [b for b in before if b]
        found_after = [a for a in after if a]
        assert sum(found_after) / max(len(found_after), 1) > sum(found_before) / len(found_before)
    finally:
        r.close()


def test_tuned_idea_reports_a_held_out_rank_for_every_question(small_kb):
    r = AblationRetriever(small_kb)
    chosen: list[str] = []
    try:
        questions = _law_questions(r, 10)
        keys = doc_keys_by_file(r)
        idea = Idea("document voting", [{"vote_weight": 0.0}, {"vote_weight": 50.0}])
        row = cross_validated(r, idea, questions, keys, seed=3, log=chosen.append)
        assert len(row.ranks) == len(questions)
        assert len(chosen) == 2  # one choice per fold
        assert r.vote_weight == 0.0
        with applied(r, {"prf_weight": 0.5, "prf_terms": 10}):
            assert len(ranks(r, questions, keys)) == len(questions)
    finally:
        r.close()


def test_definitions_are_mined_from_real_statute_text():
    text = national("行政法规/保障农民工工资支付条例(2019-12-30).md").read_text(encoding="utf-8")
    found = mine_definitions([text])
    defined = {i for ids, _ in found for i in ids}
    assert term_id("农民工") in defined
    words = next(words for ids, words in found if term_id("农民工") in ids)
    assert {"农村", "劳动"} & words  # 「为用人单位提供劳动的农村居民」


def test_document_routing_uses_one_centroid_per_document(small_kb):
    r = AblationRetriever(small_kb)
    try:
        keys, matrix = r.centroids()
        assert sorted(keys) == sorted(d.key for d in r.documents)
        assert matrix.shape == (len(keys), r.embedder.dim)
        questions = _law_questions(r, 8)
        doc_keys = doc_keys_by_file(r)
        checked = 0
        with applied(r, {"route_weight": 100.0, "route_docs": 1}):
            for q in questions:
                hits = r.search(q.query, k=5).hits
                routed = r._routed()
                # With an overwhelming weight the single routed document's provisions lead.
                if any(h.doc_key in routed for h in hits):
                    assert hits[0].doc_key in routed
                    checked += 1
        assert checked >= len(questions) // 2
        assert r.route_weight == 0.0 and len(ranks(r, questions, doc_keys)) == len(questions)
    finally:
        r.close()
