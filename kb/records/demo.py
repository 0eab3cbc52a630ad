"""Demo data, so a new installation shows every page populated: ``kb demo``.

Three units (省 → 市 → 区), a trainer, a coordinator and five officers, questions generated
from the indexed documents and approved by the trainer, two quizzes, attempts (one passed,
one failed) and offline training entries. Everything goes through the same core functions the
app uses (so it is audited and validated like real work), under the admin ``Operator``.
Running it again changes nothing. All demo accounts share one password, printed by the
command; never run this on a production database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.records import attempts, ledger, quizzes
from kb.records.models import Actor, Attempt, Clock, LedgerEntry, Operator, Question, Quiz, Unit, User, utcnow
from kb.records.people import UserSpec, add_user
from kb.records.questions import list_questions, save_questions, set_state, to_model
from kb.records.units import add_unit
from kb.store.base import VectorStore

DEMO_PASSWORD = "Zhifa2026demo"
SCENARIOS = Path(__file__).resolve().parents[2] / "corpus" / "scenarios"
UNITS = [("440000", "示范省司法厅", None), ("440100", "示范市市场监督管理局", "440000"),
         ("440103", "示范区综合行政执法局", "440100")]
PEOPLE = [
    UserSpec("demo.trainer", "王教员", "trainer", "440000"),
    UserSpec("demo.coord", "李协调", "coordinator", "440100"),
    UserSpec("demo.officer1", "张执法", "officer", "440100", "44010020240001", "市场监管"),
    UserSpec("demo.officer2", "陈执法", "officer", "440100", "44010020240002", "市场监管"),
    UserSpec("demo.officer3", "刘执法", "officer", "440103", "44010320240003", "综合执法"),
    UserSpec("demo.officer4", "黄执法", "officer", "440103", "44010320240004", "综合执法"),
    UserSpec("demo.officer5", "赵执法", "officer", "440103", "44010320240005", "生态环境"),
]
QUIZZES = [
    quizzes.QuizSpec(code="DEMO-BASIC", title="行政执法基础知识测验", count=10, seed=1, time_limit_minutes=20,
                     pass_mark=60, max_attempts=3, credit_hours=Decimal(2)),
    quizzes.QuizSpec(code="DEMO-JUDGE", title="执法程序判断题练习", count=8, qtypes=("judge",), seed=2,
                     pass_mark=75, credit_hours=Decimal(1)),
]
OFFLINE = [("demo.officer1", "集中轮训", "16", "2026 年全省行政执法人员集中轮训（第一期）签到表"),
           ("demo.officer2", "岗位练兵", "8", "市局岗位练兵活动记录"),
           ("demo.officer4", "专题讲座", "3", "《行政处罚法》专题讲座签到表")]


@dataclass
class DemoReport:
    created: bool
    users: list[str] = field(default_factory=list)
    questions: int = 0
    drills: int = 0  # 0 when the knowledge base lacks laws our drills cite
    quizzes: list[str] = field(default_factory=list)
    password: str = DEMO_PASSWORD


def seed_demo(session: Session, store: VectorStore, *, password: str = DEMO_PASSWORD,
              clock: Clock = utcnow) -> DemoReport:
    """Create the demo data; a second run reports ``created=False`` and changes nothing.

    Each step skips what exists, so a run interrupted half-way is completed by the next one;
    the last step (offline training) marks the whole as done."""
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.note == OFFLINE[-1][3]).limit(1)) is not None:
        return DemoReport(created=False, users=[p.username for p in PEOPLE], password=password)
    from kb.quiz.generate import generate_questions

    admin: Actor = Operator(name="demo")
    for code, name, parent in UNITS:
        if session.scalar(select(Unit.id).where(Unit.code == code)) is None:
            add_unit(session, admin, code, name, parent, clock=clock)
    for spec in PEOPLE:
        if session.scalar(select(User.id).where(User.username == spec.username)) is None:
            add_user(session, admin, UserSpec(spec.username, spec.display_name, spec.role, spec.unit_code,
                                              spec.cert_no, spec.fields, password), clock=clock)
    trainer = session.scalar(select(User).where(User.username == "demo.trainer"))
    existing = [to_model(q) for q in list_questions(session)]
    report = generate_questions(store, None, 6, existing)
    if report.questions:
        save_questions(session, trainer, report.questions, source="demo", clock=clock)
    drafts = [q.key for q in list_questions(session, state="draft")]
    if drafts:
        set_state(session, trainer, drafts, "approved", clock=clock)
    made = []
    for spec in QUIZZES:
        if session.scalar(select(Question.id).where(Question.state == "approved").limit(1)) is None:
            break
        if session.scalar(select(Quiz.id).where(Quiz.code == spec.code)) is None:
            available = len(quizzes.eligible(session, spec))
            if available < 3:  # a small knowledge base: too few questions of this kind
                continue
            quizzes.create_quiz(session, trainer, replace(spec, count=min(spec.count or available, available)),
                                clock=clock)
        made.append(spec.code)
    if made and session.scalar(select(Attempt.id).where(Attempt.quiz_id == quizzes.get_quiz(session, made[0]).id)
                               .limit(1)) is None:
        _attempt(session, "demo.officer1", made[0], correct=True, clock=clock)
        _attempt(session, "demo.officer2", made[0], correct=False, clock=clock)
    drills = _drills(session, trainer, store, clock)
    coord = session.scalar(select(User).where(User.username == "demo.coord"))
    today = clock().date()
    for username, category, hours, note in OFFLINE:
        ledger.add_offline(session, coord, username, category, hours, date(today.year, 3, 15), note, clock=clock)
    return DemoReport(created=True, users=[p.username for p in PEOPLE], questions=len(drafts), quizzes=made,
                      drills=drills, password=password)


def _drills(session: Session, trainer: User, store: VectorStore, clock: Clock) -> int:
    """Our drills (corpus/scenarios) when the knowledge base holds every law they cite; with
    a smaller knowledge base they are skipped (the import is all-or-none)."""
    from kb.errors import KBError
    from kb.quiz.resolve import KBResolver
    from kb.records.drills import import_drill_files

    try:
        return len(import_drill_files(session, trainer, [SCENARIOS], KBResolver(store), clock=clock))
    except KBError:
        session.rollback()
        return 0


def _attempt(session: Session, username: str, quiz_code: str, *, correct: bool, clock: Clock) -> None:
    """Take a quiz as ``username``: every keyed answer, or none right."""
    officer = session.scalar(select(User).where(User.username == username))
    attempt = attempts.start_attempt(session, officer, quiz_code, clock=clock)
    quiz = quizzes.get_quiz(session, quiz_code)
    answers = {item.key: (item.answer if correct else _wrong(item.qtype, item.answer)) for item in quiz.items}
    attempts.submit_attempt(session, officer, attempt.id, answers, clock=clock)


def _wrong(qtype: str, answer: str) -> str:
    if qtype in ("single", "multiple", "judge"):
        return "A" if answer != "A" else "B"
    return "（未作答）"
