"""单位: create and look up units, which nest (province → city → county) to any depth.

A unit's parent is set when it is created and must already exist, so the tree cannot get a
cycle through this module.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.records import access, audit, validate
from kb.records.errors import NotFound, ValidationError
from kb.records.models import Actor, Clock, Unit, utcnow


def get_unit(session: Session, code: str) -> Unit:
    """The unit with this code, or NotFound."""
    unit = session.scalar(select(Unit).where(Unit.code == code.strip()))
    if unit is None:
        raise NotFound(f"没有代码为 {code!r} 的单位 / no unit with code {code!r}; list them with: kb units list")
    return unit


def add_unit(session: Session, actor: Actor, code: str, name: str, parent_code: str | None = None,
             *, clock: Clock = utcnow) -> Unit:
    """Create a unit (admins only), under ``parent_code`` when given; commits with its audit entry."""
    access.require(session, actor, "units.manage", target=f"unit:{code}"[:200])
    code = validate.unit_code(code)
    name = validate.text(name, "单位名称 / unit name", 100)
    parent = get_unit(session, validate.unit_code(parent_code)) if parent_code else None
    if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise ValidationError(f"单位代码 {code} 已存在 / unit code {code} already exists")
    unit = Unit(code=code, name=name, parent=parent, created_at=clock())
    session.add(unit)
    audit.record(session, actor, "units.add", f"unit:{code}", {"name": name, "parent": parent_code}, clock=clock)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ValidationError(f"单位代码 {code} 已存在 / unit code {code} already exists") from exc
    return unit


def list_units(session: Session, actor: Actor) -> list[Unit]:
    """The units ``actor`` can see, ordered by code."""
    ids = access.visible_unit_ids(session, actor)
    if not ids:
        return []
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code)))
