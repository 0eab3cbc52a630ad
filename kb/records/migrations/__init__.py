"""Alembic migrations of the records database (run them with ``kb.records.db.init_db``)."""
