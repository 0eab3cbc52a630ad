"""The records database: migrations from empty, the SQLite defaults, URLs, the append-only
audit log enforced by the database itself, and UTC times on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from kb.records.db import (
    alembic_config,
    current_revision,
    database_url,
    downgrade_db,
    head_revision,
    init_db,
    make_engine,
)
from kb.records.errors import DatabaseError
from kb.records.models import AuditEntry, Base, User

pytest_plugins = ["tests.test_records_fixtures"]
TABLES = {"units", "users", "user_fields", "audit_log"}


def test_migrations_from_empty_and_back(records_settings):
    engine = make_engine(records_settings)
    try:
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        init_db(engine)
        assert current_revision(engine) == head_revision() == "0004"  # people, training, app, sign-ins
        assert set(inspect(engine).get_table_names()) >= TABLES
        init_db(engine)  # idempotent
        assert current_revision(engine) == "0004"
        downgrade_db(engine)
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        init_db(engine)  # and up again: the downgrade left nothing behind (triggers, functions)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_models_match_migrations(db):
    """Alembic's autogenerate finds nothing to add: the ORM models and the hand-written
    migrations describe the same schema (also exercises env.py's URL path)."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    command.check(alembic_config(db.settings.database_url or db.settings.effective_database_url))


def test_sqlite_default_is_a_file_under_data_dir_with_wal_and_foreign_keys(tmp_path, monkeypatch):
    from kb.config import load_settings

    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    settings = load_settings(config_file=tmp_path / "absent.toml", data_dir=tmp_path / "data")
    engine = init_db(settings)
    try:
        assert (tmp_path / "data" / "records.sqlite").is_file()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(db):
    with db.Session() as s, pytest.raises(DBAPIError):
        s.execute(text("INSERT INTO units (code, name, parent_id, created_at) "
                       "VALUES ('x1', 'x', 999, CURRENT_TIMESTAMP)"))
        s.commit()


def test_database_urls():
    assert database_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert database_url("postgres://u:p@h/db").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///x.sqlite").drivername == "sqlite"
    with pytest.raises(DatabaseError, match="SQLite or PostgreSQL"):
        database_url("mysql://u:p@h/db")
    with pytest.raises(DatabaseError, match="not a database URL"):
        database_url("not a url")


def test_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(DatabaseError) as err:
        init_db("postgresql://kb:s3cretpw@127.0.0.1:1/nothing?connect_timeout=2")
    assert "s3cretpw" not in str(err.value)
    assert "127.0.0.1:1" in str(err.value) and "KB_DATABASE_URL" in str(err.value)


def test_audit_log_is_append_only_in_the_database(world):
    with world.Session() as s:
        assert s.scalar(select(AuditEntry.id).limit(1)) is not None
    for statement in (update(AuditEntry).values(outcome="refused"), AuditEntry.__table__.delete()):
        with world.Session() as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(statement)
            s.commit()
    with world.Session() as s:
        assert s.scalar(select(AuditEntry.outcome).where(AuditEntry.outcome == "refused")) is None


def test_times_come_back_aware_in_utc(world, clock):
    from tests.test_records_fixtures import user

    with world.Session() as s:
        u = user(s, "zhang.th")
        u.locked_until = datetime(2026, 3, 1, 17, 0, tzinfo=timezone(timedelta(hours=8)))  # Beijing time
        s.commit()
    with world.Session() as s:
        u = user(s, "zhang.th")
        assert u.locked_until == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        assert u.locked_until.tzinfo is not None and u.created_at == clock.now
        with pytest.raises(Exception, match="naive"):
            s.execute(update(User).values(locked_until=datetime(2026, 1, 1)))
