"""Ledger benchmark: attempts per second (start + save + submit, which grades and credits),
and the time to export 10,000 officers' year as CSV and XLSX.

    python -m eval.bench_ledger [--attempts 400] [--threads 1 4] [--officers 10000] [--database-url URL]

Attempts: every attempt is a different officer's first pass at a 10-question quiz, so each
submit grades and writes a ledger credit and its audit entry, through the public API
(kb.records.attempts). Reported as full attempts per second (three transactions: start, save
half the answers, submit the rest) and submits per second (submit + grade + credit alone),
with one thread and with several at once.

Export: 10,000 officers in 11 units (one unit with ten sub-units), each with a year of
ledger lines (four quiz credits with their attempts, six offline lines; inserted in bulk,
which is set-up, not what is measured), exported by an admin as CSV, XLSX and xAPI.

Default database: a fresh SQLite file; ``--database-url`` runs on PostgreSQL in a throwaway
schema (see eval.simulate_year.fresh_database).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from eval.simulate_year import cheap_hashes, fresh_database
from kb.quiz.model import Question, SourceRef
from kb.records import auth
from kb.records.attempts import save_answers, start_attempt, submit_attempt
from kb.records.db import init_db
from kb.records.export import export_unit
from kb.records.models import Attempt, LedgerEntry, Operator, Unit, User, UserField
from kb.records.questions import save_questions, set_state
from kb.records.quizzes import QuizSpec, create_quiz
from kb.records.units import add_unit

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
OP = Operator("bench_ledger")


def _questions(n: int = 10) -> list[Question]:
    return [Question(f"bench-{i:03d}", "single", f"题 {i}", ["甲", "乙", "丙", "丁"], "A", "解析",
                     [SourceRef("法@2026", f"第{i}条", f"法@2026/第{i}条", f"{i:064x}", "原文")],
                     {"领域": ["市场监管"]}) for i in range(1, n + 1)]


def _bulk_officers(session: Session, unit_ids: list[int], n: int, prefix: str) -> list[int]:
    """n officers spread over the units, inserted in bulk (set-up only)."""
    password_hash = auth.hash_password("Benchmark2026pass")
    rows = [{"username": f"{prefix}{i:05d}", "display_name": f"执法员{i:05d}", "cert_no": f"{prefix.upper()}{i:06d}",
             "role": "officer", "unit_id": unit_ids[i % len(unit_ids)], "password_hash": password_hash,
             "failed_logins": 0, "active": True, "must_change_password": False, "created_at": NOW}
            for i in range(n)]
    for start in range(0, n, 2000):
        session.execute(insert(User), rows[start:start + 2000])
    ids = list(session.scalars(select(User.id).where(User.username.like(f"{prefix}%")).order_by(User.id)))
    fields = ["市场监管", "生态环境", "城市管理"]
    session.execute(insert(UserField), [{"user_id": uid, "field": fields[uid % 3]} for uid in ids])
    session.commit()
    return ids


def bench_attempts(url: str, n: int, threads: list[int]) -> None:
    engine = init_db(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as s:
        add_unit(s, OP, "B1", "基准单位", clock=lambda: NOW)
        unit = s.scalar(select(Unit.id).where(Unit.code == "B1"))
        officers = _bulk_officers(s, [unit], n * len(threads), "att")
        bank = _questions()
        save_questions(s, OP, bank, clock=lambda: NOW)
        set_state(s, OP, [q.id for q in bank], "approved", clock=lambda: NOW)
        create_quiz(s, OP, QuizSpec("BENCH", "基准测验", question_keys=[q.id for q in bank], credit_hours=2),
                    clock=lambda: NOW)
    answers = {q.id: "A" for q in bank}
    half = dict(list(answers.items())[:5])
    rest = dict(list(answers.items())[5:])
    queue = list(officers)
    for k in threads:
        batch, queue = queue[:n], queue[n:]
        opened: dict[int, int] = {}
        latencies: list[float] = []
        lock = threading.Lock()

        def begin(ids: list[int], opened: dict[int, int] = opened) -> None:
            with sessions() as s:
                for uid in ids:
                    me = s.get(User, uid)
                    attempt = start_attempt(s, me, "BENCH", clock=lambda: NOW)
                    save_answers(s, me, attempt.id, half, clock=lambda: NOW + timedelta(minutes=3))
                    opened[uid] = attempt.id

        def finish(ids: list[int], opened: dict[int, int] = opened, latencies: list[float] = latencies,
                   lock: threading.Lock = lock) -> None:
            with sessions() as s:
                for uid in ids:
                    t = time.perf_counter()
                    done = submit_attempt(s, s.get(User, uid), opened[uid], rest,
                                          clock=lambda: NOW + timedelta(minutes=6))
                    with lock:
                        latencies.append(time.perf_counter() - t)
                    assert done.credit is not None

        parts = [batch[i::k] for i in range(k)]
        phases = []
        for phase in (begin, finish):
            t0 = time.perf_counter()
            workers = [threading.Thread(target=phase, args=(p,)) for p in parts]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            phases.append(time.perf_counter() - t0)
        median = statistics.median(latencies) * 1000
        print(f"  {k} thread{'s' if k > 1 else ' '}: submit+grade+credit {n / phases[1]:.0f}/s "
              f"(median {median:.1f} ms each); start+save {n / phases[0]:.0f}/s; "
              f"whole attempts (start, save, submit) {n / sum(phases):.0f}/s")
    with sessions() as s:
        credits = s.scalar(select(LedgerEntry.id).order_by(LedgerEntry.id.desc()).limit(1))
        print(f"  ledger credits written: {credits} (one per attempt, none lost or doubled)")
    engine.dispose()


def bench_export(url: str, n: int) -> None:
    engine = init_db(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    rng = random.Random(1)
    t0 = time.perf_counter()
    with sessions() as s:
        add_unit(s, OP, "X", "大市局", clock=lambda: NOW)
        for i in range(10):
            add_unit(s, OP, f"X{i}", f"分局{i}", "X", clock=lambda: NOW)
        units = list(s.scalars(select(Unit.id)))
        officers = _bulk_officers(s, units, n, "exp")
        bank = _questions()
        save_questions(s, OP, bank, clock=lambda: NOW)
        set_state(s, OP, [q.id for q in bank], "approved", clock=lambda: NOW)
        quizzes = [create_quiz(s, OP, QuizSpec(f"E{i}", f"测验{i}", question_keys=[q.id for q in bank],
                                               credit_hours=2), clock=lambda: NOW).id for i in range(4)]
        attempts = [{"quiz_id": q, "user_id": uid, "number": 1, "status": "submitted", "started_at": NOW,
                     "submitted_at": NOW + timedelta(minutes=rng.randint(3, 15)), "year": 2026, "score": 8.0,
                     "max_score": 10.0, "percent": 80.0, "passed": True} for uid in officers for q in quizzes]
        for start in range(0, len(attempts), 5000):
            s.execute(insert(Attempt), attempts[start:start + 5000])
        s.commit()
        lines = [{"user_id": a.user_id, "year": 2026, "on_date": date(2026, 5, 1), "kind": "quiz",
                  "category": "在线测验", "hours": Decimal(2), "quiz_id": a.quiz_id, "attempt_id": a.id,
                  "score": 80.0, "note": "", "created_at": NOW}
                 for a in s.execute(select(Attempt.id, Attempt.user_id, Attempt.quiz_id))]
        categories = ["集中轮训", "岗位练兵", "专题讲座"]
        lines += [{"user_id": uid, "year": 2026, "on_date": date(2026, 1 + k, 10), "kind": "offline",
                   "category": categories[k % 3], "hours": Decimal(rng.choice([2, 4, 8])), "note": f"签到表 {k}",
                   "created_at": NOW} for uid in officers for k in range(6)]
        for start in range(0, len(lines), 5000):
            s.execute(insert(LedgerEntry), lines[start:start + 5000])
        s.commit()
        print(f"  set-up: {n} officers, {len(attempts)} attempts, {len(lines)} ledger lines in "
              f"{time.perf_counter() - t0:.1f}s (bulk insert)")
        for fmt in ("csv", "xlsx", "xapi"):
            t = time.perf_counter()
            result = export_unit(s, OP, "X", 2026, fmt, clock=lambda: NOW)
            print(f"  export {fmt:4}: {result.officers} officers, {result.items} items, "
                  f"{len(result.data) / 1e6:.1f} MB in {time.perf_counter() - t:.2f}s")
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attempts", type=int, default=400, help="attempts per thread setting")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--officers", type=int, default=10_000, help="officers in the export")
    ap.add_argument("--database-url", help="a PostgreSQL server (a throwaway schema); default: SQLite")
    ap.add_argument("--skip-export", action="store_true")
    args = ap.parse_args()
    cheap_hashes()
    with fresh_database(args.database_url) as url:
        backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        print(f"bench_ledger on {backend}:")
        bench_attempts(url, args.attempts, args.threads)
    if not args.skip_export:
        with fresh_database(args.database_url) as url:
            bench_export(url, args.officers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
