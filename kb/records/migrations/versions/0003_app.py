"""App: answer feedback (👍/👎 on answers, for trainers to review) and trainer-authored drills
(情景演练) stored with their YAML source and review state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "answer_feedback",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("citations", JSON_DOC, nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.CheckConstraint("vote IN (-1, 1)", name="ck_answer_feedback_vote"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_answer_feedback_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_answer_feedback"),
    )
    op.create_index("ix_answer_feedback_at", "answer_feedback", ["at"])

    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.CheckConstraint("state IN ('draft', 'published', 'retired')", name="ck_drills_state"),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name="fk_drills_quiz_id_quizzes"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name="fk_drills_created_by_id_users"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name="fk_drills_updated_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_drills"),
        sa.UniqueConstraint("code", name="uq_drills_code"),
    )


def downgrade() -> None:
    op.drop_table("drills")
    op.drop_table("answer_feedback")
