"""kb.records.db.writing: one write transaction that nests, on the real database (SQLite and,
with KB_TEST_POSTGRES_URL, PostgreSQL). What a block wrote is checked from another session,
which sees only what was committed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kb.records import access, ledger
from kb.records.db import after_writing, in_writing, writing
from kb.records.errors import AccessDenied, StateError
from kb.records.models import AuditEntry, LedgerEntry, Unit
from tests.test_records_fixtures import count, user

pytest_plugins = ["tests.test_records_fixtures"]


def committed_units(db) -> list[str]:
    with db.Session() as other:
        return list(other.scalars(select(Unit.code).order_by(Unit.code)))


def add(session, code: str) -> None:
    session.add(Unit(code=code, name=f"单位 {code}"))
    session.flush()


def test_a_block_commits_at_its_end_and_rolls_back_on_an_exception(db):
    with db.Session() as s:
        with writing(s):
            assert in_writing(s)
            add(s, "A")
            assert committed_units(db) == []
        assert not in_writing(s)
        assert committed_units(db) == ["A"]
        with pytest.raises(ZeroDivisionError), writing(s):
            add(s, "B")
            1 / 0  # noqa: B018
        assert not in_writing(s) and committed_units(db) == ["A"]
        assert s.scalars(select(Unit.code)).all() == ["A"]  # the session is usable afterwards


def test_an_inner_block_neither_commits_nor_rolls_back_the_outermost_decides(db):
    with db.Session() as s:
        with writing(s):
            add(s, "OUTER")
            with writing(s):
                add(s, "INNER")
            assert in_writing(s)
            assert committed_units(db) == []  # the inner block's end committed nothing
            add(s, "AFTER")
        assert committed_units(db) == ["AFTER", "INNER", "OUTER"]

        with pytest.raises(StateError), writing(s):
            with writing(s):
                add(s, "INNER2")
            raise StateError("the outer block fails after the inner one succeeded")
        assert committed_units(db) == ["AFTER", "INNER", "OUTER"]

        with pytest.raises(StateError), writing(s):
            add(s, "OUTER3")
            with writing(s):
                add(s, "INNER3")
                raise StateError("the inner block fails")
        assert committed_units(db) == ["AFTER", "INNER", "OUTER"]


def test_an_inner_failure_caught_by_the_caller_still_fails_the_whole_transaction(db):
    with db.Session() as s:
        with pytest.raises(RuntimeError, match="nested write failed"), writing(s):
            add(s, "OUTER")
            try:
                with writing(s):
                    add(s, "HALF")
                    raise StateError("half done")
            except StateError:
                pass
            add(s, "MORE")
        assert committed_units(db) == []


def test_committing_or_rolling_back_inside_a_block_is_refused(db):
    with db.Session() as s:
        with pytest.raises(RuntimeError, match="commit"), writing(s):
            add(s, "A")
            s.commit()
        assert committed_units(db) == []
        with pytest.raises(RuntimeError, match="ended inside the block"), writing(s):
            add(s, "B")
            s.rollback()
            add(s, "C")
        assert committed_units(db) == []


def test_a_savepoint_inside_a_block_still_works(db):
    with db.Session() as s, writing(s):
        with s.begin_nested():
            add(s, "SP")
        add(s, "OUT")
    assert committed_units(db) == ["OUT", "SP"]


def test_queued_actions_run_after_the_outermost_block_whatever_its_outcome(db):
    ran = []
    with db.Session() as s:
        assert not after_writing(s, lambda: ran.append("never"))
        with pytest.raises(StateError), writing(s):
            with writing(s):
                after_writing(s, lambda: ran.append(committed_units(db)))
            add(s, "X")
            assert ran == []
            raise StateError("rolled back")
        assert ran == [[]]


def test_a_refusal_inside_a_block_is_audited_after_the_rollback(world):
    with world.Session() as s:
        officer = user(s, "zhang.th")
        with pytest.raises(AccessDenied), writing(s):
            add(s, "X")
            access.require(s, officer, "content.manage", target="test")
        assert "X" not in committed_units(world)
    with world.Session() as other:
        refused = other.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused")).all()
        assert [(e.action, e.target) for e in refused] == [("content.manage", "test")]
        assert other.scalar(select(Unit.id).where(Unit.code == "X")) is None


def test_records_functions_inside_one_block_are_all_or_nothing(world, clock):
    day = date(2026, 2, 1)
    with world.Session() as s:
        coord = user(s, "coord.gz")
        with pytest.raises(StateError, match="已有相同记录"), writing(s):
            ledger.add_offline(s, coord, "zhang.th", "集中轮训", 2, day, "签到表 1", clock=clock)
            ledger.add_offline(s, coord, "zhang.th", "集中轮训", 2, day, "签到表 1", clock=clock)  # a double
        assert count(s, LedgerEntry) == 0
        with writing(s):
            ledger.add_offline(s, coord, "zhang.th", "集中轮训", 2, day, "签到表 1", clock=clock)
            ledger.add_offline(s, coord, "li.yx", "集中轮训", 2, day, "签到表 1", clock=clock)
    with world.Session() as other:
        assert count(other, LedgerEntry) == 2
        assert other.scalars(select(AuditEntry.action).where(AuditEntry.action == "ledger.add")).all() == [
            "ledger.add", "ledger.add"]
