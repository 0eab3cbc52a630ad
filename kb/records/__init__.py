"""Training records: units (单位), users and roles, the audit log; later quizzes, attempts,
the 60-hour ledger and exports. SQLite by default, PostgreSQL by ``KB_DATABASE_URL``.

Modules, one concept each:

- ``db``: engines, sessions, Alembic migrations run in code (``init_db``).
- ``models``: the ORM schema; ``migrations/``: the same schema as versioned DDL.
- ``auth``: password hashing and policy, sign-in with lockout.
- ``access``: who may do what (roles, unit scope); every entry point goes through it.
- ``people`` / ``units``: the actions (add, import, reset, list), each audited.
- ``audit``: the append-only log writer; ``validate``: formats of identifiers and text.
- ``csvfile``: reading Excel/WPS CSV files with line numbers; ``cli``: ``kb users``/``kb units``.

This package imports nothing heavy, so ``kb`` starts fast; import the modules you need.
"""
