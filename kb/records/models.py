"""The records schema as typed SQLAlchemy 2 ORM classes: units, users and the audit log
(migration 0001); the question bank, quizzes, attempts and the hours ledger (migration 0002).

The migrations in ``migrations/versions`` create the same tables by hand (Alembic convention:
a migration never imports the models, so it stays valid when the models move on).

Hours (学时) are exact: stored as whole hundredths of an hour (columns named ``*centihours``)
and read back as :class:`~decimal.Decimal`, so a year's sum never drifts on either backend.

Times are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL, so
lockout arithmetic never mixes naive and aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from kb.quiz.model import QUESTION_TYPES, REVIEW_STATES

ROLES: tuple[str, ...] = ("officer", "trainer", "coordinator", "admin")
OUTCOMES: tuple[str, ...] = ("ok", "refused")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock; functions that depend on time take a ``clock`` so tests never sleep."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC; SQLite keeps no zone, so it is re-attached on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Hours(TypeDecorator[Decimal]):
    """学时 as an exact Decimal with two places, stored as an integer count of hundredths.

    ``SUM`` over such a column stays an integer in SQL and comes back as a Decimal (SQLAlchemy
    keeps the column's type for ``func.sum``), so totals are exact on SQLite and PostgreSQL.
    """

    impl = Integer
    cache_ok = True
    STEP = Decimal("0.01")

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        try:
            exact = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"not a number of hours: {value!r}") from exc
        if exact != exact.quantize(self.STEP):
            raise ValueError(f"hours have at most two decimal places: {value!r}")
        return int(exact * 100)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(int(value)) / 100).quantize(self.STEP)


JSONDoc = JSON().with_variant(JSONB(), "postgresql")
# SQLite autoincrements only INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONDoc}


class Unit(Base):
    """A 单位. Units nest (province → city → county, any depth) through ``parent_id``."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=lambda: [Unit.id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    def ancestors(self) -> list[Unit]:
        """Parent, grandparent, … up to the root (guarded against a corrupt cycle)."""
        chain: list[Unit] = []
        seen = {self.id}
        node = self.parent
        while node is not None and node.id not in seen:
            chain.append(node)
            seen.add(node.id)
            node = node.parent
        return chain

    @property
    def path(self) -> str:
        """Readable position, root first: 广东省/广州市/天河区."""
        return "/".join(u.name for u in [*reversed(self.ancestors()), self])

    def __repr__(self) -> str:
        return f"Unit({self.code!r}, {self.name!r})"


class User(Base):
    """A person who signs in: an officer (执法人员), trainer, coordinator or admin."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('officer', 'trainer', 'coordinator', 'admin')", name="role"),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    cert_no: Mapped[str | None] = mapped_column(String(32), unique=True)  # 执法证号
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship()
    field_rows: Mapped[list[UserField]] = relationship(
        cascade="all, delete-orphan", order_by="UserField.field", lazy="selectin"
    )

    @property
    def fields(self) -> list[str]:
        """执法领域, e.g. ["市场监管", "生态环境"]."""
        return [row.field for row in self.field_rows]

    @fields.setter
    def fields(self, values: list[str]) -> None:
        self.field_rows = [UserField(field=v) for v in dict.fromkeys(values)]

    def __repr__(self) -> str:
        return f"User({self.username!r}, {self.role!r})"


class UserField(Base):
    """One 执法领域 of a user; a join table so exports and quizzes can filter by field in SQL."""

    __tablename__ = "user_fields"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class AuditEntry(Base):
    """One line of the append-only audit log: who did (or was refused) what, to what.

    The database itself refuses UPDATE and DELETE on this table (triggers in migration 0001).
    """

    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint("outcome IN ('ok', 'refused')", name="outcome"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(8), default="ok")

    def __repr__(self) -> str:
        return f"AuditEntry({self.action!r}, {self.target!r}, {self.outcome!r})"


@dataclass(frozen=True)
class Operator:
    """Whoever runs ``kb`` at the server's shell with the database credentials in hand.

    They could edit the tables directly, so pretending to restrict them would be theatre; they
    act with admin rights, and the audit log records them by their OS account name. The app
    never uses this: it acts as the signed-in :class:`User`.
    """

    name: str
    role: str = "admin"
    id: None = None
    active: bool = True
    unit_id: None = None


Actor = User | Operator


# ---------------------------------------------------------------------------------------------
# Question bank, quizzes, attempts, the hours ledger (migration 0002)

ATTEMPT_STATUSES: tuple[str, ...] = ("open", "submitted", "expired")
MULTIPLE_SCORING: tuple[str, ...] = ("all_or_nothing", "partial")
LEDGER_KINDS: tuple[str, ...] = ("quiz", "offline", "reversal")
OFFLINE_CATEGORIES: tuple[str, ...] = ("集中轮训", "岗位练兵", "专题讲座")
QUIZ_CATEGORY = "在线测验"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Question(Base):
    """A question of the bank: :class:`kb.quiz.model.Question` as stored, with its review state.

    ``key`` is the generator's stable id (``q-…``), so a re-generation updates the same row.
    ``sources`` keeps each provision's doc_key, path, chunk_key, text_hash and quote;
    ``flagged`` is set when one of those provisions changed since (see questions.flag_stale).
    The tags are also kept one per row in ``question_tags``, for quiz assembly in SQL.
    """

    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(_one_of("qtype", QUESTION_TYPES), name="qtype"),
        CheckConstraint(_one_of("state", REVIEW_STATES), name="state"),
        CheckConstraint("difficulty BETWEEN 1 AND 3", name="difficulty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    qtype: Mapped[str] = mapped_column(String(16))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    answer: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list[dict[str, str]]] = mapped_column(JSONDoc, default=list)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    difficulty: Mapped[int] = mapped_column(default=2)
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    author: Mapped[str] = mapped_column(String(64), default="generator")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]

    tag_rows: Mapped[list[QuestionTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    def __repr__(self) -> str:
        return f"Question({self.key!r}, {self.qtype!r}, {self.state!r})"


class QuestionTag(Base):
    """One tag of a question: kind 领域 (执法领域), 技能 or 法规, and its value."""

    __tablename__ = "question_tags"
    __table_args__ = (Index("ix_question_tags_kind_value", "kind", "value"),)

    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)


class Quiz(Base):
    """A quiz (测验): a fixed paper of approved questions, assembled once at creation, with its
    rules: time limit, pass mark (percent), attempts allowed, 学时 credited for passing, and
    how 多选 is scored (``all_or_nothing`` or ``partial``)."""

    __tablename__ = "quizzes"
    __table_args__ = (
        CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark"),
        CheckConstraint("max_attempts IS NULL OR max_attempts > 0", name="max_attempts"),
        CheckConstraint("time_limit_s IS NULL OR time_limit_s > 0", name="time_limit"),
        CheckConstraint("credit_centihours >= 0", name="credit"),
        CheckConstraint(_one_of("multiple_scoring", MULTIPLE_SCORING), name="multiple_scoring"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    time_limit_s: Mapped[int | None]
    pass_mark: Mapped[int] = mapped_column(default=60)
    max_attempts: Mapped[int | None]
    credit_hours: Mapped[Decimal] = mapped_column("credit_centihours", Hours(), default=Decimal("1"))
    multiple_scoring: Mapped[str] = mapped_column(String(16), default="all_or_nothing")
    selection: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[QuizItem]] = relationship(cascade="all, delete-orphan", order_by="QuizItem.position")

    def __repr__(self) -> str:
        return f"Quiz({self.code!r}, {self.title!r})"


class QuizItem(Base):
    """One question of a quiz, copied when the quiz was assembled: what officers answered and
    are graded against stays fixed, whatever later happens to the bank's question."""

    __tablename__ = "quiz_items"
    __table_args__ = (UniqueConstraint("quiz_id", "key", name="uq_quiz_items_quiz_key"),)

    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    key: Mapped[str] = mapped_column(String(128))
    qtype: Mapped[str] = mapped_column(String(16))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    answer: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list[dict[str, str]]] = mapped_column(JSONDoc, default=list)
    points: Mapped[int] = mapped_column(default=1)


class Attempt(Base):
    """One officer's attempt at a quiz: ``open`` while answering, then ``submitted`` (graded)
    or ``expired`` (its time ran out unsubmitted). ``year`` is the local (UTC+8) year of the
    submission, the year any credit goes to."""

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(_one_of("status", ATTEMPT_STATUSES), name="status"),
        UniqueConstraint("quiz_id", "user_id", "number", name="uq_attempts_quiz_user_number"),
        Index("ix_attempts_user_year", "user_id", "year"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime | None]
    last_saved_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    year: Mapped[int | None]
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    percent: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"Attempt({self.id}, quiz={self.quiz_id}, user={self.user_id}, {self.status!r})"


class AttemptAnswer(Base):
    """The officer's answer to one item of an attempt, saved as they go; ``earned`` is set
    when the attempt is graded."""

    __tablename__ = "attempt_answers"

    attempt_id: Mapped[int] = mapped_column(BigId, ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    response: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    earned: Mapped[float | None] = mapped_column(Float)


class LedgerEntry(Base):
    """One append-only line of an officer's 学时 ledger for a year.

    ``quiz``: credit for passing a quiz, at most once per quiz per officer per year (unique
    constraint on user, year and quiz; offline and reversal lines have no quiz, and NULLs never
    collide). ``offline``: 集中轮训 / 岗位练兵 / 专题讲座 entered by a coordinator with an
    evidence note. ``reversal``: a correction, the negated hours of the line it reverses (each
    line at most once). The database refuses UPDATE and DELETE (triggers in migration 0002).
    """

    __tablename__ = "ledger"
    __table_args__ = (
        CheckConstraint(_one_of("kind", LEDGER_KINDS), name="kind"),
        CheckConstraint("(kind = 'quiz' AND quiz_id IS NOT NULL AND attempt_id IS NOT NULL) OR "
                        "(kind <> 'quiz' AND quiz_id IS NULL AND attempt_id IS NULL)", name="quiz_link"),
        CheckConstraint("(kind = 'reversal' AND reverses_id IS NOT NULL AND centihours < 0) OR "
                        "(kind <> 'reversal' AND reverses_id IS NULL AND centihours > 0)", name="sign"),
        CheckConstraint("centihours BETWEEN -100000 AND 100000", name="bounds"),
        UniqueConstraint("user_id", "year", "quiz_id", name="uq_ledger_quiz_credit"),
        Index("ix_ledger_user_year", "user_id", "year"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    year: Mapped[int] = mapped_column(index=True)
    on_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    hours: Mapped[Decimal] = mapped_column("centihours", Hours())
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("quizzes.id"))
    attempt_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("attempts.id"), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ledger.id"), unique=True)
    score: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"LedgerEntry({self.id}, user={self.user_id}, {self.year}, {self.kind!r}, {self.hours})"


# ---------------------------------------------------------------------------------------------
# The app: answer feedback and trainer-authored drills (migration 0003)

DRILL_STATES: tuple[str, ...] = ("draft", "published", "retired")


class AnswerFeedback(Base):
    """An officer's 👍/👎 on one answer, kept with the question, the answer text and what it
    cited, so a trainer reviewing it sees exactly what the officer saw."""

    __tablename__ = "answer_feedback"
    __table_args__ = (CheckConstraint("vote IN (-1, 1)", name="vote"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    citations: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    vote: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User | None] = relationship()


class DrillRecord(Base):
    """A 情景演练 as a trainer wrote it: the YAML source (the format of ``corpus/scenarios``)
    is the truth; title and field are copies for listing. Publishing turns the validated steps
    into approved questions and a quiz (``quiz_id``) that officers take like any other."""

    __tablename__ = "drills"
    __table_args__ = (CheckConstraint(_one_of("state", DRILL_STATES), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(32), default="")
    source: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("quizzes.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    quiz: Mapped[Quiz | None] = relationship()


class SignIn(Base):
    """One browser's sign-in, so a reload or a second tab does not ask for the password again.

    The browser keeps a random token in a cookie; only its SHA-256 is stored here, so a copy of
    the database cannot be replayed as a sign-in. Rules (idle limit, lifetime, who ends them)
    live in :mod:`kb.records.signins`."""

    __tablename__ = "sign_ins"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
