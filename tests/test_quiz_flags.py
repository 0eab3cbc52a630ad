"""Flagging after a real re-ingest: change one article of a copy of 行政强制法, ingest it
again (in place, and as a new version), and exactly the questions citing that article are
flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from kb.library import remove_document
from kb.quiz.flags import changed_sources, flag_changed
from kb.quiz.generate import generate_questions
from kb.quiz.model import Question
from kb.store import open_store
from tests.conftest import make_settings, sample

LAW = "law_xingzheng-qiangzhi-fa_2011.md"


def ingest(settings, *paths: Path) -> list[str]:
    ingestor = Ingestor(settings)
    report = ingestor.ingest(list(paths))
    ingestor.close()
    assert not report.failed, report.failed
    return [r.status for r in report.results]


def citing(questions: list[Question], path: str) -> set[str]:
    return {q.id for q in questions if any(ref.path == path for ref in q.sources)}


@pytest.fixture
def original(tmp_path):
    """A KB holding a copy of 行政强制法, and the questions generated from it."""
    settings = make_settings(tmp_path / "kb")
    law = tmp_path / "docs" / LAW
    law.parent.mkdir()
    law.write_text(sample(LAW).read_text(encoding="utf-8"), encoding="utf-8")
    assert ingest(settings, law) == ["added"]
    store = open_store(settings)
    questions = generate_questions(store).questions
    assert changed_sources(questions, store) == set()  # nothing changed yet
    store.close()
    return settings, law, questions


def test_rewording_one_article_flags_exactly_its_questions(original):
    settings, law, questions = original
    text = law.read_text(encoding="utf-8")
    reworded = text.replace("查封、扣押的期限不得超过三十日；", "查封、扣押的期限不得超过六十日；")
    assert reworded != text
    law.write_text(reworded, encoding="utf-8")
    assert ingest(settings, law) == ["replaced"]
    expected = citing(questions, "第二十五条")
    assert expected and len(expected) < len(questions)
    store = open_store(settings)
    assert changed_sources(questions, store) == expected
    flagged = flag_changed(questions, store)
    store.close()
    assert {q.id for q in flagged} == expected and all(q.flagged for q in flagged)
    assert not any(q.flagged for q in questions if q.id not in expected)


def test_a_new_version_is_compared_by_title_and_path(original, tmp_path):
    settings, law, questions = original
    text = law.read_text(encoding="utf-8")
    changed = (text.replace('promulgated: "2011-06-30"', 'promulgated: "2030-01-01"\nversion: "2030-01-01"')
               .replace("应当在二十四小时内向行政机关负责人报告", "应当在十二小时内向行政机关负责人报告"))
    assert changed != text
    newer = tmp_path / "docs" / "law_xingzheng-qiangzhi-fa_2030.md"
    newer.write_text(changed, encoding="utf-8")
    assert ingest(settings, newer) == ["added"]
    expected = citing(questions, "第十九条")
    assert expected
    store = open_store(settings)
    keys = {d.payload["doc_key"]: d.payload["status"] for d in store.scroll({"record": "document"})}
    assert keys == {"行政强制法@2011-06-30": "amended", "行政强制法@2030-01-01": "current"}
    # The old version is still there, unchanged: its questions are checked against the new one.
    assert changed_sources(questions, store) == expected
    remove_document(store, "行政强制法@2011-06-30")
    assert changed_sources(questions, store) == expected  # old key gone: matched by name + path
    remove_document(store, "行政强制法@2030-01-01")
    assert changed_sources(questions, store) == {q.id for q in questions}  # the law is gone
    store.close()
