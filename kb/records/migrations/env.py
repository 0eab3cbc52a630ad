"""Alembic environment: migrates the connection handed over by ``kb.records.db``.

There is no alembic.ini: ``kb.records.db.alembic_config`` builds the configuration in code,
with either a connection (``init_db``) or a URL (writing a new revision; see its docstring).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from kb.records.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        transactional_ddl=True,  # both backends roll DDL back; kb.records.db runs SQLite with real BEGINs
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from kb.records.db import make_engine

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database: use kb.records.db.alembic_config(url)")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()
