"""Attempts whose time ran out: graded on the answers saved in time, closed as ``expired``,
credited once if they passed (as a submit at the deadline would have), never left open; who
may trigger it; and a submit racing the closing grades the attempt once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from kb.records import ledger
from kb.records.attempts import (
    GRACE,
    attempt_result,
    attempts_left,
    best_attempt,
    close_expired,
    save_answers,
    start_attempt,
    submit_attempt,
)
from kb.records.errors import TimeLimitExceeded
from kb.records.models import Attempt, AuditEntry, LedgerEntry, Operator
from tests.test_records_fixtures import RIGHT, WRONG, count, make_quiz, user

pytest_plugins = ["tests.test_records_fixtures"]


def _started(bank, clock, username: str, answers: dict[str, str], code: str = "Q1") -> int:
    """Start an attempt as ``username`` and save ``answers`` without submitting."""
    with bank.Session() as s:
        me = user(s, username)
        aid = start_attempt(s, me, code, clock=clock).id
        save_answers(s, me, aid, answers, clock=clock)
        return aid


def test_an_expired_attempt_is_graded_on_what_was_saved_in_time_and_credited_once(bank, clock):
    make_quiz(bank, clock, time_limit_minutes=10, credit_hours="1.5", max_attempts=2)
    aid = _started(bank, clock, "zhang.th", {k: RIGHT[k] for k in list(RIGHT)[:4]})  # 4 of 5 right
    with bank.Session() as s:
        me = user(s, "zhang.th")
        clock.advance(minutes=10, seconds=GRACE.total_seconds())
        assert close_expired(s, me, clock=clock) == []  # still inside the grace
        clock.advance(seconds=1)
        with pytest.raises(TimeLimitExceeded):  # a late answer is refused, so it cannot count
            save_answers(s, me, aid, {"q-blank-0017": "十五日"}, clock=clock)
        closed = close_expired(s, me, clock=clock)
        assert [c.attempt.id for c in closed] == [aid] and not closed[0].already_submitted
        done = closed[0].attempt
        assert (done.status, done.score, done.percent, done.passed) == ("expired", 4.0, 80.0, True)
        assert done.submitted_at == done.deadline and done.year == 2026
        assert closed[0].credit.hours == Decimal("1.50") and closed[0].credit.attempt_id == aid
        assert close_expired(s, me, clock=clock) == []  # nothing left to close
        with pytest.raises(TimeLimitExceeded):  # a tab still showing the paper cannot submit it now
            submit_attempt(s, me, aid, RIGHT, clock=clock)
        result = attempt_result(s, me, aid)
        assert [i.correct for i in result.items] == [True, True, True, True, False]
        assert result.credited_hours == "1.50" and result.items[0].explanation
        assert best_attempt(s, me.id, result.quiz.id).id == aid
        assert attempts_left(s, me.id, result.quiz) == 1  # it counts as used
        assert count(s, LedgerEntry) == 1 and ledger.total_hours(s, me.id, 2026) == Decimal("1.50")
    with bank.Session() as s:
        expired = s.scalar(select(AuditEntry).where(AuditEntry.action == "attempts.expire"))
        assert expired.target == f"attempt:{aid}" and expired.actor_id == user(s, "zhang.th").id
        assert expired.detail["passed"] is True and expired.detail["credit"] == "1.50"


def test_a_failed_or_blank_expired_attempt_scores_what_it_earned_and_credits_nothing(bank, clock):
    make_quiz(bank, clock, time_limit_minutes=5)
    failed = _started(bank, clock, "zhang.th", WRONG)
    with bank.Session() as s:
        blank = start_attempt(s, user(s, "li.yx"), "Q1", clock=clock).id
        clock.advance(minutes=6)
        closed = close_expired(s, Operator("nightly"), clock=clock)
        assert sorted(c.attempt.id for c in closed) == sorted([failed, blank])
        assert {(c.attempt.status, c.attempt.percent, c.attempt.passed, c.credit) for c in closed} == {
            ("expired", 0.0, False, None)}
        assert count(s, LedgerEntry) == 0
        assert attempt_result(s, user(s, "li.yx"), blank).items[0].response == ""


def test_starting_again_grades_the_expired_attempt_before_opening_a_new_one(bank, clock):
    make_quiz(bank, clock, time_limit_minutes=10, credit_hours=2)
    aid = _started(bank, clock, "zhang.th", RIGHT)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        clock.advance(minutes=11)
        fresh = start_attempt(s, me, "Q1", clock=clock)
        old = s.get(Attempt, aid)
        assert fresh.number == 2 and (old.status, old.passed) == ("expired", True)
        assert s.scalar(select(LedgerEntry.attempt_id)) == aid
        # passing again in the same year adds nothing: the quiz's credit is earned once a year
        assert submit_attempt(s, me, fresh.id, RIGHT, clock=clock).credit is None
        assert count(s, LedgerEntry) == 1


def test_an_expired_pass_after_the_years_credit_credits_nothing_more(bank, clock):
    make_quiz(bank, clock, time_limit_minutes=10, credit_hours=2)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        assert submit_attempt(s, me, start_attempt(s, me, "Q1", clock=clock).id, RIGHT, clock=clock).credit
    aid = _started(bank, clock, "zhang.th", RIGHT)
    with bank.Session() as s:
        clock.advance(minutes=30)
        closed = close_expired(s, user(s, "zhang.th"), clock=clock)
        assert closed[0].attempt.id == aid and closed[0].attempt.passed and closed[0].credit is None
        assert count(s, LedgerEntry) == 1


def test_an_attempt_expiring_on_new_years_eve_counts_for_that_year(bank, clock):
    make_quiz(bank, clock, time_limit_minutes=20, credit_hours=1)
    clock.now = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 23:30 in Beijing; deadline 23:50
    _started(bank, clock, "zhang.th", RIGHT)
    clock.now = datetime(2027, 1, 3, 1, 0, tzinfo=UTC)  # closed days later, in the new year
    with bank.Session() as s:
        credit = close_expired(s, user(s, "zhang.th"), clock=clock)[0].credit
        assert (credit.year, str(credit.on_date)) == (2026, "2026-12-31")


def test_who_may_close_whose_attempts(bank, clock):
    make_quiz(bank, clock, time_limit_minutes=5)
    mine = _started(bank, clock, "zhang.th", RIGHT)  # 天河区
    other = _started(bank, clock, "zhao.ns", RIGHT)  # 南山区 (深圳)
    untimed = make_quiz(bank, clock, code="Q2")
    open_untimed = _started(bank, clock, "li.yx", RIGHT, code=untimed.code)
    clock.advance(hours=1)
    with bank.Session() as s:
        assert close_expired(s, user(s, "li.yx"), clock=clock) == []  # an officer: their own only
        assert close_expired(s, user(s, "coord.gz"), clock=clock)[0].attempt.id == mine  # 广州's officers
        assert s.get(Attempt, other).status == "open"
        assert [c.attempt.id for c in close_expired(s, user(s, "admin"), clock=clock)] == [other]
        clock.advance(days=400)
        assert close_expired(s, Operator("nightly"), clock=clock) == []  # no time limit: never expires
        assert s.get(Attempt, open_untimed).status == "open"
        actors = {e.target: e.actor_id for e in s.scalars(select(AuditEntry).where(AuditEntry.action ==
                                                                                  "attempts.expire"))}
        assert actors == {f"attempt:{mine}": user(s, "coord.gz").id, f"attempt:{other}": user(s, "admin").id}


def test_a_submit_racing_the_closing_grades_the_attempt_once(bank, clock):
    """The owner's submit inside the grace and the closing running on another connection:
    whichever locks the attempt first grades it; the other finds it closed."""
    make_quiz(bank, clock, time_limit_minutes=10, credit_hours=2)
    aid = _started(bank, clock, "zhang.th", {"q-single-0001": "A"})
    clock.advance(minutes=10, seconds=GRACE.total_seconds())
    in_grace, after = clock.now, clock.now + timedelta(seconds=1)
    barrier, results = threading.Barrier(2), {}

    def run(name: str, work) -> None:
        with bank.Session() as s:
            barrier.wait()
            try:
                results[name] = work(s)
            except Exception as exc:
                results[name] = exc

    threads = [
        threading.Thread(target=run, args=("submit", lambda s: submit_attempt(
            s, user(s, "zhang.th"), aid, RIGHT, clock=lambda: in_grace))),
        threading.Thread(target=run, args=("close", lambda s: close_expired(
            s, Operator("nightly"), clock=lambda: after))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    submitted, closed = results["submit"], results["close"]
    assert not isinstance(closed, Exception), closed
    if isinstance(submitted, TimeLimitExceeded):  # the closing won: graded on the one saved answer
        assert [c.attempt.id for c in closed] == [aid] and closed[0].attempt.percent == 20.0
    else:
        assert not isinstance(submitted, Exception), submitted
        assert closed == [] and submitted.attempt.percent == 100.0
    with bank.Session() as s:
        assert s.get(Attempt, aid).status in ("submitted", "expired")
        assert count(s, LedgerEntry) == (0 if isinstance(submitted, TimeLimitExceeded) else 1)


def test_an_expired_graded_attempt_is_in_the_exports(bank, clock):
    import json

    from kb.records.export import export_unit

    make_quiz(bank, clock, time_limit_minutes=10, credit_hours="1.5")
    _started(bank, clock, "zhang.th", dict(RIGHT))
    clock.advance(minutes=11)
    with bank.Session() as s:
        close_expired(s, Operator(name="cron"), clock=clock)
        statements = json.loads(export_unit(s, Operator(name="t"), "440000", 2026, "xapi", clock=clock).data)
    passed = [st for st in statements if st["verb"]["id"].endswith("/passed")]
    assert passed and passed[0]["result"]["score"]["scaled"] == 1.0
