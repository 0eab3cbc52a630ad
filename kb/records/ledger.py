"""The 学时 ledger: append-only lines of credited training hours per officer and year, and
progress toward the yearly goal of 60 hours.

Three kinds of line, each audited as it is written:

- ``quiz``: written by :mod:`kb.records.attempts` when a submitted attempt passes, in the
  submission's own transaction; at most once per quiz per officer per year, enforced by the
  database (unique user, year, quiz), so a double submit or two passing tabs credit once.
- ``offline``: 集中轮训 / 岗位练兵 / 专题讲座, entered by a coordinator (their subtree) or an
  admin, with the date, the hours and an evidence note (证明材料: a sign-in sheet number...).
- ``reversal``: the correction of a wrong line, never an edit: the same hours negated, in the
  same year, with the reason. A line is reversed at most once; a reversal is not reversed
  (enter the right line again instead).

The database refuses UPDATE and DELETE on the ledger (triggers, migration 0002). Years and
dates are local (China Standard Time, UTC+8): a quiz passed at 23:30 on 31 December in
Beijing counts for that year.

Progress at a date counts the year's lines dated up to that date (so a report "as of 30 June"
made in December shows June's position; reversals count at the date of the line they
correct). ``expected = 60 × day_of_year / 365`` at that date (capped at 60); an officer is
*behind* when their hours are below it, and *meets* the goal at 60.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.records import access, audit, validate
from kb.records.db import writing
from kb.records.errors import NotFound, StateError, ValidationError
from kb.records.models import (
    OFFLINE_CATEGORIES,
    QUIZ_CATEGORY,
    Actor,
    Attempt,
    Clock,
    LedgerEntry,
    Quiz,
    Unit,
    User,
    utcnow,
)
from kb.records.people import get_user
from kb.records.units import get_unit

LOCAL_TZ = timezone(timedelta(hours=8), "CST")
GOAL_HOURS = Decimal(60)
MAX_ENTRY_HOURS = Decimal(200)
FIRST_YEAR = 2000
CATEGORY_ALIASES = {"rotation": "集中轮训", "training": "集中轮训", "drill": "岗位练兵", "lecture": "专题讲座",
                    "轮训": "集中轮训", "练兵": "岗位练兵", "讲座": "专题讲座"}
CENT = Decimal("0.01")


def local_date(moment: datetime) -> date:
    """The date in China Standard Time of an aware datetime."""
    return moment.astimezone(LOCAL_TZ).date()


def check_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= 2100:
        raise ValidationError(f"年度 {year!r} 无效 / year {year!r} must be {FIRST_YEAR}–2100")
    return year


def parse_hours(value: Decimal | int | float | str) -> Decimal:
    """Hours as typed: a positive number of at most 200 with at most two decimals."""
    try:
        hours = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValidationError(f"学时 {str(value)[:20]!r} 不是数字 / hours {str(value)[:20]!r} is not a number") from exc
    if not hours.is_finite() or hours <= 0 or hours > MAX_ENTRY_HOURS or hours != hours.quantize(CENT):
        raise ValidationError(f"学时应大于 0、不超过 {MAX_ENTRY_HOURS}、最多两位小数 / hours must be more than 0, at "
                              f"most {MAX_ENTRY_HOURS}, with at most two decimals (not {str(value)[:20]!r})")
    return hours.quantize(CENT)


def category(value: str) -> str:
    """An offline category: 集中轮训, 岗位练兵, 专题讲座 (or rotation, drill, lecture)."""
    raw = (value or "").strip()
    name = CATEGORY_ALIASES.get(raw.lower(), raw)
    if name not in OFFLINE_CATEGORIES:
        raise ValidationError(f"培训类别 {raw[:20]!r} 无效，应为 {'、'.join(OFFLINE_CATEGORIES)} / category "
                              f"{raw[:20]!r} must be one of {', '.join(OFFLINE_CATEGORIES)}")
    return name


def expected_hours(year: int, as_of: date) -> Decimal:
    """Hours an officer should have by ``as_of``: 60 × day_of_year / 365, 0 before the year, 60 after."""
    if as_of.year < year:
        return Decimal(0).quantize(CENT)
    if as_of.year > year:
        return GOAL_HOURS.quantize(CENT)
    day = min(as_of.timetuple().tm_yday, 365)
    return (GOAL_HOURS * day / 365).quantize(CENT, rounding=ROUND_HALF_UP)


def credit_quiz(session: Session, actor: Actor, attempt: Attempt, quiz: Quiz, *, clock: Clock = utcnow
                ) -> LedgerEntry | None:
    """Credit a passed attempt in the caller's transaction (called by attempts.submit_attempt).

    None when the officer already has this quiz's credit for the year: found first, and, if
    a concurrent submission got there in between, refused by the unique constraint, whose
    violation is rolled back to a savepoint so the submission itself still commits.
    """
    assert attempt.submitted_at is not None and attempt.year is not None
    taken = select(LedgerEntry.id).where(LedgerEntry.user_id == attempt.user_id, LedgerEntry.year == attempt.year,
                                         LedgerEntry.quiz_id == quiz.id)
    if session.scalar(taken) is not None:
        return None
    entry = LedgerEntry(user_id=attempt.user_id, year=attempt.year, on_date=local_date(attempt.submitted_at),
                        kind="quiz", category=QUIZ_CATEGORY, hours=quiz.credit_hours, quiz_id=quiz.id,
                        attempt_id=attempt.id, score=attempt.percent, note=quiz.title,
                        entered_by_id=attempt.user_id, created_at=clock())
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
            audit.record(session, actor, "ledger.credit", f"user:{attempt.user.username}", {
                "entry": entry.id, "year": entry.year, "quiz": quiz.code, "attempt": attempt.id,
                "hours": str(entry.hours), "score": attempt.percent}, clock=clock)
            session.flush()
    except IntegrityError:
        return None
    return entry


def add_offline(session: Session, actor: Actor, username: str, category_name: str, hours: Decimal | int | str,
                on: date, note: str, *, force: bool = False, clock: Clock = utcnow) -> LedgerEntry:
    """Enter offline training for one person (coordinators: their subtree; admins: anyone).

    ``note`` is the evidence (证明材料). The same person, date, category, hours and note twice
    is refused as a probable double entry unless ``force``. Commits with its audit entry.
    """
    person = get_user(session, actor, username)
    target = f"user:{person.username}"
    access.require(session, actor, "ledger.manage", user=person, target=target)
    name = category(category_name)
    amount = parse_hours(hours)
    note = validate.text(note, "证明材料 / evidence note", 500)
    today = local_date(clock())
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationError("日期应为 YYYY-MM-DD / the date must be a calendar date (YYYY-MM-DD)")
    if on > today:
        raise ValidationError(f"培训日期 {on} 在未来 / the training date {on} is in the future")
    check_year(on.year)
    with writing(session):
        if not force:
            same = session.scalar(select(LedgerEntry.id).where(
                LedgerEntry.user_id == person.id, LedgerEntry.kind == "offline", LedgerEntry.on_date == on,
                LedgerEntry.category == name, LedgerEntry.hours == amount, LedgerEntry.note == note,
                ~is_reversed()))
            if same is not None:
                raise StateError(f"已有相同记录（第 {same} 条）；确需重复录入请加 --force / an identical entry exists "
                                 f"(#{same}); add force=True (--force) if this really is a second session")
        entry = LedgerEntry(user_id=person.id, year=on.year, on_date=on, kind="offline", category=name, hours=amount,
                            note=note, entered_by_id=actor.id if isinstance(actor, User) else None, created_at=clock())
        session.add(entry)
        session.flush()
        audit.record(session, actor, "ledger.add", target, {
            "entry": entry.id, "year": on.year, "date": on.isoformat(), "category": name, "hours": str(amount)},
            clock=clock)
    return entry


def is_reversed() -> ColumnElement[bool]:
    """True for ledger lines that a reversal points at."""
    reversal = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    return LedgerEntry.id.in_(reversal.scalar_subquery())


def reverse_entry(session: Session, actor: Actor, entry_id: int, reason: str, *, clock: Clock = utcnow
                  ) -> LedgerEntry:
    """Correct a line by appending its reversal (same year, negated hours, the reason)."""
    original = session.get(LedgerEntry, entry_id) if isinstance(entry_id, int) else None
    if original is None:
        raise NotFound(f"没有第 {entry_id} 条学时记录 / no ledger entry {entry_id}")
    person = session.get(User, original.user_id)
    assert person is not None
    target = f"user:{person.username}"
    access.require(session, actor, "ledger.manage", user=person, target=target)
    reason = validate.text(reason, "冲正原因 / reason", 500)
    if original.kind == "reversal":
        raise StateError(f"第 {entry_id} 条本身是冲正记录，不能再冲正；请重新录入正确记录 / entry {entry_id} is a "
                         "reversal; enter the right line again instead of reversing it")
    try:
        with writing(session):
            if session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry_id)) is not None:
                raise StateError(f"第 {entry_id} 条已被冲正 / entry {entry_id} is already reversed")
            entry = LedgerEntry(user_id=original.user_id, year=original.year, on_date=original.on_date, kind="reversal",
                                category=original.category, hours=-original.hours, reverses_id=original.id, note=reason,
                                entered_by_id=actor.id if isinstance(actor, User) else None, created_at=clock())
            session.add(entry)
            session.flush()
            audit.record(session, actor, "ledger.reverse", target, {
                "entry": entry.id, "reverses": original.id, "year": original.year, "hours": str(entry.hours)},
                clock=clock)
    except IntegrityError as exc:
        raise StateError(f"第 {entry_id} 条已被冲正 / entry {entry_id} is already reversed") from exc
    return entry


def entries(session: Session, actor: Actor, username: str, year: int) -> list[LedgerEntry]:
    """A person's ledger lines for a year, oldest first (themselves, their coordinators, admins)."""
    person = get_user(session, actor, username)
    return list(session.scalars(select(LedgerEntry).where(
        LedgerEntry.user_id == person.id, LedgerEntry.year == check_year(year)).order_by(LedgerEntry.id)))


def total_hours(session: Session, user_id: int, year: int, as_of: date | None = None) -> Decimal:
    """The sum of a person's ledger for a year (reversals included, so corrections count),
    counting only lines dated up to ``as_of`` when given."""
    stmt = select(func.sum(LedgerEntry.hours)).where(LedgerEntry.user_id == user_id, LedgerEntry.year == year)
    if as_of is not None:
        stmt = stmt.where(LedgerEntry.on_date <= as_of)
    total = session.scalar(stmt)
    return total if total is not None else Decimal(0).quantize(CENT)


@dataclass(frozen=True)
class Progress:
    """One officer's hours for a year against the goal and the pro-rata expectation."""

    user_id: int
    username: str
    display_name: str
    cert_no: str | None
    unit_code: str
    unit_path: str
    fields: tuple[str, ...]
    year: int
    hours: Decimal
    expected: Decimal
    goal: Decimal = GOAL_HOURS

    @property
    def met(self) -> bool:
        """达标: the yearly goal is reached."""
        return self.hours >= self.goal

    @property
    def behind(self) -> bool:
        """Below the pro-rata expectation at the date the progress was computed for."""
        return self.hours < self.expected

    @property
    def shortfall(self) -> Decimal:
        return max(self.expected - self.hours, Decimal(0)).quantize(CENT)


class UnitPaths:
    """Readable unit paths (广东省/广州市/天河区) from one query, for reports over many officers."""

    def __init__(self, session: Session) -> None:
        self.units = {u.id: u for u in session.scalars(select(Unit))}
        self._paths: dict[int, str] = {}

    def code(self, unit_id: int | None) -> str:
        return self.units[unit_id].code if unit_id in self.units else ""

    def path(self, unit_id: int | None) -> str:
        if unit_id is None or unit_id not in self.units:
            return ""
        if unit_id not in self._paths:
            names, seen, node = [], set(), self.units.get(unit_id)
            while node is not None and node.id not in seen:
                names.append(node.name)
                seen.add(node.id)
                node = self.units.get(node.parent_id) if node.parent_id is not None else None
            self._paths[unit_id] = "/".join(reversed(names))
        return self._paths[unit_id]


def unit_progress(session: Session, unit_ids: Sequence[int] | frozenset[int], year: int, as_of: date
                  ) -> list[Progress]:
    """Progress of every officer in ``unit_ids`` (no access check: callers check first)."""
    sums = (select(LedgerEntry.user_id, func.sum(LedgerEntry.hours).label("hours"))
            .where(LedgerEntry.year == year, LedgerEntry.on_date <= as_of).group_by(LedgerEntry.user_id).subquery())
    stmt = (select(User, sums.c.hours).outerjoin(sums, sums.c.user_id == User.id)
            .where(User.role == "officer", User.unit_id.in_(unit_ids)).order_by(User.unit_id, User.username))
    paths = UnitPaths(session)
    expected = expected_hours(year, as_of)
    zero = Decimal(0).quantize(CENT)
    return [Progress(u.id, u.username, u.display_name, u.cert_no, paths.code(u.unit_id), paths.path(u.unit_id),
                     tuple(u.fields), year, hours if hours is not None else zero, expected)
            for u, hours in session.execute(stmt)]


def progress(session: Session, actor: Actor, unit_code: str, year: int, *, as_of: date | None = None,
             clock: Clock = utcnow) -> list[Progress]:
    """Every officer of a unit and its sub-units, with hours, expectation, met and behind;
    for the unit's coordinators (or those above) and admins. ``as_of`` defaults to today."""
    unit = get_unit(session, validate.unit_code(unit_code))
    access.require(session, actor, "users.view", unit=unit, target=f"progress:{unit.code}/{year}")
    check_year(year)
    return unit_progress(session, access.subtree_ids(session, unit.id), year, as_of or local_date(clock()))


def my_progress(session: Session, actor: User, year: int, *, as_of: date | None = None,
                clock: Clock = utcnow) -> Progress:
    """A signed-in person's own progress for a year."""
    paths = UnitPaths(session)
    day = as_of or local_date(clock())
    return Progress(actor.id, actor.username, actor.display_name, actor.cert_no, paths.code(actor.unit_id),
                    paths.path(actor.unit_id), tuple(actor.fields), check_year(year),
                    total_hours(session, actor.id, year, day), expected_hours(year, day))


def behind(rows: Sequence[Progress]) -> list[Progress]:
    """Those below the pro-rata expectation, furthest behind first."""
    return sorted((p for p in rows if p.behind), key=lambda p: (p.hours - p.expected, p.username))

