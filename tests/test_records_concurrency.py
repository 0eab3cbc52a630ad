"""Concurrency and faults against real databases: the same attempt submitted from several
threads at once (double click, two tabs, a retry) credits once; two tabs starting an attempt
get the same one; two processes appending to the ledger lose nothing."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from kb.records.attempts import start_attempt, submit_attempt
from kb.records.errors import RecordsError
from kb.records.models import Attempt, AuditEntry, LedgerEntry, Operator
from tests.test_records_fixtures import RIGHT, count, make_quiz, user

pytest_plugins = ["tests.test_records_fixtures"]
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at_once(n: int, work) -> list:
    """Run ``work(i)`` in n threads released together; returns results (or exceptions)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_the_same_attempt_submitted_at_once_credits_once(bank, clock):
    make_quiz(bank, clock, credit_hours=2)
    names = ["zhang.th", "li.yx", "wang.gz"]
    with bank.Session() as s:
        attempts = {n: start_attempt(s, user(s, n), "Q1", clock=clock).id for n in names}

    def submit(i: int):
        name = names[i % len(names)]
        with bank.Session() as s:
            return submit_attempt(s, user(s, name), attempts[name], RIGHT, clock=lambda: NOW)

    results = at_once(9, submit)  # three clicks on each of three attempts
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.already_submitted for r in results) == [False] * 3 + [True] * 6
    with bank.Session() as s:
        assert count(s, LedgerEntry) == 3
        assert s.scalar(select(func.sum(LedgerEntry.hours))) == Decimal(6)
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "ledger.credit")) == 3
        assert {a.status for a in s.scalars(select(Attempt))} == {"submitted"}


def test_two_passing_attempts_of_one_quiz_at_once_credit_once(bank, clock):
    """Two attempts (not one attempt twice) both passing at the same moment: the unique
    constraint settles it and both submissions still succeed."""
    make_quiz(bank, clock, credit_hours=2)
    with bank.Session() as s:
        me = user(s, "zhang.th")
        first = start_attempt(s, me, "Q1", clock=clock).id
        submit_attempt(s, me, first, {"q-single-0001": "B"}, clock=clock)
        second = start_attempt(s, me, "Q1", clock=clock).id
    with bank.Session() as s:  # a third attempt row, as if started in another tab after the second was lost
        s.add(Attempt(quiz_id=s.get(Attempt, first).quiz_id, user_id=user(s, "zhang.th").id, number=3,
                      status="open", started_at=NOW, max_score=5.0))
        s.commit()
        third = s.scalar(select(Attempt.id).where(Attempt.number == 3))
    ids = [second, third]

    def submit(i: int):
        with bank.Session() as s:
            return submit_attempt(s, user(s, "zhang.th"), ids[i], RIGHT, clock=lambda: NOW)

    results = at_once(2, submit)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.credit is not None for r in results) == [False, True]
    with bank.Session() as s:
        assert count(s, LedgerEntry) == 1


def test_two_tabs_starting_at_once_get_the_same_attempt(bank, clock):
    make_quiz(bank, clock)

    def start(_: int):
        with bank.Session() as s:
            return start_attempt(s, user(s, "zhang.th"), "Q1", clock=lambda: NOW).id

    results = at_once(4, start)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    with bank.Session() as s:
        assert count(s, Attempt) == 1


def _append(url: str, worker: int, n: int, queue) -> None:
    """In a child process: a fresh engine, n offline entries for two officers."""
    from kb.records.db import make_engine
    from kb.records.ledger import add_offline

    engine = make_engine(url)
    Session = sessionmaker(engine, expire_on_commit=False)
    done = 0
    try:
        for i in range(n):
            with Session() as s:
                add_offline(s, Operator(f"proc{worker}"), ["zhang.th", "li.yx"][i % 2], "岗位练兵", "0.25",
                            date(2026, 2, 1), f"worker {worker} line {i}", clock=lambda: NOW)
                done += 1
        queue.put((worker, done, None))
    except RecordsError as exc:  # pragma: no cover - reported to the parent
        queue.put((worker, done, str(exc)))
    finally:
        engine.dispose()


def test_two_processes_appending_to_the_ledger_lose_nothing(world):
    url = world.settings.database_url or world.settings.effective_database_url
    world.engine.dispose()  # nothing of the parent's pool crosses the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    n = 40
    procs = [ctx.Process(target=_append, args=(url, w, n, queue)) for w in range(2)]
    for p in procs:
        p.start()
    reports = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert sorted(reports) == [(0, n, None), (1, n, None)]
    with world.Session() as s:
        assert count(s, LedgerEntry) == 2 * n
        assert s.scalar(select(func.sum(LedgerEntry.hours))) == Decimal("20.00")
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "ledger.add")) == 2 * n
        assert len(set(s.scalars(select(LedgerEntry.note)))) == 2 * n
