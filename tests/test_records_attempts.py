"""Taking quizzes: start (or resume), save answers as you go, submit, grade, credit once; the
time limit with its grace; results with explanations and citations only after submission;
the best attempt counts; bad input refused with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from kb.records import ledger
from kb.records.attempts import (
    GRACE,
    attempt_result,
    attempts_left,
    best_attempt,
    cite,
    questions,
    save_answers,
    start_attempt,
    submit_attempt,
)
from kb.records.errors import AccessDenied, NotInAttempt, StateError, TimeLimitExceeded, ValidationError
from kb.records.models import Attempt, AttemptAnswer, AuditEntry, LedgerEntry, Operator
from kb.records.quizzes import set_active
from tests.test_records_fixtures import RIGHT, WRONG, count, make_quiz, user

pytest_plugins = ["tests.test_records_fixtures"]


def test_take_a_quiz_from_start_to_results(bank, clock):
    make_quiz(bank, clock, credit_hours="2.5", time_limit_minutes=30)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        attempt = start_attempt(s, me, "Q1", clock=clock)
        assert attempt.deadline == clock.now.replace(minute=30) and attempt.number == 1
        view = questions(s, me, attempt.id)
        assert [v.key for v in view] == list(RIGHT) and view[0].options[0] == "十五日"
        assert not hasattr(view[0], "answer")
        clock.advance(minutes=5)
        save_answers(s, me, attempt.id, {"q-single-0001": "a", "q-judge-0013": "对"}, clock=clock)
        save_answers(s, me, attempt.id, {"q-single-0001": "Ａ"}, clock=clock)  # changed mind, full-width
        assert start_attempt(s, me, "Q1", clock=clock).id == attempt.id  # a second tab resumes it
        assert [v.response for v in questions(s, me, attempt.id)] == ["A", "", "", "A", ""]
        with pytest.raises(StateError, match="after submission"):
            attempt_result(s, me, attempt.id)
        clock.advance(minutes=10)
        done = submit_attempt(s, me, attempt.id, {"q-single-0002": "A", "q-multiple-0009": "CA",
                                                  "q-blank-0017": "十五日"}, clock=clock)
        assert not done.already_submitted
        assert (done.attempt.score, done.attempt.max_score, done.attempt.percent, done.attempt.passed) == (
            5.0, 5.0, 100.0, True)
        assert done.credit.hours == Decimal("2.50") and done.credit.kind == "quiz" and done.credit.year == 2026
        result = attempt_result(s, me, attempt.id)
        first = result.items[0]
        assert (first.response, first.answer, first.correct) == ("A", "A", True)
        assert first.explanation == "依据「第1条的原文」"
        assert first.citations == ("《行政处罚法》第1条（2021-01-22）「第1条的原文」",)
        assert first.sources[0]["chunk_key"] == "行政处罚法@2021-01-22/第1条"
        assert result.credited_hours == "2.50"
        # the coordinator of the officer's unit may see the results too
        assert attempt_result(s, user(s, "coord.gz"), attempt.id).attempt.id == attempt.id
        assert ledger.total_hours(s, me.id, 2026) == Decimal("2.50")
    with bank.Session() as s:
        credit = s.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.credit"))
        assert credit.target == "user:zhang.th" and credit.detail["quiz"] == "Q1" and credit.detail["hours"] == "2.50"


def test_failing_credits_nothing_and_the_best_attempt_counts(bank, clock):
    make_quiz(bank, clock, pass_mark=80, max_attempts=3)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        first = submit_attempt(s, me, start_attempt(s, me, "Q1", clock=clock).id, WRONG, clock=clock)
        assert first.attempt.passed is False and first.credit is None and first.attempt.percent == 0.0
        clock.advance(days=1)
        almost = dict(RIGHT, **{"q-blank-0017": "三十日"})
        second = submit_attempt(s, me, start_attempt(s, me, "Q1", clock=clock).id, almost, clock=clock)
        assert second.attempt.percent == 80.0 and second.attempt.passed and second.credit is not None
        clock.advance(days=1)
        third = submit_attempt(s, me, start_attempt(s, me, "Q1", clock=clock).id, RIGHT, clock=clock)
        assert third.attempt.percent == 100.0 and third.credit is None  # credited once a year
        quiz_id = third.attempt.quiz_id
        assert best_attempt(s, me.id, quiz_id).id == third.attempt.id
        assert attempts_left(s, me.id, third.attempt.quiz) == 0
        with pytest.raises(StateError, match="all 3 attempts at Q1 are used"):
            start_attempt(s, me, "Q1", clock=clock)
        assert count(s, LedgerEntry) == 1


def test_partial_credit_for_multiple_choice_is_set_per_quiz(bank, clock):
    make_quiz(bank, clock, code="ALL")
    make_quiz(bank, clock, code="PART", multiple_scoring="partial")
    with bank.Session() as s:
        me = user(s, "zhang.th")
        answers = dict(RIGHT, **{"q-multiple-0009": "A"})  # one of the two keyed options
        strict = submit_attempt(s, me, start_attempt(s, me, "ALL", clock=clock).id, answers, clock=clock)
        partial = submit_attempt(s, me, start_attempt(s, me, "PART", clock=clock).id, answers, clock=clock)
        assert (strict.attempt.score, partial.attempt.score) == (4.0, 4.5)
        assert attempt_result(s, me, partial.attempt.id).items[2].earned == 0.5


def test_submitting_twice_in_a_row_returns_the_same_result_and_credits_once(bank, clock):
    make_quiz(bank, clock, credit_hours=2)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        attempt = start_attempt(s, me, "Q1", clock=clock)
        first = submit_attempt(s, me, attempt.id, RIGHT, clock=clock)
        clock.advance(seconds=3)
        again = submit_attempt(s, me, attempt.id, WRONG, clock=clock)  # a retry carrying other answers
        assert again.already_submitted and again.credit.id == first.credit.id
        assert again.attempt.percent == 100.0 and again.attempt.submitted_at == first.attempt.submitted_at
        with pytest.raises(StateError, match="is submitted"):
            save_answers(s, me, attempt.id, {"q-single-0001": "B"}, clock=clock)
        assert count(s, LedgerEntry) == 1
        assert s.scalar(select(AttemptAnswer.response).where(AttemptAnswer.position == 1)) == "A"


def test_time_limit_with_grace(bank, clock):
    make_quiz(bank, clock, time_limit_minutes=10)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        aid = start_attempt(s, me, "Q1", clock=clock).id
        clock.advance(minutes=10, seconds=GRACE.total_seconds())  # just inside the grace
        save_answers(s, me, aid, {"q-single-0001": "A"}, clock=clock)
        clock.advance(seconds=1)
        with pytest.raises(TimeLimitExceeded, match="17:10:00"):  # the deadline in Beijing time
            save_answers(s, me, aid, {"q-single-0002": "A"}, clock=clock)
        with pytest.raises(TimeLimitExceeded, match="not accepted"):
            submit_attempt(s, me, aid, RIGHT, clock=clock)
    with bank.Session() as s:
        stored = s.get(Attempt, aid)
        assert stored.status == "open" and stored.score is None and count(s, LedgerEntry) == 0
        assert [a.response for a in s.scalars(select(AttemptAnswer))] == ["A"]  # nothing changed
        me = user(s, "zhang.th")
        fresh = start_attempt(s, me, "Q1", clock=clock)  # the timed-out one is closed as expired
        assert fresh.number == 2 and s.get(Attempt, aid).status == "expired"


def test_a_submission_that_fails_midway_leaves_nothing(bank, clock, monkeypatch):
    make_quiz(bank, clock)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut while crediting")

    with bank.Session() as s:
        me = user(s, "zhang.th")
        aid = start_attempt(s, me, "Q1", clock=clock).id
        save_answers(s, me, aid, {"q-single-0001": "A"}, clock=clock)
        monkeypatch.setattr(ledger, "credit_quiz", crash)
        with pytest.raises(RuntimeError, match="power cut"):
            submit_attempt(s, me, aid, RIGHT, clock=clock)
    with bank.Session() as s:
        stored = s.get(Attempt, aid)
        assert (stored.status, stored.score, stored.submitted_at) == ("open", None, None)
        assert [(a.response, a.earned) for a in s.scalars(select(AttemptAnswer))] == [("A", None)]
        assert count(s, LedgerEntry) == 0
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.credit")) is None
        monkeypatch.undo()
        done = submit_attempt(s, user(s, "zhang.th"), aid, RIGHT, clock=clock)  # the retry works
        assert done.attempt.passed and done.credit is not None


def test_bad_answers_are_refused_and_nothing_is_saved(bank, clock):
    make_quiz(bank, clock)
    make_quiz(bank, clock, code="Q2", keys=["q-single-0003"])
    with bank.Session() as s:
        me = user(s, "zhang.th")
        attempt = start_attempt(s, me, "Q1", clock=clock)
        for answers, error, message in [
            ({"q-single-0001": "A", "q-single-0003": "A"}, NotInAttempt, "q-single-0003"),
            ({"q-single-0001": "A", "1 OR 1=1; --": "A"}, NotInAttempt, "not questions of this attempt"),
            ({"q-single-0001": "Z"}, ValidationError, "does not name options"),
            ({"q-single-0001": 3}, ValidationError, "must be text"),
        ]:
            with pytest.raises(error, match=message):
                save_answers(s, me, attempt.id, answers, clock=clock)
            with pytest.raises(error):
                submit_attempt(s, me, attempt.id, answers, clock=clock)
        assert count(s, AttemptAnswer) == 0 and s.get(Attempt, attempt.id).status == "open"
        text = "Robert'); DROP TABLE attempts;--"
        save_answers(s, me, attempt.id, {"q-blank-0017": text}, clock=clock)
        assert questions(s, me, attempt.id)[4].response == text.replace(" ", "")


def test_only_the_owner_answers_and_refusals_are_audited(bank, clock):
    make_quiz(bank, clock)
    with bank.Session() as s:
        attempt = start_attempt(s, user(s, "zhang.th"), "Q1", clock=clock)
        for who in ("li.yx", "coord.gz"):
            with pytest.raises(AccessDenied, match="belongs to someone else"):
                submit_attempt(s, user(s, who), attempt.id, RIGHT, clock=clock)
        with pytest.raises(AccessDenied):
            save_answers(s, user(s, "li.yx"), attempt.id, RIGHT, clock=clock)
        with pytest.raises(ValidationError, match="--as"):
            start_attempt(s, Operator("ops"), "Q1", clock=clock)
        submit_attempt(s, user(s, "zhang.th"), attempt.id, RIGHT, clock=clock)
        with pytest.raises(AccessDenied):  # an officer of another unit may not read the results
            attempt_result(s, user(s, "zhao.ns"), attempt.id)
        assert count(s, LedgerEntry) == 1
    with bank.Session() as s:
        refused = list(s.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused").order_by(AuditEntry.id)))
        assert [e.action for e in refused] == ["attempts.submit", "attempts.submit", "attempts.answer", "users.view"]
        assert all(e.target == f"attempt:{attempt.id}" for e in refused)


def test_closed_quizzes_and_the_local_year(bank, clock):
    make_quiz(bank, clock)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        clock.now = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 2027-01-01 00:30 in Beijing
        done = submit_attempt(s, me, start_attempt(s, me, "Q1", clock=clock).id, RIGHT, clock=clock)
        assert done.attempt.year == 2027 and done.credit.year == 2027 and str(done.credit.on_date) == "2027-01-01"
        set_active(s, Operator("ops"), "Q1", False, clock=clock)
        with pytest.raises(StateError, match="closed"):
            start_attempt(s, me, "Q1", clock=clock)


def test_a_source_is_cited_as_a_reader_writes_it():
    assert cite({"doc_key": "行政处罚法@2021-01-22", "path": "第三十三条", "quote": "不予行政处罚"}) == (
        "《行政处罚法》第三十三条（2021-01-22）「不予行政处罚」")
    plan = {"doc_key": "提升行政执法质量三年行动计划", "path": "二/（四）"}
    assert cite(plan) == "《提升行政执法质量三年行动计划》二、（四）"
