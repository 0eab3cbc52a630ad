"""Fixtures shared by the records tests (each tests/test_records_*.py loads them with
``pytest_plugins``; this module holds no tests).

Every records test runs on SQLite (a file in tmp_path) and on PostgreSQL when
KB_TEST_POSTGRES_URL is set (``bash scripts/postgres.sh`` prints one); each PostgreSQL test
gets a schema of its own, dropped afterwards. Under CI a missing PostgreSQL URL fails the run
instead of skipping, so a green CI means both databases were tested.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from kb.errors import KBError
from kb.records.cli import add_parser

PG_URL = os.environ.get("KB_TEST_POSTGRES_URL", "")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql"),
]
PASSWORD = "Xunlian2024pass"  # meets the policy: 10+ characters, letters and digits


def _pg_or_skip() -> str:
    if PG_URL:
        return PG_URL
    if os.environ.get("CI"):
        pytest.fail("CI must test PostgreSQL: export KB_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)")
    pytest.skip("KB_TEST_POSTGRES_URL not set (bash scripts/postgres.sh starts a throwaway server)")


@pytest.fixture(params=BACKENDS)
def records_settings(request, tmp_path):
    """Settings whose records database is empty: a fresh SQLite file or PostgreSQL schema."""
    from kb.config import load_settings

    if request.param == "sqlite":
        yield load_settings(config_file=tmp_path / "absent.toml", data_dir=tmp_path, database_url="")
        return
    base = make_url(_pg_or_skip())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield load_settings(config_file=tmp_path / "absent.toml", data_dir=tmp_path,
                            database_url=url.render_as_string(hide_password=False))
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheap argon2 parameters: the tests hash hundreds of passwords; production's are
    checked in test_records_auth. Verification reads the parameters from each hash."""
    from kb.records import auth

    monkeypatch.setattr(auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    auth._dummy_hash.cache_clear()


@pytest.fixture
def db(records_settings, fast_hashes):
    """A migrated records database: ``db.Session()`` opens sessions on it."""
    from kb.records.db import init_db

    engine = init_db(records_settings)
    yield DB(engine=engine, Session=sessionmaker(engine, expire_on_commit=False), settings=records_settings)
    engine.dispose()


@dataclass
class DB:
    engine: object
    Session: sessionmaker[Session]
    settings: object


class Clock:
    """An injected clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock():
    return Clock()


# 广东省 → 广州市 → 天河区 / 越秀区; 广东省 → 深圳市 → 南山区
UNITS = [
    ("440000", "广东省", None),
    ("440100", "广州市", "440000"),
    ("440106", "天河区", "440100"),
    ("440104", "越秀区", "440100"),
    ("440300", "深圳市", "440000"),
    ("440305", "南山区", "440300"),
]
USERS = [
    ("admin", "系统管理员", "admin", None),
    ("trainer", "培训教员", "trainer", "440000"),
    ("coord.gd", "省协调员", "coordinator", "440000"),
    ("coord.gz", "广州协调员", "coordinator", "440100"),
    ("coord.th", "天河协调员", "coordinator", "440106"),
    ("zhang.th", "张三", "officer", "440106"),
    ("li.yx", "李四", "officer", "440104"),
    ("wang.gz", "王五", "officer", "440100"),
    ("zhao.ns", "赵六", "officer", "440305"),
]


@pytest.fixture
def world(db, clock):
    """The units and users above, created through the public API by the shell operator."""
    from kb.records.models import Operator
    from kb.records.people import UserSpec, add_user
    from kb.records.units import add_unit

    op = Operator("setup")
    with db.Session() as s:
        for code, name, parent in UNITS:
            add_unit(s, op, code, name, parent, clock=clock)
        for i, (username, name, role, unit) in enumerate(USERS):
            add_user(s, op, UserSpec(username, name, role, unit, cert_no=f"44{i:06d}", fields=["市场监管"],
                                     password=PASSWORD), clock=clock)
    return db


def user(session: Session, username: str):
    from sqlalchemy import select

    from kb.records.models import User

    return session.scalar(select(User).where(User.username == username))


def count(session: Session, model) -> int:
    from sqlalchemy import func, select

    return session.scalar(select(func.count()).select_from(model))


# --- question bank, quizzes, attempts, ledger (tests/test_records_quiz*.py, _ledger, _export) ---

FIELDS = ("市场监管", "生态环境")


def make_question(i: int, qtype: str = "single", field: str = "市场监管", difficulty: int = 2):
    """A question in the generator's shape: single/judge/multiple/blank, keyed predictably
    (single: A; multiple: AC; judge: A; blank: 十五日)."""
    from kb.quiz.model import Question, SourceRef

    options = {"single": ["十五日", "三十日", "六十日", "九十日"], "multiple": ["警告", "罚款", "通报批评", "拘留"],
               "judge": ["对", "错"], "blank": [], "scenario": ["先取证", "先处罚", "先公告"]}[qtype]
    answer = {"single": "A", "multiple": "AC", "judge": "A", "blank": "十五日", "scenario": "A"}[qtype]
    ref = SourceRef(doc_key="行政处罚法@2021-01-22", path=f"第{i}条", chunk_key=f"行政处罚法@2021-01-22/第{i}条",
                    text_hash=f"{i:064x}", quote=f"第{i}条的原文")
    return Question(id=f"q-{qtype}-{i:04d}", qtype=qtype, stem=f"第{i}题（{qtype}）题干", options=options,
                    answer=answer, explanation=f"依据「第{i}条的原文」", sources=[ref],
                    tags={"领域": [field], "技能": ["法律适用"], "法规": ["行政处罚法"]}, difficulty=difficulty)


@pytest.fixture
def bank(world, clock):
    """World plus 24 approved questions (市场监管: 8 single, 4 multiple, 4 judge, 4 blank;
    生态环境: 4 single) and 2 drafts."""
    from kb.records.models import Operator
    from kb.records.questions import save_questions, set_state

    op = Operator("setup")
    qs = ([make_question(i) for i in range(1, 9)] + [make_question(i, "multiple") for i in range(9, 13)]
          + [make_question(i, "judge") for i in range(13, 17)] + [make_question(i, "blank") for i in range(17, 21)]
          + [make_question(i, "single", "生态环境", 3) for i in range(21, 25)])
    drafts = [make_question(i) for i in range(25, 27)]
    with world.Session() as s:
        save_questions(s, op, qs + drafts, source="fixture", clock=clock)
        set_state(s, op, [q.id for q in qs], "approved", clock=clock)
    return world


def make_quiz(db, clock, code="Q1", keys=None, **rules):
    """A quiz made by the operator: a fixed list (default: 4 single, 1 multiple, 1 judge...)."""
    from kb.records.models import Operator
    from kb.records.quizzes import QuizSpec, create_quiz

    keys = keys or ["q-single-0001", "q-single-0002", "q-multiple-0009", "q-judge-0013", "q-blank-0017"]
    with db.Session() as s:
        spec = QuizSpec(code, f"测验 {code}", question_keys=keys, **rules)
        return create_quiz(s, Operator("setup"), spec, clock=clock)


# Full marks on make_quiz's default paper, and a failing set.
RIGHT = {"q-single-0001": "A", "q-single-0002": "A", "q-multiple-0009": "AC", "q-judge-0013": "对",
         "q-blank-0017": "十五日"}
WRONG = {"q-single-0001": "B", "q-single-0002": "B", "q-multiple-0009": "B", "q-judge-0013": "错",
         "q-blank-0017": "三十日"}


@pytest.fixture
def kb(world, monkeypatch, capsys, tmp_path):
    """Run ``kb ARGS`` in-process against the test database; returns (code, stdout, stderr)."""
    monkeypatch.setenv("KB_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("KB_DATABASE_URL", world.settings.database_url)

    def run(*argv: str, stdin: str = "", prompts: tuple[str, ...] = ()) -> tuple[int, str, str]:
        answers = iter(prompts)
        monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        parser = argparse.ArgumentParser(prog="kb")
        parser.add_argument("--data-dir")
        add_parser(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["--data-dir", str(world.settings.data_dir), *argv])
        try:
            code = args.func(args)
        except KBError as exc:  # what kb.cli.main does
            print(f"error: {exc}", file=sys.stderr)
            code = 1
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
