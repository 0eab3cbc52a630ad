"""The 学时 ledger: offline training entered by coordinators, corrections as reversing lines,
append-only and one-credit-per-quiz-per-year in the database itself, progress toward 60 hours
and who is behind on a given date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from kb.records.attempts import start_attempt, submit_attempt
from kb.records.errors import AccessDenied, NotFound, StateError, ValidationError
from kb.records.ledger import (
    add_offline,
    behind,
    entries,
    expected_hours,
    my_progress,
    progress,
    reverse_entry,
    total_hours,
)
from kb.records.models import AuditEntry, LedgerEntry, Operator
from tests.test_records_fixtures import RIGHT, count, make_quiz, user

pytest_plugins = ["tests.test_records_fixtures"]
OP = Operator("ops")
D = date(2026, 2, 20)


def test_offline_training_is_entered_by_coordinators_and_audited(world, clock):
    with world.Session() as s:
        coord = user(s, "coord.gz")
        e = add_offline(s, coord, "zhang.th", "集中轮训", "8", D, "省局轮训签到表 2026-017", clock=clock)
        assert (e.kind, e.category, e.hours, e.year, e.entered_by_id) == ("offline", "集中轮训", Decimal("8.00"), 2026,
                                                                          coord.id)
        add_offline(s, coord, "zhang.th", "drill", "1.5", D, "岗位练兵记录", clock=clock)
        add_offline(s, coord, "li.yx", "讲座", 2, D, "专题讲座通知", clock=clock)
        assert total_hours(s, user(s, "zhang.th").id, 2026) == Decimal("9.50")
        assert [x.category for x in entries(s, coord, "zhang.th", 2026)] == ["集中轮训", "岗位练兵"]
        assert [x.hours for x in entries(s, user(s, "zhang.th"), "zhang.th", 2026)] == [Decimal("8.00"),
                                                                                        Decimal("1.50")]
    with world.Session() as s:
        logged = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "ledger.add").order_by(AuditEntry.id)))
        assert [(a.actor_id, a.target, a.detail["hours"]) for a in logged] == [
            (coord.id, "user:zhang.th", "8.00"), (coord.id, "user:zhang.th", "1.50"), (coord.id, "user:li.yx", "2.00")]
        assert logged[0].detail["date"] == "2026-02-20" and logged[0].detail["entry"] == e.id


def test_entries_outside_ones_scope_are_refused_and_audited(world, clock):
    cases = [
        ("coord.th", "li.yx"),  # a sibling unit
        ("coord.gz", "zhao.ns"),  # another city
        ("zhang.th", "zhang.th"),  # officers do not credit themselves
        ("trainer", "zhang.th"),
    ]
    with world.Session() as s:
        for who, target in cases:
            with pytest.raises(AccessDenied):
                add_offline(s, user(s, who), target, "集中轮训", 8, D, "x", clock=clock)
    with world.Session() as s:
        assert count(s, LedgerEntry) == 0
        refused = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused").order_by(AuditEntry.id)).all()
        assert [(e.actor_id, e.target) for e in refused] == [(user(s, w).id, f"user:{t}") for w, t in cases]


def test_bad_offline_entries_are_refused(world, clock):
    with world.Session() as s:
        for args, message in [
            (("集中培训", "8", D, "x"), "category"),
            (("集中轮训", "0", D, "x"), "more than 0"),
            (("集中轮训", "-3", D, "x"), "more than 0"),
            (("集中轮训", "201", D, "x"), "at most 200"),
            (("集中轮训", "1.005", D, "x"), "two decimals"),
            (("集中轮训", "八", D, "x"), "not a number"),
            (("集中轮训", "NaN", D, "x"), "more than 0"),
            (("集中轮训", "8", date(2026, 3, 2), "x"), "in the future"),
            (("集中轮训", "8", date(1999, 12, 31), "x"), "year"),
            (("集中轮训", "8", D, "  "), "evidence note"),
            (("集中轮训", "8", D, "签到表\x00"), "control characters"),
            (("集中轮训", "8", "2026-02-20", "x"), "calendar date"),
        ]:
            with pytest.raises(ValidationError, match=message):
                add_offline(s, OP, "zhang.th", *args, clock=clock)
        assert count(s, LedgerEntry) == 0


def test_sql_looking_notes_are_kept_verbatim_and_usernames_refused(world, clock):
    note = "'); DELETE FROM ledger; --"
    with world.Session() as s:
        add_offline(s, OP, "zhang.th", "集中轮训", 8, D, note, clock=clock)
        with pytest.raises(NotFound, match="no user"):
            add_offline(s, OP, "x' OR '1'='1", "集中轮训", 8, D, "n", clock=clock)
    with world.Session() as s:
        assert s.scalar(select(LedgerEntry.note)) == note and count(s, LedgerEntry) == 1


def test_a_double_entry_is_refused_unless_forced(world, clock):
    with world.Session() as s:
        add_offline(s, OP, "zhang.th", "集中轮训", 8, D, "签到表 17", clock=clock)
        with pytest.raises(StateError, match="identical entry"):
            add_offline(s, OP, "zhang.th", "集中轮训", 8, D, "签到表 17", clock=clock)
        add_offline(s, OP, "zhang.th", "集中轮训", 8, D, "签到表 17", force=True, clock=clock)
        assert total_hours(s, user(s, "zhang.th").id, 2026) == Decimal(16)


def test_corrections_are_reversing_lines(world, clock):
    with world.Session() as s:
        coord = user(s, "coord.th")
        wrong = add_offline(s, coord, "zhang.th", "集中轮训", 80, D, "多录了一个 0", clock=clock).id
        fix = reverse_entry(s, coord, wrong, "学时录错：应为 8", clock=clock)
        assert (fix.kind, fix.hours, fix.reverses_id, fix.year, fix.on_date) == (
            "reversal", Decimal("-80.00"), wrong, 2026, D)
        fix = fix.id
        add_offline(s, coord, "zhang.th", "集中轮训", 8, D, "多录了一个 0", clock=clock)  # not a double any more
        assert total_hours(s, user(s, "zhang.th").id, 2026) == Decimal(8)
        with pytest.raises(StateError, match="already reversed"):
            reverse_entry(s, coord, wrong, "again", clock=clock)
        with pytest.raises(StateError, match="is a reversal"):
            reverse_entry(s, coord, fix, "undo", clock=clock)
        with pytest.raises(NotFound):
            reverse_entry(s, coord, 99999, "x", clock=clock)
        with pytest.raises(AccessDenied):
            reverse_entry(s, user(s, "coord.th"), add_offline(s, OP, "li.yx", "集中轮训", 1, D, "n", clock=clock).id,
                          "not mine", clock=clock)
        assert count(s, LedgerEntry) == 4
    with world.Session() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.reverse")).detail["reverses"] == wrong


def test_the_ledger_is_append_only_in_the_database(world, clock):
    with world.Session() as s:
        add_offline(s, OP, "zhang.th", "集中轮训", 8, D, "n", clock=clock)
    for statement in (update(LedgerEntry).values(note="edited"), delete(LedgerEntry),
                      text("UPDATE ledger SET centihours = 6000")):
        with world.Session() as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(statement)
            s.commit()
    with world.Session() as s:
        assert s.scalar(select(LedgerEntry.hours)) == Decimal(8) and count(s, LedgerEntry) == 1


def test_one_quiz_credit_per_officer_and_year_is_a_database_constraint(bank, clock):
    make_quiz(bank, clock)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        credit = submit_attempt(s, me, start_attempt(s, me, "Q1", clock=clock).id, RIGHT, clock=clock).credit
        second = start_attempt(s, me, "Q1", clock=clock)
        s.commit()
        # bypass the code: a second line for the same quiz and year, from another attempt
        s.add(LedgerEntry(user_id=me.id, year=2026, on_date=D, kind="quiz", category="在线测验", hours=1,
                          quiz_id=credit.quiz_id, attempt_id=second.id, note=""))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        s.add(LedgerEntry(user_id=me.id, year=2027, on_date=date(2027, 1, 5), kind="quiz", category="在线测验",
                          hours=1, quiz_id=credit.quiz_id, attempt_id=second.id, note=""))
        s.commit()  # next year's credit is another matter
        for bad in (dict(kind="quiz", quiz_id=None), dict(kind="offline", hours=-1), dict(kind="reversal")):
            fields = dict(user_id=me.id, year=2026, on_date=D, category="集中轮训", hours=1, note="") | bad
            s.add(LedgerEntry(**fields))
            with pytest.raises(IntegrityError):
                s.commit()
            s.rollback()


def test_expected_hours_pro_rata():
    assert expected_hours(2026, date(2026, 1, 1)) == Decimal("0.16")
    assert expected_hours(2026, date(2026, 7, 2)) == Decimal("30.08")  # day 183
    assert expected_hours(2026, date(2026, 12, 31)) == Decimal("60.00")
    assert expected_hours(2028, date(2028, 12, 31)) == Decimal("60.00")  # day 366 of a leap year
    assert expected_hours(2026, date(2025, 12, 31)) == Decimal("0.00")
    assert expected_hours(2026, date(2027, 1, 1)) == Decimal("60.00")


def test_progress_and_who_is_behind(world, clock):
    with world.Session() as s:
        for name, hours in (("zhang.th", "30"), ("li.yx", "10"), ("zhao.ns", "60")):
            add_offline(s, OP, name, "集中轮训", hours, D, "n", clock=clock)
        add_offline(s, OP, "wang.gz", "集中轮训", 40, date(2025, 6, 1), "last year", clock=clock)
        july = date(2026, 7, 2)  # 30.08 h expected
        rows = {p.username: p for p in progress(s, user(s, "coord.gz"), "440100", 2026, as_of=july)}
        assert set(rows) == {"zhang.th", "li.yx", "wang.gz"}  # officers of 广州 and its districts only
        assert rows["zhang.th"].behind and rows["zhang.th"].shortfall == Decimal("0.08")
        assert rows["wang.gz"].hours == Decimal(0) and rows["li.yx"].unit_path == "广东省/广州市/越秀区"
        assert [p.username for p in behind(list(rows.values()))] == ["wang.gz", "li.yx", "zhang.th"]
        whole = {p.username: p for p in progress(s, OP, "440000", 2026, as_of=date(2026, 3, 1))}
        assert whole["zhao.ns"].met and not whole["zhao.ns"].behind and not whole["zhang.th"].behind
        assert progress(s, OP, "440100", 2025, as_of=july)[0].met is False
        me = my_progress(s, user(s, "zhang.th"), 2026, as_of=july)
        assert (me.hours, me.expected, me.behind) == (Decimal(30), Decimal("30.08"), True)
        with pytest.raises(AccessDenied):
            progress(s, user(s, "coord.th"), "440100", 2026, as_of=july)  # above their unit
        with pytest.raises(AccessDenied):
            progress(s, user(s, "zhang.th"), "440106", 2026, as_of=july)
        with pytest.raises(ValidationError, match="year"):
            progress(s, OP, "440100", 1900)
        clock.advance(days=200)
        add_offline(s, OP, "wang.gz", "集中轮训", 40, date(2026, 8, 1), "八月轮训", clock=clock)
        at = {d: {p.username: p.hours for p in progress(s, OP, "440100", 2026, as_of=d)}
              for d in (july, date(2026, 8, 1))}
        assert (at[july]["wang.gz"], at[date(2026, 8, 1)]["wang.gz"]) == (Decimal(0), Decimal(40))
        assert my_progress(s, user(s, "wang.gz"), 2026, as_of=july).hours == Decimal(0)
