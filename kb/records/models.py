"""The records schema as typed SQLAlchemy 2 ORM classes: units, users and the audit log.

The migrations in ``migrations/versions`` create the same tables by hand (Alembic convention:
a migration never imports the models, so it stays valid when the models move on). Later
tables (questions, quizzes, attempts, the hours ledger) hang off ``users.id`` and ``units.id``.

Times are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL, so
lockout arithmetic never mixes naive and aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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
