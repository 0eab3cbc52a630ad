"""Training records: units (单位), users and roles, the audit log, the question bank, quizzes
and attempts, the 60-hour 学时 ledger and exports. SQLite by default, PostgreSQL by
``KB_DATABASE_URL``.

Modules, one concept each:

- ``db``: engines, sessions, Alembic migrations run in code (``init_db``).
- ``models``: the ORM schema; ``migrations/``: the same schema as versioned DDL.
- ``auth``: password hashing and policy, sign-in with lockout.
- ``access``: who may do what (roles, unit scope); every entry point goes through it.
- ``people`` / ``units``: the actions (add, import, reset, list), each audited.
- ``audit``: the append-only log writer; ``validate``: formats of identifiers and text.
- ``csvfile``: reading Excel/WPS CSV files with line numbers.
- ``questions``: the question bank (kb.quiz.model.Question stored; draft → approved → retired).
- ``quizzes``: quizzes assembled from approved questions; ``grading``: scoring one answer.
- ``attempts``: start, save, submit (grade and credit in one transaction), results.
- ``ledger``: the append-only 学时 ledger, offline training, reversals, progress toward 60 h.
- ``export``: CSV / XLSX / xAPI (cmi5-shaped) exports of a unit's year.
- ``cli``: ``kb users``, ``kb units``, ``kb ledger``, ``kb export``.

This package imports nothing heavy, so ``kb`` starts fast; import the modules you need.
"""
