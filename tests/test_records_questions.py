"""The question bank: kb.quiz.model.Question stored and read back unchanged, imports all or
none, the review states (trainers and admins only, every change audited), flags when a source
provision changes, and quizzes assembled from approved questions only."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from kb.records.errors import AccessDenied, NotFound, StateError, ValidationError
from kb.records.models import AuditEntry, Operator, Question, Quiz
from kb.records.questions import flag_stale, get_question, list_questions, save_questions, set_state, to_model
from kb.records.quizzes import QuizSpec, create_quiz, eligible
from tests.test_records_fixtures import count, make_question, make_quiz, user

pytest_plugins = ["tests.test_records_fixtures"]
OP = Operator("ops")


def audit_actions(db, outcome="ok") -> list[tuple[str, str]]:
    with db.Session() as s:
        return [(e.action, e.target) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.outcome == outcome).order_by(AuditEntry.id))]


def test_questions_round_trip_exactly_and_start_as_drafts(world, clock):
    qs = [make_question(1), make_question(2, "multiple"), make_question(3, "judge"), make_question(4, "blank"),
          make_question(5, "scenario")]
    qs[0] = dataclasses.replace(qs[0], state="approved", flagged=True, author="trainer")  # state is not imported
    with world.Session() as s:
        trainer = user(s, "trainer")
        result = save_questions(s, trainer, qs, source="gen-2026-03", clock=clock)
        assert result.created == [q.id for q in qs] and not result.updated
    with world.Session() as s:
        for q in qs:
            back = to_model(get_question(s, q.id))
            assert back == dataclasses.replace(q, state="draft"), q.id
        assert get_question(s, "q-multiple-0002").sources[0]["text_hash"] == f"{2:064x}"
    assert audit_actions(world)[-1] == ("questions.save", "questions:gen-2026-03")


def test_save_again_updates_changed_questions_and_sends_approved_back_to_review(world, clock):
    with world.Session() as s:
        save_questions(s, OP, [make_question(i) for i in range(1, 4)], clock=clock)
        set_state(s, OP, ["q-single-0001", "q-single-0002"], "approved", clock=clock)
        changed = dataclasses.replace(make_question(1), stem="改过的题干")
        result = save_questions(s, OP, [changed, make_question(2), make_question(3), make_question(4)], clock=clock)
        assert (result.created, result.updated, result.unchanged) == (
            ["q-single-0004"], ["q-single-0001"], ["q-single-0002", "q-single-0003"])
        assert result.back_to_draft == ["q-single-0001"]
    with world.Session() as s:
        assert get_question(s, "q-single-0001").state == "draft"
        assert get_question(s, "q-single-0001").stem == "改过的题干"
        assert get_question(s, "q-single-0002").state == "approved"


def test_one_bad_question_saves_nothing_and_the_refusal_is_audited(world, clock):
    bad = [
        dataclasses.replace(make_question(2), id="q-2'; DROP TABLE questions;--"),
        dataclasses.replace(make_question(3), answer="E"),
        dataclasses.replace(make_question(4), qtype="essay"),
        dataclasses.replace(make_question(5), difficulty=7),
        dataclasses.replace(make_question(6), sources=[{"doc_key": "x"}]),
        make_question(1),  # a duplicate of the first good one
    ]
    with world.Session() as s, pytest.raises(ValidationError) as err:
        save_questions(s, OP, [make_question(1), *bad], clock=clock)
    message = str(err.value)
    assert "6 bad question(s), nothing saved" in message
    for part in ("question id", "does not name options", "essay", "difficulty", "lacks", "duplicate"):
        assert part in message, part
    with world.Session() as s:
        assert count(s, Question) == 0
    assert audit_actions(world, "refused")[-1] == ("questions.save", "questions:questions")


def test_sql_looking_text_is_stored_verbatim(world, clock):
    stem = "Robert'); DROP TABLE questions;-- 的处罚期限是（ ）"
    with world.Session() as s:
        save_questions(s, OP, [dataclasses.replace(make_question(1), stem=stem)], clock=clock)
    with world.Session() as s:
        assert get_question(s, "q-single-0001").stem == stem and count(s, Question) == 1


def test_review_states_and_their_audit(world, clock):
    with world.Session() as s:
        trainer = user(s, "trainer")
        save_questions(s, trainer, [make_question(i) for i in range(1, 4)], clock=clock)
        changed = set_state(s, trainer, ["q-single-0001", "q-single-0002"], "approved", clock=clock)
        assert [q.key for q in changed] == ["q-single-0001", "q-single-0002"]
        assert get_question(s, "q-single-0001").reviewed_by_id == trainer.id
        assert set_state(s, trainer, "q-single-0001", "approved", clock=clock) == []  # a repeated click
        set_state(s, trainer, "q-single-0001", "retired", clock=clock)
        with pytest.raises(StateError, match="retired→approved"):
            set_state(s, trainer, ["q-single-0001", "q-single-0003"], "approved", clock=clock)
        assert get_question(s, "q-single-0003").state == "draft"  # all or none
        with pytest.raises(NotFound, match="q-nope"):
            set_state(s, trainer, ["q-single-0003", "q-nope"], "approved", clock=clock)
        with pytest.raises(ValidationError, match="state 'published'"):
            set_state(s, trainer, "q-single-0003", "published", clock=clock)
        assert [q.key for q in list_questions(s, state="approved")] == ["q-single-0002"]
    ok = audit_actions(world)
    assert ("questions.approve", "question:q-single-0001") in ok
    assert ("questions.retire", "question:q-single-0001") in ok
    assert sum(a == "questions.approve" for a, _ in ok) == 2


def test_only_trainers_and_admins_edit_the_bank(world, clock):
    with world.Session() as s:
        save_questions(s, OP, [make_question(1)], clock=clock)
        for who in ("zhang.th", "coord.gz"):
            actor = user(s, who)
            with pytest.raises(AccessDenied, match=r"content\.manage"):
                save_questions(s, actor, [make_question(2)], clock=clock)
            with pytest.raises(AccessDenied):
                set_state(s, actor, "q-single-0001", "approved", clock=clock)
        assert get_question(s, "q-single-0001").state == "draft" and count(s, Question) == 1
    assert [a for a, _ in audit_actions(world, "refused")] == ["content.manage"] * 4


def test_a_changed_source_flags_its_questions_which_leave_new_quizzes_until_approved(bank, clock):
    with bank.Session() as s:
        current = {"行政处罚法@2021-01-22/第1条": "changed", "行政处罚法@2021-01-22/第2条": f"{2:064x}",
                   "行政处罚法@2021-01-22/第3条": None}
        assert flag_stale(s, OP, current, clock=clock) == ["q-single-0001", "q-single-0003"]
        assert flag_stale(s, OP, current, clock=clock) == []
        assert [q.key for q in list_questions(s, flagged=True)] == ["q-single-0001", "q-single-0003"]
        assert "q-single-0001" not in {q.key for q in eligible(s, QuizSpec("x", "x", fields=["市场监管"]))}
        with pytest.raises(ValidationError, match=r"only approved, unflagged.*q-single-0001 \(flagged\)"):
            create_quiz(s, OP, QuizSpec("F1", "x", question_keys=["q-single-0001"]), clock=clock)
        set_state(s, OP, "q-single-0001", "draft", clock=clock)
        set_state(s, OP, "q-single-0001", "approved", clock=clock)  # the trainer checked it again
        assert not get_question(s, "q-single-0001").flagged
    assert ("questions.flag", "questions:flag") in audit_actions(bank)


def test_random_quizzes_are_reproducible_by_seed_and_respect_the_filters(bank, clock):
    with bank.Session() as s:
        spec = dict(count=5, fields=["市场监管"], seed=42)
        a = create_quiz(s, OP, QuizSpec("R1", "随机一", **spec), clock=clock)
        b = create_quiz(s, OP, QuizSpec("R2", "随机二", **spec), clock=clock)
        assert [i.key for i in a.items] == [i.key for i in b.items] and len(a.items) == 5
        assert a.selection["seed"] == 42 and a.selection["pool"] == 20
        eco = create_quiz(s, OP, QuizSpec("R3", "生态", count=4, fields=["生态环境"], difficulty=3), clock=clock)
        assert sorted(i.key for i in eco.items) == [f"q-single-{i:04d}" for i in range(21, 25)]
        assert isinstance(eco.selection["seed"], int)  # chosen and recorded
        judge = create_quiz(s, OP, QuizSpec("R4", "判断", count=4, qtypes=["judge"], tags={"技能": ["法律适用"]}),
                            clock=clock)
        assert {i.qtype for i in judge.items} == {"judge"}
        with pytest.raises(ValidationError, match="only 4 approved questions match, 5 wanted"):
            create_quiz(s, OP, QuizSpec("R5", "x", count=5, fields=["生态环境"]), clock=clock)
        with pytest.raises(ValidationError, match=r"approved, unflagged.*q-single-0025 \(draft\)"):
            create_quiz(s, OP, QuizSpec("R6", "x", question_keys=["q-single-0001", "q-single-0025"]), clock=clock)
        with pytest.raises(ValidationError, match="already exists"):
            create_quiz(s, OP, QuizSpec("R1", "again", count=1), clock=clock)
        assert count(s, Quiz) == 4


def test_quiz_rules_are_checked(bank, clock):
    for rules, message in [
        (dict(pass_mark=101), "pass_mark"),
        (dict(credit_hours="-1"), "credit hours"),
        (dict(credit_hours="1.234"), "two decimals"),
        (dict(time_limit_minutes=0), "time limit"),
        (dict(max_attempts=True), "attempts allowed"),
        (dict(multiple_scoring="lenient"), "multiple_scoring"),
        (dict(code="Q1'; DROP TABLE quizzes;--"), "quiz code"),
    ]:
        with pytest.raises(ValidationError, match=message):
            make_quiz(bank, clock, **rules)
    with bank.Session() as s:
        assert count(s, Quiz) == 0


def test_a_quiz_keeps_its_copy_when_the_bank_changes(bank, clock):
    quiz = make_quiz(bank, clock)
    with bank.Session() as s:
        save_questions(s, OP, [dataclasses.replace(make_question(1), stem="新题干", answer="B")], clock=clock)
        stored = s.get(Quiz, quiz.id)
        assert stored.items[0].stem == "第1题（single）题干" and stored.items[0].answer == "A"
        assert get_question(s, "q-single-0001").state == "draft"

