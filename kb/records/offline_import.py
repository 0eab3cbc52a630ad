"""Bulk entry of offline training (集中轮训 / 岗位练兵 / 专题讲座) from a CSV file.

A coordinator usually holds a sign-in sheet for a whole session, not one person at a time, so
they enter it as a spreadsheet: one row per person and session, columns (English or Chinese
headers) username/用户名, category/类别, hours/学时, date/日期, note/证明材料.

The import is all-or-none, like :func:`kb.records.people.import_users_csv`: every row is
checked first by the same rules as :func:`kb.records.ledger.add_offline` (category, hours,
date not in the future, evidence note, the importer's scope) and one bad row means nothing is
credited; :class:`~kb.records.errors.ImportRejected` lists every bad row by its line number.
A row identical to a live ledger line, or to an earlier row of the same file, is a probable
double entry (a sheet imported twice) and refused unless ``force``. Each credited line is
audited as ``ledger.add`` (with the file named), and the import as a whole as ``ledger.import``
with the file's sha256, in the same transaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.records import access, audit, validate
from kb.records.csvfile import Row, read_rows, take_cell
from kb.records.db import writing
from kb.records.errors import ImportRejected, RowError, ValidationError
from kb.records.ledger import CENT, category, check_year, is_reversed, local_date, parse_hours
from kb.records.models import Actor, Clock, LedgerEntry, User, utcnow

CSV_COLUMNS = {
    "username": "username", "用户名": "username", "账号": "username",
    "category": "category", "类别": "category", "培训类别": "category",
    "hours": "hours", "学时": "hours",
    "date": "date", "日期": "date", "培训日期": "date",
    "note": "note", "evidence": "note", "证明材料": "note",
}
CSV_REQUIRED = {"username", "category", "hours", "date", "note"}
# 2026-03-15, 2026/3/15 (what Excel shows after it re-formats a date), 2026.3.15, 2026年3月15日
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
MAX_ROWS = 5000


@dataclass(frozen=True)


class OfflineRow:
    """One checked row, ready to be written."""

    line: int
    user_id: int
    username: str
    category: str
    hours: Decimal
    on: date
    note: str

    @property
    def key(self) -> tuple[int, date, str, Decimal, str]:
        """What makes two lines the same session (as add_offline judges a double entry)."""
        return (self.user_id, self.on, self.category, self.hours, self.note)


@dataclass(frozen=True)


class OfflineImportResult:
    """What an import credited: the new ledger line ids, how many people, how many hours."""

    entry_ids: list[int]
    people: int
    hours: Decimal


def parse_date(value: str) -> date:
    """A training date as a spreadsheet writes it: 2026-03-15, 2026/3/15, 2026年3月15日."""
    match = _DATE.fullmatch((value or "").strip())
    try:
        if match is None:
            raise ValueError(value)
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise ValidationError(f"日期 {str(value)[:20]!r} 应为 YYYY-MM-DD / the date {str(value)[:20]!r} must be "
                              "YYYY-MM-DD") from exc


def _user_name(value: str) -> str | None:
    try:
        return validate.username(value)
    except ValidationError:
        return None


def _check(session: Session, actor: Actor, label: str, data: bytes, today: date
           ) -> tuple[list[OfflineRow], list[RowError], list[int], int]:
    """Every row checked: (good rows, errors, lines refused for scope, data rows read)."""
    errors: list[RowError] = []
    rows: list[Row] = []
    for row in read_rows(data, label, CSV_COLUMNS, CSV_REQUIRED):
        if row.problem:
            errors.append(RowError(row.line, "", row.problem))
        else:
            rows.append(row)
        if len(rows) + len(errors) > MAX_ROWS:
            raise ValidationError(f"{label}: 超过 {MAX_ROWS} 行，请分批导入 / more than {MAX_ROWS} rows; "
                                  "split the file")
    read = len(rows) + len(errors)
    names = {n for n in (_user_name(r.cells["username"]) for r in rows) if n}
    people = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))} if names else {}
    refused: list[int] = []
    checked: list[OfflineRow] = []
    for row in rows:
        c, line, row_errors = row.cells, row.line, []
        person = people.get(_user_name(c["username"]) or "")
        if person is None:
            shown = c["username"].strip()[:64]
            row_errors.append(RowError(line, "username", f"没有用户 {shown!r} / no user {shown!r}"))
        elif not access.can_view_user(actor, person):
            refused.append(line)
            row_errors.append(RowError(line, "username", f"{person.username} 不在您管理的单位内 / "
                                                         f"{person.username} is outside your units"))
        name = take_cell(row_errors, line, "category", category, c["category"])
        hours = take_cell(row_errors, line, "hours", parse_hours, c["hours"])
        on = take_cell(row_errors, line, "date", parse_date, c["date"])
        if on is not None and on > today:
            row_errors.append(RowError(line, "date", f"培训日期 {on} 在未来 / the training date {on} is in the future"))
        elif on is not None:
            take_cell(row_errors, line, "date", check_year, on.year)
        note = take_cell(row_errors, line, "note", validate.text, c["note"], "证明材料 / evidence note", 500)
        errors += row_errors
        if not row_errors and person is not None and name and hours is not None and on is not None and note:
            checked.append(OfflineRow(line, person.id, person.username, name, hours, on, note))
    return checked, errors, refused, read


def _doubles(session: Session, rows: list[OfflineRow]) -> list[RowError]:
    """Rows repeating an earlier row of the file or a live (unreversed) ledger line."""
    errors: list[RowError] = []
    first: dict[tuple[int, date, str, Decimal, str], int] = {}
    for r in rows:
        if r.key in first:
            errors.append(RowError(r.line, "", f"与第 {first[r.key]} 行完全相同，疑似重复录入 / identical to line "
                                               f"{first[r.key]}: a probable double entry"))
        else:
            first[r.key] = r.line
    user_ids = sorted({r.user_id for r in rows})
    existing: dict[tuple[int, date, str, Decimal, str], int] = {}
    for start in range(0, len(user_ids), 500):
        stmt = select(LedgerEntry).where(LedgerEntry.kind == "offline", LedgerEntry.user_id.in_(
            user_ids[start:start + 500]), ~is_reversed())
        for e in session.scalars(stmt):
            existing.setdefault((e.user_id, e.on_date, e.category, e.hours.quantize(CENT), e.note), e.id)
    for r in rows:
        if r.key in existing:
            errors.append(RowError(r.line, "", f"已有相同记录（第 {existing[r.key]} 条），疑似重复录入 / an identical "
                                               f"entry exists (#{existing[r.key]}): a probable double entry"))
    return errors


def import_offline_csv(session: Session, actor: Actor, source: str | Path | bytes, *, name: str | None = None,
                       force: bool = False, clock: Clock = utcnow) -> OfflineImportResult:
    """Credit every row of a CSV file of offline training, or none (ImportRejected lists every
    bad row by line). ``force`` lets rows through that repeat an existing line or each other
    (a second session on the same day with the same sheet), never rows that are invalid."""
    label = name or (Path(source).name if not isinstance(source, bytes) else "upload.csv")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise ValidationError(f"{label}: 无法读取文件（{exc.strerror or exc}）/ cannot read the file "
                              f"({exc.strerror or exc})") from exc
    target = f"file:{label}"[:200]
    access.require(session, actor, "ledger.manage", target=target)
    digest = hashlib.sha256(data).hexdigest()
    rows, errors, refused, read = _check(session, actor, label, data, local_date(clock()))
    if not read:
        raise ValidationError(f"{label}: 没有数据行 / no rows in the file")
    with writing(session):  # the double-entry check and the writes see the same ledger
        if not force:
            errors += _doubles(session, rows)
        if errors:
            errors.sort(key=lambda e: e.line)
            # written in its own transaction once this one is rolled back (and its write lock released)
            audit.record_refusal(session, actor, "ledger.import", target, {
                "sha256": digest, "rows": read, "bad_lines": sorted({e.line for e in errors}),
                "out_of_scope_lines": refused}, clock=clock)
            raise ImportRejected(label, errors)
        entered_by = actor.id if isinstance(actor, User) else None
        written = []
        for r in rows:
            entry = LedgerEntry(user_id=r.user_id, year=r.on.year, on_date=r.on, kind="offline", category=r.category,
                                hours=r.hours, note=r.note, entered_by_id=entered_by, created_at=clock())
            session.add(entry)
            written.append((r, entry))
        session.flush()
        for r, entry in written:
            audit.record(session, actor, "ledger.add", f"user:{r.username}", {
                "entry": entry.id, "year": r.on.year, "date": r.on.isoformat(), "category": r.category,
                "hours": str(r.hours), "file": label, "line": r.line}, clock=clock)
        total = sum((r.hours for r in rows), Decimal(0)).quantize(CENT)
        ids = [entry.id for _, entry in written]
        audit.record(session, actor, "ledger.import", target, {
            "sha256": digest, "entries": len(ids), "hours": str(total), "forced": force}, clock=clock)
    return OfflineImportResult(ids, len({r.user_id for r in rows}), total)
