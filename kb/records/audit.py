"""The append-only audit log: who did, or was refused, what, to what.

Two writers, for two situations:

- :func:`record` adds the entry to the caller's session, so an action and its entry commit
  (or roll back) together: the log never claims something that did not happen.
- :func:`record_refusal` commits the entry at once in a transaction of its own, because the
  refused operation is about to be abandoned and its session rolled back, and the refusal must
  stay. Call it before the refused operation has written anything (SQLite has one writer at a
  time); :func:`kb.records.access.require` is called first thing for that reason. Inside a
  :func:`kb.records.db.writing` block (an operation made of several, such as publishing a
  drill) the entry is written as soon as the outermost block has ended, rolled back or not.

Nothing here updates or deletes entries, and the database refuses to (triggers, migration 0001).
Entries never hold passwords or hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kb.records.db import after_writing
from kb.records.models import Actor, AuditEntry, Clock, Operator, utcnow

log = logging.getLogger(__name__)


def _entry(actor: Actor | None, action: str, target: str, detail: Mapping[str, Any] | None,
           outcome: str, clock: Clock) -> AuditEntry:
    data = dict(detail or {})
    if isinstance(actor, Operator):
        data["operator"] = actor.name
    return AuditEntry(at=clock(), actor_id=actor.id if actor is not None else None, action=action,
                      target=target[:200], detail=data, outcome=outcome)


def record(session: Session, actor: Actor | None, action: str, target: str = "",
           detail: Mapping[str, Any] | None = None, *, outcome: str = "ok", clock: Clock = utcnow) -> AuditEntry:
    """Add an entry to ``session``; it is written when the caller commits its action."""
    entry = _entry(actor, action, target, detail, outcome, clock)
    session.add(entry)
    return entry


def record_refusal(session: Session, actor: Actor | None, action: str, target: str = "",
                   detail: Mapping[str, Any] | None = None, *, clock: Clock = utcnow) -> None:
    """Write a refused entry now, in its own transaction, whatever happens to ``session``
    (inside a write transaction: once it has ended, see the module docstring)."""
    entry = _entry(actor, action, target, detail, "refused", clock)
    if not after_writing(session, lambda: _write_refusal(session, entry)):
        _write_refusal(session, entry)


def _write_refusal(session: Session, entry: AuditEntry) -> None:
    columns = {name: getattr(entry, name) for name in ("at", "actor_id", "action", "target", "detail", "outcome")}
    try:
        with Session(session.get_bind()) as own:
            own.add(entry)
            own.commit()
    except OperationalError:
        # The caller already holds SQLite's write lock: fall back to its transaction.
        log.warning("audit: refusal of %s written in the caller's transaction", entry.action)
        session.add(AuditEntry(**columns))


def entries(session: Session, *, action: str | None = None, actor_id: int | None = None,
            outcome: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest entries first, optionally filtered (reading the log is ``audit.view``)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if outcome is not None:
        stmt = stmt.where(AuditEntry.outcome == outcome)
    return list(session.scalars(stmt))
