"""Training: the question bank (with tags), quizzes and their frozen items, attempts with
answers, and the append-only 学时 ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Like the audit log, the ledger is append-only in the database: corrections are new lines.
PG_APPEND_ONLY = [
    """CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ledger is append-only: add a reversing entry instead'; END $$""",
    """CREATE TRIGGER ledger_no_change BEFORE UPDATE OR DELETE ON ledger
       FOR EACH ROW EXECUTE FUNCTION ledger_append_only()""",
    """CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()""",
]
SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
       BEGIN SELECT RAISE(ABORT, 'ledger is append-only: add a reversing entry instead'); END""",
    """CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
       BEGIN SELECT RAISE(ABORT, 'ledger is append-only: add a reversing entry instead'); END""",
]


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("qtype", sa.String(16), nullable=False),
        sa.Column("stem", sa.Text(), nullable=False),
        sa.Column("options", JSON_DOC, nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("sources", JSON_DOC, nullable=False),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", UTC_TS, nullable=True),
        sa.CheckConstraint("qtype IN ('single', 'multiple', 'judge', 'blank', 'scenario')", name="ck_questions_qtype"),
        sa.CheckConstraint("state IN ('draft', 'approved', 'retired')", name="ck_questions_state"),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 3", name="ck_questions_difficulty"),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"], name="fk_questions_reviewed_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_questions"),
        sa.UniqueConstraint("key", name="uq_questions_key"),
    )
    op.create_index("ix_questions_state", "questions", ["state"])

    op.create_table(
        "question_tags",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_question_tags_question_id_questions",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("question_id", "kind", "value", name="pk_question_tags"),
    )
    op.create_index("ix_question_tags_kind_value", "question_tags", ["kind", "value"])

    op.create_table(
        "quizzes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=True),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("credit_centihours", sa.Integer(), nullable=False),
        sa.Column("multiple_scoring", sa.String(16), nullable=False),
        sa.Column("selection", JSON_DOC, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("pass_mark BETWEEN 0 AND 100", name="ck_quizzes_pass_mark"),
        sa.CheckConstraint("max_attempts IS NULL OR max_attempts > 0", name="ck_quizzes_max_attempts"),
        sa.CheckConstraint("time_limit_s IS NULL OR time_limit_s > 0", name="ck_quizzes_time_limit"),
        sa.CheckConstraint("credit_centihours >= 0", name="ck_quizzes_credit"),
        sa.CheckConstraint("multiple_scoring IN ('all_or_nothing', 'partial')", name="ck_quizzes_multiple_scoring"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name="fk_quizzes_created_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_quizzes"),
        sa.UniqueConstraint("code", name="uq_quizzes_code"),
    )

    op.create_table(
        "quiz_items",
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("qtype", sa.String(16), nullable=False),
        sa.Column("stem", sa.Text(), nullable=False),
        sa.Column("options", JSON_DOC, nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("sources", JSON_DOC, nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name="fk_quiz_items_quiz_id_quizzes", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_quiz_items_question_id_questions"),
        sa.PrimaryKeyConstraint("quiz_id", "position", name="pk_quiz_items"),
        sa.UniqueConstraint("quiz_id", "key", name="uq_quiz_items_quiz_key"),
    )
    op.create_index("ix_quiz_items_question_id", "quiz_items", ["question_id"])

    op.create_table(
        "attempts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("deadline", UTC_TS, nullable=True),
        sa.Column("last_saved_at", UTC_TS, nullable=True),
        sa.Column("submitted_at", UTC_TS, nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'submitted', 'expired')", name="ck_attempts_status"),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name="fk_attempts_quiz_id_quizzes"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_attempts_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.UniqueConstraint("quiz_id", "user_id", "number", name="uq_attempts_quiz_user_number"),
    )
    op.create_index("ix_attempts_quiz_id", "attempts", ["quiz_id"])
    op.create_index("ix_attempts_user_year", "attempts", ["user_id", "year"])

    op.create_table(
        "attempt_answers",
        sa.Column("attempt_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("saved_at", UTC_TS, nullable=False),
        sa.Column("earned", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], name="fk_attempt_answers_attempt_id_attempts",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attempt_id", "position", name="pk_attempt_answers"),
    )

    op.create_table(
        "ledger",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("centihours", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", BIG_ID, nullable=True),
        sa.Column("reverses_id", BIG_ID, nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("kind IN ('quiz', 'offline', 'reversal')", name="ck_ledger_kind"),
        sa.CheckConstraint("(kind = 'quiz' AND quiz_id IS NOT NULL AND attempt_id IS NOT NULL) OR "
                           "(kind <> 'quiz' AND quiz_id IS NULL AND attempt_id IS NULL)", name="ck_ledger_quiz_link"),
        sa.CheckConstraint("(kind = 'reversal' AND reverses_id IS NOT NULL AND centihours < 0) OR "
                           "(kind <> 'reversal' AND reverses_id IS NULL AND centihours > 0)", name="ck_ledger_sign"),
        sa.CheckConstraint("centihours BETWEEN -100000 AND 100000", name="ck_ledger_bounds"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_ledger_user_id_users"),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name="fk_ledger_quiz_id_quizzes"),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], name="fk_ledger_attempt_id_attempts"),
        sa.ForeignKeyConstraint(["reverses_id"], ["ledger.id"], name="fk_ledger_reverses_id_ledger"),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"], name="fk_ledger_entered_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_ledger"),
        sa.UniqueConstraint("user_id", "year", "quiz_id", name="uq_ledger_quiz_credit"),
        sa.UniqueConstraint("attempt_id", name="uq_ledger_attempt_id"),
        sa.UniqueConstraint("reverses_id", name="uq_ledger_reverses_id"),
    )
    op.create_index("ix_ledger_year", "ledger", ["year"])
    op.create_index("ix_ledger_user_year", "ledger", ["user_id", "year"])
    for statement in PG_APPEND_ONLY if op.get_bind().dialect.name == "postgresql" else SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("ledger")  # drops its triggers with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_append_only()")
    op.drop_table("attempt_answers")
    op.drop_table("attempts")
    op.drop_table("quiz_items")
    op.drop_table("quizzes")
    op.drop_table("question_tags")
    op.drop_table("questions")
