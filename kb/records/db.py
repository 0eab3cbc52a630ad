"""Engine, sessions and schema migrations for the records database.

SQLite under ``data_dir`` by default (WAL, foreign keys on, real transactions so migrations are
atomic); PostgreSQL when ``KB_DATABASE_URL`` says so. The schema is brought to the newest
Alembic revision in code (:func:`init_db`), with the scripts shipped inside this package, so
it works the same from a fresh clone, an installed wheel and the test suite.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from kb.config import Settings
from kb.records.errors import DatabaseError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Held while migrating on PostgreSQL, so an app and a CLI starting together do not both migrate.
_PG_MIGRATION_LOCK = 0x7A686966616B62  # "zhifakb"


def database_url(settings: Settings | str) -> URL:
    """The SQLAlchemy URL; a bare ``postgresql://`` is sent to psycopg 3 (the driver we ship)."""
    raw = settings if isinstance(settings, str) else settings.effective_database_url
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise DatabaseError(f"KB_DATABASE_URL is not a database URL: {exc}") from exc
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise DatabaseError(f"records database must be SQLite or PostgreSQL, not {url.get_backend_name()!r}")
    return url


def safe_url(url: URL) -> str:
    """The URL with its password masked, for messages and logs."""
    return url.render_as_string(hide_password=True)


def make_engine(settings: Settings | str) -> Engine:
    """An engine for the configured database (no migration; see :func:`init_db`)."""
    url = database_url(settings)
    dumps = lambda obj: json.dumps(obj, ensure_ascii=False)  # noqa: E731 - readable Chinese in the JSON columns
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=dumps)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, json_serializer=dumps, pool_pre_ping=True)


def _sqlite_setup(engine: Engine) -> None:
    """Foreign keys and WAL on every connection; and real transactions: pysqlite's own
    transaction handling leaves DDL in autocommit, which would make a failed migration
    half-applied. ``BEGIN IMMEDIATE`` (execution option ``immediate``) takes the write lock
    up front, for migrations that must not interleave."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (there is no alembic.ini). To write the next
    migration: ``command.revision(alembic_config("sqlite:///data/records.sqlite"), "message",
    autogenerate=True)`` against a database at head, then edit the result by hand."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates '%'
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _migrate(engine: Engine, revision: str, downgrade: bool = False) -> None:
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(immediate=True)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
                cfg = alembic_config(connection=conn)
                (command.downgrade if downgrade else command.upgrade)(cfg, revision)
    except (OperationalError, SADatabaseError) as exc:
        raise DatabaseError(
            f"cannot open or migrate the records database {safe_url(engine.url)}: "
            f"{str(getattr(exc, 'orig', exc)).strip()}; check KB_DATABASE_URL and that the server is running"
        ) from exc


def init_db(settings: Settings | str | Engine) -> Engine:
    """Create or upgrade the schema to the newest revision (idempotent, atomic); returns the engine."""
    engine = settings if isinstance(settings, Engine) else make_engine(settings)
    _migrate(engine, "head")
    return engine


def downgrade_db(engine: Engine, revision: str = "base") -> None:
    """Undo migrations down to ``revision`` ("base" drops every records table)."""
    _migrate(engine, revision, downgrade=True)


def session_factory(settings: Settings | str | Engine, migrate: bool = True) -> sessionmaker[Session]:
    """Sessions for the records, after bringing the schema up to date (``migrate=False`` skips
    that). Objects stay readable after commit, because the CLI and pages print them then."""
    engine = init_db(settings) if migrate else (settings if isinstance(settings, Engine) else make_engine(settings))
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start ``session``'s next transaction as a writer, before the action reads what it checks.

    On SQLite this is ``BEGIN IMMEDIATE``: the write lock is taken up front, so two writers
    queue (``busy_timeout``) instead of the second failing when it upgrades a stale read
    snapshot, and what the action reads stays true until it commits. On PostgreSQL it is an
    ordinary transaction; the actions lock the rows they depend on (``SELECT … FOR UPDATE``)
    and unique constraints settle the rest. A read-only transaction already open (lookups,
    access checks) is ended first; pending changes are a programming error. The records
    functions call it through :func:`writing`, which also commits, rolls back and nests.
    """
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write: the session holds unsaved changes; commit or roll back first")
        session.commit()
    session.connection(execution_options={"immediate": True})


_WRITING = "kb.records.writing"  # the session.info key of the outermost open writing block


@dataclass
class _Write:
    """The outermost :func:`writing` block open on a session."""

    transaction: SessionTransaction | None
    committing: bool = False
    failed: bool = False  # an inner block ended by an exception (even one caught afterwards)
    after: list[Callable[[], None]] = field(default_factory=list)


@contextmanager
def writing(session: Session) -> Iterator[Session]:
    """One write transaction for the block: it begins as :func:`begin_write` does (SQLite:
    ``BEGIN IMMEDIATE``, the write lock taken before the action reads what it checks),
    commits when the block ends and rolls back when an exception leaves it.

    Blocks nest, and only the outermost one commits or rolls back. Each records function
    that writes opens one, so a caller that strings several of them together (publishing a
    drill saves questions, approves them, creates a quiz and updates the drill) wraps the
    sequence in its own ``writing`` and gets all of it or nothing: were each inner block to
    commit, a failure half-way would leave the first steps done and the rest not. An inner
    block therefore neither begins (that would commit the outer one's work) nor ends the
    transaction; an exception leaving it still fails the whole transaction, even if the
    caller catches it, because the inner work may be half done. Calling ``session.commit()``
    or ``session.rollback()`` inside a block is a programming error (RuntimeError; a
    rollback is noticed when the block ends, its writes already gone).

    Work that must happen whatever the transaction's outcome, and outside it, is queued
    with :func:`after_writing` (the audit log's refusals: on SQLite nobody else can write
    while the block holds the lock).
    """
    if _WRITING in session.info:
        try:
            yield session
        except BaseException:
            session.info[_WRITING].failed = True
            raise
        return
    begin_write(session)
    if not event.contains(session, "before_commit", _refuse_inner_commit):
        event.listen(session, "before_commit", _refuse_inner_commit)
    state = session.info[_WRITING] = _Write(session.get_transaction())
    try:
        yield session
        if state.failed:
            raise RuntimeError("writing: a nested write failed and its exception was caught; the whole "
                               "transaction is rolled back")
        if session.get_transaction() is not state.transaction:
            raise RuntimeError("writing: the transaction was ended inside the block (session.rollback()); "
                               "what the block wrote before that is lost")
        state.committing = True
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_WRITING, None)
        for action in state.after:
            try:
                action()
            except Exception:  # never hide the block's own outcome (or exception) behind this one
                log.exception("writing: an action queued for after the transaction failed")


def in_writing(session: Session) -> bool:
    """True inside a :func:`writing` block on ``session``."""
    return _WRITING in session.info


def after_writing(session: Session, action: Callable[[], None]) -> bool:
    """Inside a :func:`writing` block: queue ``action`` to run once the outermost block has
    ended (committed or rolled back) and return True; outside one: False, and nothing is done."""
    state = session.info.get(_WRITING)
    if state is None:
        return False
    state.after.append(action)
    return True


def _refuse_inner_commit(session: Session) -> None:
    state = session.info.get(_WRITING)
    if state is not None and not state.committing and not session.in_nested_transaction():
        raise RuntimeError("writing: session.commit() inside a writing block; the outermost block commits")
