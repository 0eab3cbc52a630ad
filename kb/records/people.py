"""People: add users one by one or from a CSV file, reset passwords, list and look them up.

Every function takes the acting user (or the shell :class:`Operator`) and checks it through
:mod:`kb.records.access` before writing anything, so the CLI and the app obey the same rules.
Each action commits its own transaction together with its audit entry.

A CSV import is all-or-none: every row is checked first (format, unknown unit, duplicates in
the file or in the database, role, password policy, the importer's scope) and one bad row
means nothing is imported; the error lists every bad row by its line number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.records import access, audit, auth, validate
from kb.records.csvfile import read_rows, take_cell
from kb.records.db import writing
from kb.records.errors import ImportRejected, NotFound, RecordsError, RowError, ValidationError
from kb.records.models import Actor, Clock, Unit, User, utcnow
from kb.records.signins import end_all_sign_ins
from kb.records.units import get_unit

NEEDS_UNIT = {"officer", "coordinator"}

CSV_COLUMNS = {
    "username": "username", "用户名": "username", "账号": "username",
    "display_name": "display_name", "name": "display_name", "姓名": "display_name",
    "role": "role", "角色": "role",
    "unit": "unit", "unit_code": "unit", "单位": "unit", "单位代码": "unit",
    "cert_no": "cert_no", "执法证号": "cert_no",
    "fields": "fields", "执法领域": "fields",
    "password": "password", "密码": "password",
}
CSV_REQUIRED = {"username", "display_name", "role"}


@dataclass
class UserSpec:
    """A person to create, as typed by someone: nothing is validated yet."""

    username: str
    display_name: str
    role: str
    unit_code: str | None = None
    cert_no: str | None = None
    fields: Sequence[str] | str = ()
    password: str | None = None  # None: import generates one; add_user requires one


@dataclass


class ImportResult:
    """What an import created; ``generated_passwords`` holds the ones made for empty cells,
    to hand to their owners (they must change them at first sign-in)."""

    created: list[str]
    generated_passwords: dict[str, str] = field(default_factory=dict)


@dataclass


class _Checked:
    line: int
    username: str
    display_name: str
    role: str
    unit: Unit | None
    cert_no: str | None
    fields: list[str]
    password: str | None


def _check_rows(session: Session, actor: Actor, rows: list[tuple[int, UserSpec]]
                ) -> tuple[list[_Checked], list[RowError], list[int]]:
    """Validate every row; returns the good rows, every error, and the lines refused for scope."""
    errors: list[RowError] = []
    refused: list[int] = []
    checked: list[_Checked] = []
    codes = {(s.unit_code or "").strip() for _, s in rows} - {""}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))} if codes else {}
    seen_names: dict[str, int] = {}
    seen_certs: dict[str, int] = {}
    for line, spec in rows:
        row_errors: list[RowError] = []
        name = take_cell(row_errors, line, "username", validate.username, spec.username)
        display = take_cell(row_errors, line, "display_name", validate.text, spec.display_name,
                            "姓名 / display name", 100)
        role = take_cell(row_errors, line, "role", validate.role, spec.role)
        cert = take_cell(row_errors, line, "cert_no", validate.cert_no, spec.cert_no)
        fields = take_cell(row_errors, line, "fields", validate.fields, spec.fields)
        unit = None
        code = (spec.unit_code or "").strip()
        if code:
            unit = units.get(code)
            if unit is None:
                row_errors.append(RowError(line, "unit", f"未知单位 / unknown unit {code!r}"))
        elif role in NEEDS_UNIT:
            row_errors.append(RowError(line, "unit", f"{role} 必须属于一个单位 / a {role} needs a unit"))
        if spec.password:
            take_cell(row_errors, line, "password", auth.check_password_policy, spec.password, name or "")
        for value, seen, column in ((name, seen_names, "username"), (cert, seen_certs, "cert_no")):
            if value is not None and value in seen:
                row_errors.append(RowError(line, column, f"{value} 与第 {seen[value]} 行重复 / "
                                           f"{value} duplicates line {seen[value]}"))
            elif value is not None:
                seen[value] = line
        in_reach = unit is not None or (not code and role not in NEEDS_UNIT)
        if role is not None and in_reach and not access.can_manage(actor, role, unit):
            refused.append(line)
            row_errors.append(RowError(line, "unit", f"无权管理该单位的{role} / a {role} in "
                                       f"{code or 'no unit'} is outside what you manage"))
        errors += row_errors
        if not row_errors:
            checked.append(_Checked(line, name, display, role, unit, cert, fields, spec.password or None))
    errors += _existing(session, User.username, seen_names, "username")
    errors += _existing(session, User.cert_no, seen_certs, "cert_no")
    bad = {e.line for e in errors}
    return [c for c in checked if c.line not in bad], sorted(errors, key=lambda e: e.line), refused


def _existing(session: Session, column: Any, seen: dict[str, int], name: str) -> list[RowError]:
    """Rows whose value is already taken in the database (queried in slices of 500)."""
    values = list(seen)
    taken: set[str] = set()
    for start in range(0, len(values), 500):
        taken |= set(session.scalars(select(column).where(column.in_(values[start:start + 500]))))
    return [RowError(seen[v], name, f"{v} 已存在 / {v} already exists") for v in sorted(taken)]


def _create(session: Session, row: _Checked, password: str, must_change: bool, clock: Clock) -> User:
    user = User(username=row.username, display_name=row.display_name, role=row.role, unit=row.unit,
                cert_no=row.cert_no, password_hash=auth.hash_password(password),
                must_change_password=must_change, created_at=clock())
    user.fields = row.fields
    session.add(user)
    return user


def _commit(session: Session, what: str) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise _concurrent(what) from exc


def _concurrent(what: str) -> RecordsError:
    return RecordsError(f"{what}: 数据已被他人同时修改，未做任何更改 / changed concurrently; nothing was "
                        "changed, try again")


def add_user(session: Session, actor: Actor, spec: UserSpec, *, clock: Clock = utcnow) -> User:
    """Create one user; ValidationError lists every problem, AccessDenied if out of scope."""
    target = f"user:{spec.username}"[:200]
    access.require(session, actor, "users.manage", target=target)
    if not spec.password:
        raise ValidationError("需要初始密码 / a password is required")
    checked, errors, refused = _check_rows(session, actor, [(1, spec)])
    if refused:
        unit = session.scalar(select(Unit).where(Unit.code == (spec.unit_code or "").strip()))
        access.require(session, actor, "users.manage", target=target, unit=unit, role=validate.role(spec.role))
    if errors:
        raise ValidationError("; ".join(f"{e.column}: {e.message}" for e in errors))
    row = checked[0]
    user = _create(session, row, spec.password, must_change=False, clock=clock)
    audit.record(session, actor, "users.add", f"user:{row.username}",
                 {"role": row.role, "unit": row.unit.code if row.unit else None}, clock=clock)
    _commit(session, f"user {row.username}")
    return user


def import_users_csv(session: Session, actor: Actor, source: str | Path | bytes, *, name: str | None = None,
                     clock: Clock = utcnow) -> ImportResult:
    """Import every row of a CSV file, or none (ImportRejected lists every bad row by line).

    Columns (English or Chinese headers): username/用户名, display_name/姓名, role/角色,
    unit/单位代码, cert_no/执法证号, fields/执法领域 (separated by 、 or ;), password/密码
    (empty: one is generated and returned; its owner must change it at first sign-in).
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    label = name or (Path(source).name if not isinstance(source, bytes) else "upload.csv")
    access.require(session, actor, "users.manage", target=f"file:{label}")
    rows, shape_errors = [], []
    for row in read_rows(data, label, CSV_COLUMNS, CSV_REQUIRED):
        if row.problem:
            shape_errors.append(RowError(row.line, "", row.problem))
            continue
        c = row.cells
        rows.append((row.line, UserSpec(c["username"], c["display_name"], c["role"], c.get("unit"),
                                        c.get("cert_no"), c.get("fields", ""), c.get("password"))))
    checked, errors, refused = _check_rows(session, actor, rows)
    errors = sorted(shape_errors + errors, key=lambda e: e.line)
    digest = hashlib.sha256(data).hexdigest()
    if not rows and not errors:
        raise ValidationError(f"{label}: 没有数据行 / no users in the file")
    if errors:
        audit.record_refusal(session, actor, "users.import", f"file:{label}", {
            "sha256": digest, "rows": len(rows) + len(shape_errors), "bad_lines": sorted({e.line for e in errors}),
            "out_of_scope_lines": refused}, clock=clock)
        raise ImportRejected(label, errors)
    generated: dict[str, str] = {}
    for row in checked:
        password = row.password or generated.setdefault(row.username, auth.generate_password())
        _create(session, row, password, must_change=row.password is None, clock=clock)
    audit.record(session, actor, "users.import", f"file:{label}",
                 {"sha256": digest, "created": len(checked), "generated_passwords": len(generated)}, clock=clock)
    _commit(session, label)
    return ImportResult([r.username for r in checked], generated)


def get_user(session: Session, actor: Actor, username: str) -> User:
    """The user, if ``actor`` may see them (NotFound if absent, AccessDenied if out of scope)."""
    try:
        name = validate.username(username)
    except ValidationError:
        name = None
    user = session.scalar(select(User).where(User.username == name)) if name else None
    if user is None:
        raise NotFound(f"没有用户 {username!r} / no user {username!r}")
    access.require(session, actor, "users.view", user=user)
    return user


def list_users(session: Session, actor: Actor, *, unit_code: str | None = None, role: str | None = None) -> list[User]:
    """The users ``actor`` may see, optionally only in a unit (and its sub-units) or of a role."""
    stmt = access.visible_users(session, actor)
    if unit_code:
        unit = get_unit(session, unit_code)
        access.require(session, actor, "users.view", unit=unit)
        stmt = stmt.where(User.unit_id.in_(access.subtree_ids(session, unit.id)))
    if role:
        stmt = stmt.where(User.role == validate.role(role))
    return list(session.scalars(stmt))


def reset_password(session: Session, actor: Actor, username: str, new_password: str | None = None,
                   *, clock: Clock = utcnow) -> str:
    """Set a new password (generated when None) and unlock the account; returns the password.
    Someone else's reset obliges the owner to change it at their next sign-in. Every browser
    signed in as the owner is signed out (a reset is often because a password leaked)."""
    user = get_user(session, actor, username)
    access.require(session, actor, "users.manage", user=user)
    password = new_password or auth.generate_password()
    auth.check_password_policy(password, user.username)
    _set_password(user, password, must_change=not (isinstance(actor, User) and actor.id == user.id))
    end_all_sign_ins(session, user)
    audit.record(session, actor, "users.reset_password", f"user:{user.username}",
                 {"generated": new_password is None}, clock=clock)
    _commit(session, f"user {user.username}")
    return password


def set_active(session: Session, actor: Actor, username: str, active: bool, *, clock: Clock = utcnow) -> User:
    """Deactivate (or reactivate) an account: it can no longer sign in, and its sign-ins end
    (a browser open on the app is signed out at its next click; reactivating revives none).
    Nothing is deleted; the person's hours and attempts stay in the records and the exports.
    Nobody deactivates themselves (the last admin could lock everyone out that way)."""
    person = get_user(session, actor, username)
    access.require(session, actor, "users.manage", user=person)
    if isinstance(actor, User) and actor.id == person.id:
        raise ValidationError("不能停用自己的账户 / you cannot deactivate your own account")
    if person.active != active:
        try:
            with writing(session):  # write from a fresh snapshot (a refusal may have been audited since)
                person.active = active
                if not active:
                    end_all_sign_ins(session, person)
                audit.record(session, actor, "users.activate" if active else "users.deactivate",
                             f"user:{person.username}", clock=clock)
        except IntegrityError as exc:
            raise _concurrent(f"user {person.username}") from exc
    return person


def change_password(session: Session, username: str, old_password: str, new_password: str,
                    *, clock: Clock = utcnow) -> User:
    """A user changes their own password; the old one is checked like a sign-in (lockout too).
    Every sign-in of theirs ends, the caller's included (the app starts a new one for it)."""
    user = auth.authenticate(session, username, old_password, clock=clock)
    auth.check_password_policy(new_password, user.username)
    if new_password == old_password:
        raise ValidationError("新密码不能与旧密码相同 / the new password must differ from the old one")
    _set_password(user, new_password, must_change=False)
    end_all_sign_ins(session, user)
    audit.record(session, user, "users.change_password", f"user:{user.username}", clock=clock)
    _commit(session, f"user {user.username}")
    return user


def _set_password(user: User, password: str, must_change: bool) -> None:
    user.password_hash = auth.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.must_change_password = must_change
