"""Re-ingesting a changed law through `kb ingest` flags exactly the questions citing the
changed provision (the trainers see them in 题库审核), and `kb remove` flags the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.cli import main
from tests.conftest import EMBED_CACHE, make_settings, sample

REG = "reg_fakuan-jueding-yu-fakuan-shoujiao-fenli-shishi-banfa_1997.md"
CHANGED = ("罚款必须全部上缴国库", "罚款必须全部及时上缴国库")


@pytest.fixture
def kb_with_questions(tmp_path, monkeypatch):
    from kb.quiz.generate import generate_questions
    from kb.records.db import session_factory
    from kb.records.models import Operator
    from kb.records.questions import save_questions, set_state
    from kb.store import open_store

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KB_EMBED_CACHE", str(EMBED_CACHE))
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    assert main(["ingest", "-q", str(sample(REG))]) == 0
    settings = make_settings(tmp_path)
    store = open_store(settings)
    try:
        questions = generate_questions(store).questions
    finally:
        store.close()
    op = Operator(name="test")
    with session_factory(settings)() as s:
        save_questions(s, op, questions, source="test")
        set_state(s, op, [q.id for q in questions], "approved")
    return tmp_path, questions


def _flagged(tmp_path) -> set[str]:
    from kb.records.db import session_factory
    from kb.records.models import Question

    with session_factory(make_settings(tmp_path))() as s:
        return set(s.scalars(select(Question.key).where(Question.flagged.is_(True))))


def test_reingesting_a_changed_article_flags_exactly_its_questions(kb_with_questions, tmp_path_factory, capsys):
    data, questions = kb_with_questions
    text = sample(REG).read_text(encoding="utf-8")
    assert text.count(CHANGED[0]) == 1
    copy = tmp_path_factory.mktemp("changed") / REG
    copy.write_text(text.replace(*CHANGED), encoding="utf-8")
    assert main(["ingest", str(copy)]) == 0
    assert "flagged for review" in capsys.readouterr().out
    flagged = _flagged(data)
    assert flagged and flagged <= {q.id for q in questions}
    changed_paths = {s.path for q in questions if q.id in flagged for s in q.sources}
    assert len(changed_paths) == 1, changed_paths  # one article changed: only its questions
    assert flagged == {q.id for q in questions if any(s.path in changed_paths for s in q.sources)}


def test_removing_a_document_flags_every_question_citing_it(kb_with_questions):
    data, questions = kb_with_questions
    assert main(["remove", "罚款决定与罚款收缴分离实施办法"]) == 0
    assert _flagged(data) == {q.id for q in questions}
