"""Who may do what: the one place the authorisation rules live.

Every entry point (the CLI, the app's pages, later the exports) calls these functions, so the
rules cannot drift apart. Roles grant permissions; scope narrows them:

- admin: everything, everywhere (the shell :class:`Operator` counts as admin).
- coordinator: sees and exports the users of their own unit and its sub-units, and manages
  the officers there (add, import, reset passwords); not trainers, coordinators or admins.
- coordinator, too: enters offline training (集中轮训、岗位练兵、专题讲座) and corrections in
  the ledger of the people in their subtree, and views their progress.
- trainer: manages content (questions, quizzes); sees only themselves among users.
- officer: sees only themselves; takes quizzes (as everyone may) and sees their own hours.

A refusal raises :class:`AccessDenied` and is written to the audit log in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from kb.records import audit
from kb.records.errors import AccessDenied
from kb.records.models import ROLES, Actor, Unit, User

PERMISSIONS: Mapping[str, frozenset[str]] = {
    "users.view": frozenset(ROLES),  # narrowed by scope: see can_view_user
    "users.manage": frozenset({"coordinator", "admin"}),  # narrowed by scope and MANAGED_ROLES
    "units.manage": frozenset({"admin"}),
    "content.manage": frozenset({"trainer", "admin"}),
    "records.export": frozenset({"coordinator", "admin"}),  # narrowed by scope
    "quiz.take": frozenset(ROLES),  # anyone signed in takes quizzes, as themselves
    "ledger.manage": frozenset({"coordinator", "admin"}),  # offline training, reversals; narrowed by scope
    "audit.view": frozenset({"admin"}),
    "documents.manage": frozenset({"admin"}),  # upload, ingest, remove knowledge-base documents
}

# The roles each role may create, import or reset passwords for.
MANAGED_ROLES: Mapping[str, frozenset[str]] = {
    "admin": frozenset(ROLES),
    "coordinator": frozenset({"officer"}),
}


def has_permission(actor: Actor, permission: str) -> bool:
    """The role-level check alone: does this kind of user ever hold ``permission``?"""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a programming error, not a user's
    return actor.active and actor.role in PERMISSIONS[permission]


def subtree_ids(session: Session, unit_id: int) -> frozenset[int]:
    """A unit and every unit below it, by a recursive query (UNION, so a corrupt cycle ends)."""
    tree = select(Unit.id).where(Unit.id == unit_id).cte("tree", recursive=True)
    tree = tree.union(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return frozenset(session.scalars(select(tree.c.id)))


def visible_unit_ids(session: Session, actor: Actor) -> frozenset[int]:
    """The units whose people ``actor`` may see: all for admins, the own subtree for
    coordinators, none for trainers and officers (who see only themselves)."""
    if not actor.active:
        return frozenset()
    if actor.role == "admin":
        return frozenset(session.scalars(select(Unit.id)))
    if actor.role == "coordinator" and actor.unit_id is not None:
        return subtree_ids(session, actor.unit_id)
    return frozenset()


def unit_in_scope(actor: Actor, unit: Unit | None) -> bool:
    """Whether ``unit`` is within the actor's reach (walks up from ``unit``; no query needed)."""
    if not actor.active:
        return False
    if actor.role == "admin":
        return True
    if actor.role != "coordinator" or unit is None or actor.unit_id is None:
        return False
    return unit.id == actor.unit_id or any(u.id == actor.unit_id for u in unit.ancestors())


def can_view_user(actor: Actor, user: User) -> bool:
    """Everyone sees themselves; coordinators their subtree; admins everyone."""
    if not actor.active:
        return False
    if isinstance(actor, User) and actor.id == user.id:
        return True
    return unit_in_scope(actor, user.unit)


def can_manage(actor: Actor, role: str, unit: Unit | None) -> bool:
    """May ``actor`` create, import or reset the password of a ``role`` user in ``unit``?"""
    return (has_permission(actor, "users.manage") and role in MANAGED_ROLES.get(actor.role, frozenset())
            and unit_in_scope(actor, unit))


def visible_users(session: Session, actor: Actor) -> Select[tuple[User]]:
    """A query for the users ``actor`` may see, for lists and exports to build on."""
    stmt = select(User).order_by(User.username)
    if not actor.active:
        return stmt.where(false())
    if actor.role == "admin":
        return stmt
    own = User.id == actor.id if isinstance(actor, User) else User.id.is_(None)
    units = visible_unit_ids(session, actor)
    return stmt.where(own | User.unit_id.in_(units)) if units else stmt.where(own)


def require(session: Session, actor: Actor, permission: str, *, target: str = "",
            user: User | None = None, unit: Unit | None = None, role: str | None = None) -> None:
    """Raise AccessDenied (and audit it) unless ``actor`` may use ``permission`` — on ``user``
    (an existing person), or in ``unit`` for a user of ``role`` (a person to be created).

    Call it before writing anything: the refusal is committed in its own transaction.
    """
    reason = _refusal(actor, permission, user, unit, role)
    if reason is None:
        return
    detail = {"permission": permission, "reason": reason, "role": actor.role}
    audit.record_refusal(session, actor, permission, target or _describe(user, unit), detail)
    raise AccessDenied(permission if not target else f"{permission} {target}", reason)


def _refusal(actor: Actor, permission: str, user: User | None, unit: Unit | None, role: str | None) -> str | None:
    if not actor.active:
        return "account is inactive"
    if not has_permission(actor, permission):
        return f"role {actor.role} lacks {permission}"
    if permission == "users.manage":
        if user is not None and not can_manage(actor, user.role, user.unit):
            return f"{user.username} ({user.role}) is outside what you manage"
        if (role is not None or unit is not None) and not can_manage(actor, role or "officer", unit):
            where = unit.code if unit is not None else "no unit"
            return f"a {role or 'user'} in {where} is outside what you manage"
        return None
    if user is not None and not can_view_user(actor, user):
        return f"{user.username} is outside your units"
    if unit is not None and not unit_in_scope(actor, unit):
        return f"unit {unit.code} is outside your units"
    return None


def _describe(user: User | None, unit: Unit | None) -> str:
    if user is not None:
        return f"user:{user.username}"
    return f"unit:{unit.code}" if unit is not None else ""
