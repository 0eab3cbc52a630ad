"""A seeded year of training records, checked against an independent recomputation.

    python -m eval.simulate_year [--seed 7] [--officers 200] [--workers 4] [--database-url URL]

200 officers in 3 units (one with two sub-units) take 13 quizzes (12 monthly, one annual)
over a year with random outcomes, retries, late submissions and concurrent double submits
(the same attempt submitted from two threads at once), while their coordinators enter
offline training (集中轮训、岗位练兵、专题讲座), some of it wrong and then reversed. Officers
and coordinators run in parallel threads, each with its own sessions, through the public
API only (kb.records.*).

Then every unit is exported (CSV and XLSX as its coordinator, xAPI as an admin) and each
officer's exported total is compared with two recomputations that share no code with the
ledger: from the simulation's own log (which answers it gave, so which attempts pass, and
which offline lines it entered or reversed), and from the attempts and offline rows in the
database by plain SQL. The run fails (exit 1) on any difference, lost or duplicated credit.

Default database: a fresh SQLite file in a temporary folder. ``--database-url`` takes a
PostgreSQL server; the run uses a schema of its own and drops it afterwards. Passwords are
hashed with cheap argon2 parameters here (this is about the ledger, not sign-in).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from kb.quiz.model import Question, SourceRef
from kb.records import auth
from kb.records.attempts import questions, save_answers, start_attempt, submit_attempt
from kb.records.db import init_db
from kb.records.errors import TimeLimitExceeded
from kb.records.export import EXT_CREDIT_HOURS, VERBS, export_unit
from kb.records.ledger import LOCAL_TZ, add_offline, reverse_entry, unit_progress
from kb.records.models import Operator, User
from kb.records.people import UserSpec, add_user
from kb.records.questions import save_questions, set_state
from kb.records.quizzes import QuizSpec, create_quiz
from kb.records.units import add_unit

PASSWORD = "Simulate2026pass"
UNITS = [  # code, name, parent, officers (of 200)
    ("SIM-A", "甲市市场监管局", None, 40),
    ("SIM-A1", "甲市第一分局", "SIM-A", 40),
    ("SIM-A2", "甲市第二分局", "SIM-A", 30),
    ("SIM-B", "乙县综合执法局", None, 50),
    ("SIM-C", "丙区生态环境局", None, 40),
]
TOP_UNITS = ["SIM-A", "SIM-B", "SIM-C"]
FIELDS = ["市场监管", "生态环境", "城市管理"]


# --- a fresh database ------------------------------------------------------------------------

@contextlib.contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A URL to an empty database: a SQLite file in a temporary folder, or a new schema on the
    PostgreSQL server at ``url`` (dropped afterwards)."""
    if not url:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'records.sqlite'}"
        return
    base = make_url(url)
    if base.drivername in {"postgresql", "postgres"}:
        base = base.set(drivername="postgresql+psycopg")
    schema = f"sim_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def cheap_hashes() -> None:
    auth.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    auth._dummy_hash.cache_clear()


# --- the simulation's own log ------------------------------------------------------------------

@dataclass(frozen=True)
class QuizPlan:
    code: str
    month: int
    count: int
    hours: Decimal
    pass_mark: int
    max_attempts: int
    minutes: int
    scoring: str


@dataclass
class Log:
    """What the simulation did, kept apart from the database (its own recomputation)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    submitted: list[tuple[str, str, int, float, bool]] = field(default_factory=list)  # user, quiz, year, %, passed
    offline: dict[int, tuple[str, int, Decimal]] = field(default_factory=dict)  # entry → user, year, hours
    reversed: set[int] = field(default_factory=set)
    started: int = 0
    late_refused: int = 0
    races: int = 0
    race_firsts: int = 0
    race_repeats: int = 0
    grading_mismatches: int = 0

    def add(self, name: str, value: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + value)


def make_bank(rng: random.Random, n: int = 150) -> tuple[list[Question], dict[str, Question]]:
    out = []
    for i in range(1, n + 1):
        qtype = rng.choices(["single", "multiple", "judge", "blank"], [50, 20, 20, 10])[0]
        options = {"single": ["甲", "乙", "丙", "丁"], "multiple": ["甲", "乙", "丙", "丁", "戊"],
                   "judge": ["对", "错"], "blank": []}[qtype]
        answer = {"single": rng.choice("ABCD"), "multiple": "".join(sorted(rng.sample("ABCDE", rng.choice([2, 3])))),
                  "judge": rng.choice("AB"), "blank": f"{rng.randint(2, 90)}日"}[qtype]
        ref = SourceRef("模拟法@2026-01-01", f"第{i}条", f"模拟法@2026-01-01/第{i}条", f"{i:064x}", f"第{i}条原文")
        out.append(Question(f"sim-{i:04d}", qtype, f"模拟题 {i}", options, answer, f"依据第{i}条", [ref],
                            {"领域": [FIELDS[i % 3]], "技能": ["法律适用"]}, difficulty=1 + i % 3))
    return out, {q.id: q for q in out}


def respond(rng: random.Random, q: Question, skill: float) -> tuple[str, float, float]:
    """An answer: right with probability ``skill``, else wrong or (多选) partly right. Returns
    the answer and the points it should earn all-or-nothing and with partial credit."""
    if rng.random() < skill:
        return q.answer, 1.0, 1.0
    if q.qtype == "blank":
        return "不知道", 0.0, 0.0
    if q.qtype == "multiple" and rng.random() < 0.5:
        part = q.answer[:len(q.answer) - 1]  # a proper subset of the key, nothing wrong chosen
        return part, 0.0, len(part) / len(q.answer)
    letters = "ABCDE"[:len(q.options)]
    wrong = [ch for ch in letters if ch not in q.answer]
    return rng.choice(wrong), 0.0, 0.0


def by_name(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def at_once(n: int, work) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def moment(year: int, month: int, rng: random.Random) -> datetime:
    day = rng.randint(1, 28)
    local = datetime(year, month, day, rng.randint(8, 21), rng.randint(0, 59), rng.randint(0, 59), tzinfo=LOCAL_TZ)
    return local.astimezone(UTC)


def officer_year(sessions: sessionmaker[Session], seed: int, username: str, year: int, plans: list[QuizPlan],
                 bank: dict[str, Question], log: Log, double_rate: float) -> None:
    """One officer's year of quizzes, decided by their own seeded generator."""
    rng = random.Random(f"{seed}/{username}")
    skill = rng.uniform(0.35, 0.97)
    for plan in plans:
        if rng.random() > 0.85:
            continue
        when = moment(year, plan.month, rng)
        passed = False
        for n in range(plan.max_attempts):
            if passed or (n > 0 and rng.random() > 0.6):  # 60% of those who failed try again
                break
            with sessions() as s:
                me = by_name(s, username)
                attempt = start_attempt(s, me, plan.code, clock=lambda w=when: w)
                log.add("started")
                items = questions(s, me, attempt.id)
                answers, strict, partial = {}, 0.0, 0.0
                for item in items:
                    answer, a, p = respond(rng, bank[item.key], skill)
                    answers[item.key] = answer
                    strict, partial = strict + a, partial + p
                half = len(items) // 2
                save_answers(s, me, attempt.id, dict(list(answers.items())[:half]),
                             clock=lambda w=when: w + timedelta(minutes=2))
                late = rng.random() < 0.03
                took = timedelta(minutes=plan.minutes, seconds=30) if late else timedelta(
                    minutes=rng.uniform(2, plan.minutes - 1))
                done_at = when + took
                rest = dict(list(answers.items())[half:])
                expected = round(100 * (partial if plan.scoring == "partial" else strict) / len(items), 2)
                attempt_id, user_id = attempt.id, me.id
            if late:
                with sessions() as s:
                    try:
                        submit_attempt(s, s.get(User, user_id), attempt_id, rest, clock=lambda d=done_at: d)
                    except TimeLimitExceeded:
                        log.add("late_refused")
                when = done_at + timedelta(days=rng.randint(1, 3))
                continue

            def submit(aid: int = attempt_id, uid: int = user_id, answers: dict = rest, d: datetime = done_at):
                with sessions() as s:
                    return submit_attempt(s, s.get(User, uid), aid, answers, clock=lambda: d)

            racing = rng.random() < double_rate
            results = at_once(2, submit) if racing else [submit()]
            errors = [r for r in results if isinstance(r, Exception)]
            if errors:
                raise errors[0]
            first = [r for r in results if not r.already_submitted]
            if racing:
                log.add("races")
                log.add("race_firsts", len(first))
                log.add("race_repeats", len(results) - len(first))
            result = first[0]
            if abs(result.attempt.percent - expected) > 0.011:
                log.add("grading_mismatches")
            passed = expected >= plan.pass_mark
            with log.lock:
                log.submitted.append((username, plan.code, result.attempt.year, expected, passed))
            when = done_at + timedelta(days=rng.randint(1, 5))


def coordinator_year(sessions: sessionmaker[Session], seed: int, coordinator: str, officers: list[str], year: int,
                     log: Log) -> None:
    """A coordinator enters the unit's offline training through the year, with a few mistakes."""
    rng = random.Random(f"{seed}/{coordinator}")
    sessions_plan: list[tuple[date, str, Decimal, str]] = []
    for who in officers:
        if rng.random() < 0.75:
            sessions_plan.append((date(year, rng.choice([3, 4, 9, 10]), rng.randint(1, 28)), "集中轮训",
                                  Decimal(rng.choice([16, 24, 32])), who))
        for month in range(1, 13):
            if rng.random() < 0.6:
                sessions_plan.append((date(year, month, 15), "岗位练兵", Decimal(2), who))
        for month in (2, 5, 8, 11):
            if rng.random() < 0.5:
                sessions_plan.append((date(year, month, 20), "专题讲座", Decimal("1.5"), who))
    sessions_plan.sort()
    end = datetime(year, 12, 31, 12, tzinfo=UTC)
    with sessions() as s:
        me = by_name(s, coordinator)
        for on, category, hours, who in sessions_plan:
            note = f"{category} 签到表 {on.isoformat()}"
            if rng.random() < 0.03:  # typed a zero too many: reversed, then entered right
                typo = min(hours * 10, Decimal(200))
                wrong = add_offline(s, me, who, category, typo, on, note, clock=lambda: end)
                with log.lock:
                    log.offline[wrong.id] = (who, year, typo)
                fix = reverse_entry(s, me, wrong.id, "学时录入错误", clock=lambda: end)
                with log.lock:
                    log.reversed.add(wrong.id)
                    log.offline[fix.id] = (who, year, -typo)
            entry = add_offline(s, me, who, category, hours, on, note, clock=lambda: end)
            with log.lock:
                log.offline[entry.id] = (who, year, hours)


# --- recomputations, independent of the ledger --------------------------------------------------

def expected_from_log(log: Log, plans: list[QuizPlan], year: int) -> dict[str, Decimal]:
    hours = {p.code: p.hours for p in plans}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    credited = {(user, quiz) for user, quiz, y, _, passed in log.submitted if passed and y == year}
    for user, quiz in credited:
        totals[user] += hours[quiz]
    for user, y, h in log.offline.values():
        if y == year:
            totals[user] += h
    return dict(totals)


def expected_from_tables(engine: Engine, year: int) -> dict[str, Decimal]:
    """From attempts (passed, by quiz and year) and the offline and reversal rows, by plain SQL."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT DISTINCT u.username, q.code, q.credit_centihours FROM attempts a "
            "JOIN users u ON u.id = a.user_id JOIN quizzes q ON q.id = a.quiz_id "
            "WHERE a.status = 'submitted' AND a.passed AND a.year = :y"), {"y": year})
        for username, _, centihours in rows:
            totals[username] += Decimal(centihours) / 100
        rows = conn.execute(text(
            "SELECT u.username, l.centihours FROM ledger l JOIN users u ON u.id = l.user_id "
            "WHERE l.kind IN ('offline', 'reversal') AND l.year = :y"), {"y": year})
        for username, centihours in rows:
            totals[username] += Decimal(centihours) / 100
    return dict(totals)


def csv_totals(data: bytes) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Per 执法证号: the 累计学时 column, and the sum of the item rows."""
    stated: dict[str, Decimal] = {}
    summed: dict[str, Decimal] = defaultdict(Decimal)
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))):
        stated[row["执法证号"]] = Decimal(row["累计学时"])
        summed[row["执法证号"]] += Decimal(row["学时"] or 0)
    return stated, dict(summed)


def xlsx_totals(data: bytes) -> dict[str, Decimal]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data), read_only=True)["汇总"]
    rows = sheet.iter_rows(min_row=2, values_only=True)
    return {r[1]: Decimal(str(r[5])).quantize(Decimal("0.01")) for r in rows}


def xapi_totals(data: bytes) -> dict[str, Decimal]:
    statements = json.loads(data)
    by_id = {s["id"]: s for s in statements}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for s in statements:
        name = s["actor"]["account"]["name"]
        if s["verb"]["id"] == VERBS["voided"]:
            target = by_id[s["object"]["id"]]
            totals[name] -= Decimal(str(target["result"]["extensions"][EXT_CREDIT_HOURS]))
        elif EXT_CREDIT_HOURS in s.get("result", {}).get("extensions", {}):
            totals[name] += Decimal(str(s["result"]["extensions"][EXT_CREDIT_HOURS]))
    return dict(totals)


# --- the run ------------------------------------------------------------------------------------

def run(url: str, seed: int, n_officers: int, workers: int, year: int, double_rate: float) -> int:
    t0 = time.perf_counter()
    cheap_hashes()
    engine = init_db(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    rng = random.Random(seed)
    op = Operator("simulate_year")
    start = datetime(year, 1, 2, 1, 0, tzinfo=UTC)
    scale = n_officers / sum(u[3] for u in UNITS)
    officers_by_unit: dict[str, list[str]] = {}
    usernames: list[str] = []
    cert_of: dict[str, str] = {}
    with sessions() as s:
        for code, name, parent, _ in UNITS:
            add_unit(s, op, code, name, parent, clock=lambda: start)
        add_user(s, op, UserSpec("sim.trainer", "教员", "trainer", "SIM-A", password=PASSWORD), clock=lambda: start)
        add_user(s, op, UserSpec("sim.admin", "管理员", "admin", None, password=PASSWORD), clock=lambda: start)
        for code in TOP_UNITS:
            add_user(s, op, UserSpec(f"coord.{code.lower()}", f"{code} 协调员", "coordinator", code, password=PASSWORD),
                     clock=lambda: start)
        n = 0
        for i, (code, _, _, count) in enumerate(UNITS):
            k = round(count * scale) if i < len(UNITS) - 1 else n_officers - n
            names = []
            for _ in range(k):
                n += 1
                username, cert = f"officer{n:04d}", f"SIM{n:06d}"
                add_user(s, op, UserSpec(username, f"执法员{n:04d}", "officer", code, cert,
                                         [FIELDS[n % 3]], PASSWORD), clock=lambda: start)
                names.append(username)
                cert_of[username] = cert
            officers_by_unit[code] = names
            usernames += names
        bank_list, bank = make_bank(rng)
        trainer_user = by_name(s, "sim.trainer")
        save_questions(s, trainer_user, bank_list, source="simulate_year", clock=lambda: start)
        set_state(s, trainer_user, list(bank), "approved", clock=lambda: start)
        plans = [QuizPlan(f"M{m:02d}", m, 10, Decimal(2), 60, 3, 20, "partial" if m % 3 == 0 else "all_or_nothing")
                 for m in range(1, 13)]
        plans.append(QuizPlan("ANNUAL", 11, 20, Decimal(4), 70, 2, 40, "all_or_nothing"))
        for p in plans:
            spec = QuizSpec(p.code, f"{year} 年 {p.code} 测验", count=p.count, seed=seed + p.month,
                            time_limit_minutes=p.minutes, pass_mark=p.pass_mark, max_attempts=p.max_attempts,
                            credit_hours=p.hours, multiple_scoring=p.scoring)
            create_quiz(s, trainer_user, spec, clock=lambda: start)
    setup = time.perf_counter() - t0

    log = Log()
    t1 = time.perf_counter()
    coordinators = {code: [*officers_by_unit[code], *(officers_by_unit.get(f"{code}1", [])),
                           *(officers_by_unit.get(f"{code}2", []))] for code in TOP_UNITS}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(coordinator_year, sessions, seed, f"coord.{code.lower()}", who, year, log)
                   for code, who in coordinators.items()]
        futures += [pool.submit(officer_year, sessions, seed, u, year, plans, {k: bank[k] for k in bank}, log,
                                double_rate) for u in usernames]
        for f in futures:
            f.result()
    simulated = time.perf_counter() - t1

    t2 = time.perf_counter()
    exported: dict[str, Decimal] = {}
    summed: dict[str, Decimal] = {}
    from_xlsx: dict[str, Decimal] = {}
    from_xapi: dict[str, Decimal] = {}
    end = datetime(year, 12, 31, 15, tzinfo=UTC)
    with sessions() as s:
        admin = by_name(s, "sim.admin")
        for code in TOP_UNITS:
            coord = by_name(s, f"coord.{code.lower()}")
            stated, items = csv_totals(export_unit(s, coord, code, year, "csv", clock=lambda: end).data)
            exported |= stated
            summed |= items
            from_xlsx |= xlsx_totals(export_unit(s, coord, code, year, "xlsx", clock=lambda: end).data)
            from_xapi |= xapi_totals(export_unit(s, admin, code, year, "xapi", clock=lambda: end).data)
        unit_ids = list(s.scalars(text("SELECT id FROM units")))
        mid = unit_progress(s, unit_ids, year, date(year, 6, 30))
        full = unit_progress(s, unit_ids, year, date(year, 12, 31))
        counts = dict(s.execute(text("SELECT kind, COUNT(*) FROM ledger GROUP BY kind")).all())
        dup = s.scalar(text("SELECT COUNT(*) FROM (SELECT user_id, year, quiz_id FROM ledger WHERE kind = 'quiz' "
                            "GROUP BY user_id, year, quiz_id HAVING COUNT(*) > 1) d"))
        attempts_by_status = dict(s.execute(text("SELECT status, COUNT(*) FROM attempts GROUP BY status")).all())
    checked = time.perf_counter() - t2

    zero = Decimal("0.00")
    by_cert = {cert_of[u]: u for u in usernames}
    from_log = expected_from_log(log, plans, year)
    from_sql = expected_from_tables(engine, year)
    problems = Counter()
    for cert, username in by_cert.items():
        want = from_log.get(username, zero)
        for name, got in (("csv 累计学时", exported.get(cert)), ("csv item rows", summed.get(cert)),
                          ("xlsx 汇总", from_xlsx.get(cert)), ("xapi", from_xapi.get(username, zero)),
                          ("sql recomputation", from_sql.get(username, zero))):
            if got is None or got != want:
                problems[name] += 1
    credits_expected = len({(u, q) for u, q, y, _, ok in log.submitted if ok and y == year})
    lost = credits_expected - counts.get("quiz", 0)
    engine.dispose()

    total = sum(from_log.values(), zero)
    print(f"simulate_year: seed {seed}, {year}, {len(usernames)} officers in {len(UNITS)} units "
          f"({len(TOP_UNITS)} top-level, SIM-A with 2 sub-units), {len(plans)} quizzes, {len(bank)} questions, "
          f"{workers} worker threads, {engine.dialect.name}")
    print(f"  attempts: {log.started} started, {len(log.submitted)} submitted "
          f"({sum(1 for *_, ok in log.submitted if ok)} passed), {log.late_refused} late submissions refused; "
          f"in the database: {dict(sorted(attempts_by_status.items()))}")
    print(f"  concurrent double submits: {log.races} races → {log.race_firsts} graded, {log.race_repeats} answered "
          f"'already submitted'; grading differences from the simulation's own scoring: {log.grading_mismatches}")
    print(f"  ledger: {counts.get('quiz', 0)} quiz credits (expected {credits_expected}: lost {max(lost, 0)}, "
          f"duplicated {dup + max(-lost, 0)}), {counts.get('offline', 0)} offline lines, "
          f"{counts.get('reversal', 0)} reversals; {total} h in all, {total / len(usernames):.2f} h per officer")
    print(f"  goal: {sum(p.met for p in full)} of {len(full)} officers reached 60 h; behind the pro-rata "
          f"expectation on {year}-06-30 ({mid[0].expected} h): {sum(p.behind for p in mid)}, "
          f"on {year}-12-31: {sum(p.behind for p in full)}")
    print(f"  exports vs recomputation (per officer, {len(by_cert)} officers × csv, csv items, xlsx, xapi, sql): "
          f"{sum(problems.values())} differences {dict(problems) or ''}")
    print(f"  time: setup {setup:.1f}s, simulated year {simulated:.1f}s, exports and checks {checked:.1f}s")
    ok = (not problems and lost == 0 and dup == 0 and log.race_firsts == log.races and not log.grading_mismatches)
    print("  OK" if ok else "  FAILED")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--officers", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4, help="threads running officers and coordinators at once")
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--double-submit-rate", type=float, default=0.1,
                    help="share of submissions sent twice at once from two threads")
    ap.add_argument("--database-url", help="a PostgreSQL server to run on (a throwaway schema); default: SQLite")
    args = ap.parse_args()
    with fresh_database(args.database_url) as url:
        return run(url, args.seed, args.officers, args.workers, args.year, args.double_submit_rate)


if __name__ == "__main__":
    sys.exit(main())
