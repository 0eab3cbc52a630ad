"""Exports of a unit's (and its sub-units') training hours for a year: CSV, XLSX and xAPI.

Only a coordinator of the unit (or of a unit above it) or an admin may export
(``records.export``); every export is audited with its size and sha256, and a refused one
(out of scope, unknown unit) is audited as refused.

**CSV / XLSX.** One row per credited item (ledger line) of each officer, with the officer's
columns repeated: 姓名, 执法证号, 单位, 执法领域, 年度, 累计学时, 是否达标, then 项目, 类别,
日期, 成绩, 学时, 备注. An officer with nothing credited still has one row (item cells empty),
so the file lists everyone. A reversal is its own row with negative hours, so the item hours
of an officer add up to 累计学时. 成绩 is the best submitted attempt's percent at that quiz in
that year (the best attempt counts). The XLSX has this sheet (学时明细) and a summary sheet
(汇总) with one row per officer. The CSV is UTF-8 with a BOM (Excel and WPS open it right).
Text that a spreadsheet would run as a formula (=, +, -, @ first) is written as text: in the
CSV prefixed with an apostrophe, in the XLSX typed as a string.

**xAPI** (a JSON array of statements, shaped after cmi5): for each submitted attempt a
``completed`` statement (result.completion, result.duration) and a ``passed`` or ``failed``
one (result.success, result.score with scaled/raw/min/max, duration); the hours a passing
attempt credited are in the result extension :data:`EXT_CREDIT_HOURS`. Offline training is a
``completed`` statement whose duration is its hours, with the same extension. A reversal is a
``voided`` statement pointing at the statement that carried the credit. The registration
identifies the officer's training year (a UUID derived from the year and the officer); the
year itself is also in the context extension :data:`EXT_YEAR`. Statement ids are derived
from the records (UUID 5), so exporting twice gives the same ids and an LRS will not count
anything twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.records import access, audit, validate
from kb.records.errors import NotFound, ValidationError
from kb.records.ledger import GOAL_HOURS, LOCAL_TZ, UnitPaths, check_year
from kb.records.models import Actor, Attempt, Clock, LedgerEntry, Quiz, User, UserField, utcnow
from kb.records.units import get_unit

FORMATS = ("csv", "xlsx", "xapi")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "xapi": "application/json"}
SUMMARY_COLUMNS = ["姓名", "执法证号", "单位", "执法领域", "年度", "累计学时", "是否达标"]
ITEM_COLUMNS = ["项目", "类别", "日期", "成绩", "学时", "备注"]
COLUMNS = SUMMARY_COLUMNS + ITEM_COLUMNS
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

DEFAULT_BASE_IRI = "https://zhifakb.example"
VERBS = {
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
    "voided": "http://adlnet.gov/expapi/verbs/voided",
}
VERB_ZH = {"completed": "完成", "passed": "通过", "failed": "未通过", "voided": "作废"}
CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon"
ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
LESSON = "http://adlnet.gov/expapi/activities/lesson"
EXT_CREDIT_HOURS = "https://zhifakb.example/xapi/extensions/credit-hours"
EXT_YEAR = "https://zhifakb.example/xapi/extensions/training-year"
EXT_CATEGORY = "https://zhifakb.example/xapi/extensions/category"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zhifakb.example/xapi")


@dataclass(frozen=True)
class CreditItem:
    """One ledger line as exported."""

    entry_id: int
    kind: str  # quiz | offline | reversal
    title: str
    category: str
    on: date
    score: float | None
    hours: Decimal
    note: str
    reverses_id: int | None = None


@dataclass
class OfficerYear:
    """An officer's year: who, their total, and each credited item."""

    user_id: int
    username: str
    display_name: str
    cert_no: str | None
    unit_path: str
    fields: tuple[str, ...]
    year: int
    items: list[CreditItem] = field(default_factory=list)

    @cached_property
    def total(self) -> Decimal:
        """累计学时: the sum of the items (read once the items are complete)."""
        return sum((i.hours for i in self.items), Decimal(0)).quantize(Decimal("0.01"))

    @property
    def met(self) -> bool:
        return self.total >= GOAL_HOURS


@dataclass(frozen=True)
class Export:
    """A finished export: the file's bytes and what it holds (as audited)."""

    unit_code: str
    year: int
    fmt: str
    data: bytes
    officers: int
    items: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"学时_{self.unit_code}_{self.year}.{'json' if self.fmt == 'xapi' else self.fmt}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]


def _officer_ids(unit_ids: Iterable[int]) -> Any:
    return select(User.id).where(User.role == "officer", User.unit_id.in_(list(unit_ids))).scalar_subquery()


def officer_years(session: Session, unit_ids: Iterable[int], year: int) -> list[OfficerYear]:
    """Every officer of ``unit_ids`` with their ledger lines for ``year`` (no access check)."""
    ids = list(unit_ids)
    paths = UnitPaths(session)
    officers = _officer_ids(ids)
    fields: dict[int, list[str]] = defaultdict(list)
    for user_id, name in session.execute(select(UserField.user_id, UserField.field)
                                         .where(UserField.user_id.in_(officers)).order_by(UserField.field)):
        fields[user_id].append(name)
    people = {u.id: OfficerYear(u.id, u.username, u.display_name, u.cert_no, paths.path(u.unit_id),
                                tuple(fields.get(u.id, ())), year)
              for u in session.execute(select(User.id, User.username, User.display_name, User.cert_no, User.unit_id)
                                       .where(User.role == "officer", User.unit_id.in_(ids)))}
    quizzes = {quiz_id: title for quiz_id, title in session.execute(select(Quiz.id, Quiz.title))}
    best = {(u, q): p for u, q, p in session.execute(
        select(Attempt.user_id, Attempt.quiz_id, func.max(Attempt.percent))
        .where(Attempt.year == year, Attempt.status != "open", Attempt.score.is_not(None),
               Attempt.user_id.in_(officers))
        .group_by(Attempt.user_id, Attempt.quiz_id))}
    lines = session.execute(
        select(LedgerEntry.id, LedgerEntry.user_id, LedgerEntry.kind, LedgerEntry.category, LedgerEntry.on_date,
               LedgerEntry.hours, LedgerEntry.quiz_id, LedgerEntry.reverses_id, LedgerEntry.score, LedgerEntry.note)
        .where(LedgerEntry.year == year, LedgerEntry.user_id.in_(officers))
        .order_by(LedgerEntry.user_id, LedgerEntry.on_date, LedgerEntry.id)).all()
    titles: dict[int, str] = {}
    for line in lines:
        titles[line.id] = quizzes.get(line.quiz_id, "") if line.kind == "quiz" else line.category
    for line in lines:
        if line.kind == "quiz":
            item = CreditItem(line.id, "quiz", titles[line.id], line.category, line.on_date,
                              best.get((line.user_id, line.quiz_id), line.score), line.hours, "")
        elif line.kind == "offline":
            item = CreditItem(line.id, "offline", line.category, line.category, line.on_date, None, line.hours,
                              line.note)
        else:
            original = titles.get(line.reverses_id or 0, line.category)
            item = CreditItem(line.id, "reversal", f"冲正 #{line.reverses_id} {original}", "冲正", line.on_date, None,
                              line.hours, line.note, line.reverses_id)
        people[line.user_id].items.append(item)
    return sorted(people.values(), key=lambda o: (o.unit_path, o.username))


def _text(value: str) -> str:
    """A text cell for the CSV, defused if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _summary(o: OfficerYear) -> list[Any]:
    return [o.display_name, o.cert_no or "", o.unit_path, "、".join(o.fields), o.year, o.total, "是" if o.met else "否"]


def _item(i: CreditItem | None) -> list[Any]:
    if i is None:
        return ["", "", "", "", "", ""]
    return [i.title, i.category, i.on, "" if i.score is None else round(i.score, 2), i.hours, i.note]


def detail_rows(officers: Sequence[OfficerYear]) -> Iterable[list[Any]]:
    """The rows of the detail table (CSV and the XLSX sheet 学时明细), without the header."""
    for o in officers:
        for i in o.items or [None]:
            yield _summary(o) + _item(i)


def render_csv(officers: Sequence[OfficerYear]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in detail_rows(officers):
        writer.writerow([_text(v) if isinstance(v, str) else v.isoformat() if isinstance(v, date) else v for v in row])
    return buf.getvalue().encode("utf-8-sig")


def render_xlsx(officers: Sequence[OfficerYear]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)

    def cells(ws: Any, row: list[Any]) -> list[Any]:
        out = []
        for v in row:
            if isinstance(v, str) and v.startswith("="):  # openpyxl would store it as a formula
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"
                out.append(cell)
            elif isinstance(v, date):
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(v)
        return out

    summary = wb.create_sheet("汇总")
    summary.append([*SUMMARY_COLUMNS, "条目数"])
    for o in officers:
        summary.append(cells(summary, [*_summary(o), len(o.items)]))
    detail = wb.create_sheet("学时明细")
    detail.append(COLUMNS)
    for row in detail_rows(officers):
        detail.append(cells(detail, row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _duration(seconds: float) -> str:
    """ISO 8601 duration as xAPI wants it: PT1H30M, PT12M5.5S, PT0S."""
    seconds = max(round(float(seconds), 2), 0.0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT" + (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
    if secs or out == "PT":
        out += f"{secs:g}S"
    return out


def _sid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def xapi_statements(session: Session, unit_ids: Iterable[int], officers: Sequence[OfficerYear], year: int,
                    base_iri: str = DEFAULT_BASE_IRI) -> list[dict[str, Any]]:
    """cmi5-shaped statements for the attempts and ledger lines in ``year`` of ``officers``
    (as :func:`officer_years` gave them for ``unit_ids``)."""
    base = base_iri.rstrip("/")
    people = {o.user_id: o for o in officers}
    if not people:
        return []
    officer_ids = _officer_ids(unit_ids)
    credits = {line.attempt_id: line for line in session.scalars(select(LedgerEntry).where(
        LedgerEntry.year == year, LedgerEntry.kind == "quiz", LedgerEntry.user_id.in_(officer_ids)))}
    statements: list[dict[str, Any]] = []

    def actor(o: OfficerYear) -> dict[str, Any]:
        return {"objectType": "Agent", "name": o.display_name, "account": {"homePage": base, "name": o.username}}

    def context(o: OfficerYear, moveon: bool, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        categories = [{"id": CMI5_CATEGORY}] + ([{"id": MOVEON_CATEGORY}] if moveon else [])
        return {"registration": _sid(base, "registration", year, o.username),
                "contextActivities": {"category": categories},
                "extensions": {EXT_YEAR: year, **(extra or {})}}

    def verb(name: str) -> dict[str, Any]:
        return {"id": VERBS[name], "display": {"en-US": name, "zh-CN": VERB_ZH[name]}}

    attempts = session.execute(
        select(Attempt, Quiz.code, Quiz.title).join(Quiz, Quiz.id == Attempt.quiz_id)
        .where(Attempt.year == year, Attempt.status != "open", Attempt.score.is_not(None),
               Attempt.user_id.in_(officer_ids))
        .order_by(Attempt.submitted_at, Attempt.id))
    credit_statement: dict[int, str] = {}  # ledger line → the statement carrying its hours
    for attempt, code, title in attempts:
        o = people[attempt.user_id]
        assert attempt.submitted_at is not None
        activity = {"objectType": "Activity", "id": f"{base}/xapi/activities/quiz/{code}",
                    "definition": {"name": {"zh-CN": title}, "type": ASSESSMENT}}
        duration = _duration((attempt.submitted_at - attempt.started_at).total_seconds())
        stamp = attempt.submitted_at.isoformat()
        extra = {"https://w3id.org/xapi/cmi5/context/extensions/sessionid": _sid(base, "attempt", attempt.id)}
        statements.append({"id": _sid(base, "attempt", attempt.id, "completed"), "actor": actor(o),
                           "verb": verb("completed"), "object": activity,
                           "result": {"completion": True, "duration": duration},
                           "context": context(o, True, extra), "timestamp": stamp})
        outcome = "passed" if attempt.passed else "failed"
        max_score = attempt.max_score or 0.0
        score = attempt.score or 0.0
        result: dict[str, Any] = {
            "success": bool(attempt.passed), "duration": duration,
            "score": {"scaled": round(score / max_score, 4) if max_score else 0.0, "raw": score, "min": 0.0,
                      "max": max_score}}
        sid = _sid(base, "attempt", attempt.id, outcome)
        credit = credits.get(attempt.id)
        if credit is not None:
            result["extensions"] = {EXT_CREDIT_HOURS: float(credit.hours)}
            credit_statement[credit.id] = sid
        statements.append({"id": sid, "actor": actor(o), "verb": verb(outcome), "object": activity,
                           "result": result, "context": context(o, True, extra), "timestamp": stamp})
    for o in officers:
        for item in o.items:
            if item.kind == "offline":
                sid = _sid(base, "ledger", item.entry_id, "completed")
                credit_statement[item.entry_id] = sid
                stamp = datetime.combine(item.on, time(0, 0), LOCAL_TZ).isoformat()
                statements.append({
                    "id": sid, "actor": actor(o), "verb": verb("completed"),
                    "object": {"objectType": "Activity", "id": f"{base}/xapi/activities/offline/{item.entry_id}",
                               "definition": {"name": {"zh-CN": item.category}, "type": LESSON}},
                    "result": {"completion": True, "duration": _duration(float(item.hours) * 3600),
                               "extensions": {EXT_CREDIT_HOURS: float(item.hours)}},
                    "context": context(o, False, {EXT_CATEGORY: item.category}), "timestamp": stamp})
    for o in officers:
        for item in o.items:
            if item.kind == "reversal" and item.reverses_id in credit_statement:
                statements.append({
                    "id": _sid(base, "ledger", item.entry_id, "voided"), "actor": actor(o), "verb": verb("voided"),
                    "object": {"objectType": "StatementRef", "id": credit_statement[item.reverses_id]},
                    "context": context(o, False, {EXT_CREDIT_HOURS: float(item.hours)}),
                    "timestamp": datetime.combine(item.on, time(0, 0), LOCAL_TZ).isoformat()})
    return statements


def render_xapi(statements: list[dict[str, Any]]) -> bytes:
    """A JSON array, one statement a line (diffable, and streamable by line)."""
    lines = ",\n".join(json.dumps(s, ensure_ascii=False, sort_keys=True) for s in statements)
    return f"[\n{lines}\n]\n".encode() if statements else b"[]\n"


def export_unit(session: Session, actor: Actor, unit_code: str, year: int, fmt: str, *,
                base_iri: str | None = None, clock: Clock = utcnow) -> Export:
    """The unit's (and sub-units') hours for ``year`` as ``fmt`` (csv | xlsx | xapi).
    ``base_iri`` defaults to the configured ``xapi_base_iri`` (KB_XAPI_BASE_IRI).

    Checks access first (refusals audited), then builds the file in memory and commits the
    audit entry (format, counts, sha256) before returning it: no export leaves unrecorded.
    """
    target = f"export:{str(unit_code)[:40]}/{year}"
    try:
        unit = get_unit(session, validate.unit_code(unit_code))
    except (NotFound, ValidationError):
        audit.record_refusal(session, actor, "records.export", target, {"reason": "no such unit", "role": actor.role},
                             clock=clock)
        raise
    target = f"export:{unit.code}/{year}"
    access.require(session, actor, "records.export", unit=unit, target=target)
    check_year(year)
    if fmt not in FORMATS:
        raise ValidationError(f"导出格式 {str(fmt)[:20]!r} 无效 / format must be one of {', '.join(FORMATS)}")
    unit_ids = access.subtree_ids(session, unit.id)
    officers = officer_years(session, unit_ids, year)
    if fmt == "csv":
        data = render_csv(officers)
    elif fmt == "xlsx":
        data = render_xlsx(officers)
    else:
        if base_iri is None:
            from kb.config import load_settings

            base_iri = load_settings().xapi_base_iri
        data = render_xapi(xapi_statements(session, unit_ids, officers, year, base_iri))
    items = sum(len(o.items) for o in officers)
    digest = hashlib.sha256(data).hexdigest()
    audit.record(session, actor, "records.export", target, {
        "year": year, "format": fmt, "officers": len(officers), "items": items, "bytes": len(data), "sha256": digest},
        clock=clock)
    session.commit()
    return Export(unit.code, year, fmt, data, len(officers), items, digest)

