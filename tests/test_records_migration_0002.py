"""Migration 0002 (question bank, quizzes, attempts, ledger): applied over a 0001 database
holding people, undone without touching them, and the ledger's append-only triggers gone
with it. (test_records_db checks that models and migrations describe the same schema.)"""

from __future__ import annotations

from sqlalchemy import inspect, select, text

from kb.records.db import _migrate, current_revision, downgrade_db, head_revision, init_db, make_engine
from kb.records.models import Operator, User
from kb.records.people import UserSpec, add_user
from kb.records.units import add_unit
from tests.test_records_fixtures import PASSWORD

pytest_plugins = ["tests.test_records_fixtures"]
NEW = {"questions", "question_tags", "quizzes", "quiz_items", "attempts", "attempt_answers", "ledger"}


def test_0002_upgrades_a_populated_0001_database_and_downgrades_cleanly(records_settings, fast_hashes):
    from sqlalchemy.orm import Session

    engine = make_engine(records_settings)
    try:
        _migrate(engine, "0001")
        assert current_revision(engine) == "0001" and not NEW & set(inspect(engine).get_table_names())
        with Session(engine) as s:
            add_unit(s, Operator("ops"), "440000", "广东省")
            add_user(s, Operator("ops"), UserSpec("zhang.th", "张三", "officer", "440000", password=PASSWORD))
        init_db(engine)
        assert current_revision(engine) == head_revision()  # 0002 and every later revision
        assert set(inspect(engine).get_table_names()) >= NEW
        with engine.begin() as conn:
            uid = conn.execute(text("SELECT id FROM users WHERE username = 'zhang.th'")).scalar_one()
            conn.execute(text("INSERT INTO ledger (user_id, year, on_date, kind, category, centihours, note, "
                              "created_at) VALUES (:u, 2026, '2026-03-01', 'offline', '集中轮训', 800, 'n', "
                              "CURRENT_TIMESTAMP)"), {"u": uid})
        downgrade_db(engine, "0001")
        assert current_revision(engine) == "0001" and not NEW & set(inspect(engine).get_table_names())
        with Session(engine) as s:
            assert s.scalar(select(User.display_name)) == "张三"
        init_db(engine)  # and up again: the triggers and the function went with the tables
        assert set(inspect(engine).get_table_names()) >= NEW
    finally:
        engine.dispose()
