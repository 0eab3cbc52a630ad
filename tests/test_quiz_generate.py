"""The generator over a real store (small_kb: two laws, a regulation, a plan and a case).

The proof that every keyed answer is in its source is written here independently of
kb.quiz.validate: it reads each cited chunk back from the store and checks by plain
substring tests, so a bug shared by the generator and the validator cannot hide.
"""

from __future__ import annotations

import hashlib

import pytest

from kb.quiz.generate import generate_questions
from kb.quiz.model import QUESTION_TYPES
from kb.quiz.sentences import ITEM_MARK, item_text
from kb.quiz.stems import BLANK, CHOICE, judge_statement
from kb.store import open_store


@pytest.fixture(scope="module")
def generated(small_kb):
    store = open_store(small_kb)
    chunks = {m.payload["chunk_key"]: m.payload for m in store.scroll({"record": "chunk", "state": "live"})}
    report = generate_questions(store)
    store.close()
    return report, chunks


def test_every_keyed_answer_is_in_its_source(generated):
    report, chunks = generated
    assert len(report.questions) > 100
    for q in report.questions:
        assert q.qtype in QUESTION_TYPES and q.state == "draft"
        for ref in q.sources:
            text = chunks[ref.chunk_key]["text"]
            assert ref.text_hash == hashlib.sha256(text.encode()).hexdigest()
            assert ref.quote in text and ref.quote in q.explanation
            assert chunks[ref.chunk_key]["doc_key"] == ref.doc_key and chunks[ref.chunk_key]["path"] == ref.path
        quote = q.sources[0].quote
        doc_texts = [c["text"] for c in chunks.values() if c["doc_key"] == q.sources[0].doc_key]
        if q.qtype in {"blank", "single"}:
            key = q.answer if q.qtype == "blank" else q.options["ABCD".index(q.answer)]
            marker = BLANK if q.qtype == "blank" else CHOICE
            start = quote.index(key)
            assert quote[:start] + marker + quote[start + len(key):] in q.stem, q.stem
            assert key not in q.stem, q.stem
            for d in (o for o in q.options if o != key):
                filled = quote[:start] + d + quote[start + len(key):]
                assert d not in quote and not any(filled in t for t in doc_texts), (q.stem, d)
        elif q.qtype == "judge":
            statement = judge_statement(q.stem)
            if q.answer == "A":
                assert statement == quote
            else:
                assert statement != quote and not any(statement in t for t in doc_texts), q.stem
        elif q.qtype == "multiple":
            items = {item_text(line) for line in quote.split("\n") if ITEM_MARK.match(line.strip())}
            source_text = chunks[q.sources[0].chunk_key]["text"]
            for i, option in enumerate(q.options):
                if "ABCDE"[i] in q.answer:
                    assert option in items, (q.stem, option)
                else:
                    assert option not in items and option not in source_text, (q.stem, option)


def test_every_type_and_the_case_questions_are_made(generated):
    report, _chunks = generated
    assert set(report.by_type) == {"single", "multiple", "judge", "blank"}
    cases = [q for q in report.questions if q.stem.startswith("在“")]
    assert cases, "the case in small_kb cites articles; a which-provision question is expected"
    assert all(q.qtype == "single" and q.difficulty == 3 for q in cases)
    assert report.rejection_rate < 0.2


def test_tags_name_the_law_and_its_field(generated):
    report, chunks = generated
    for q in report.questions:
        short = chunks[q.sources[0].chunk_key]["short_title"]
        assert q.tags["法规"][0] == short
        assert q.tags["领域"] == ["综合"]  # small_kb holds cross-field laws only


def test_ids_are_stable_across_runs(small_kb, generated):
    report, _chunks = generated
    store = open_store(small_kb)
    again = generate_questions(store, doc_keys=["行政处罚法@2021-01-22"])
    store.close()
    ids = {q.id for q in report.questions if q.sources[0].doc_key == "行政处罚法@2021-01-22"}
    assert {q.id for q in again.questions} == ids
