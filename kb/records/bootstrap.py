"""The first admin account, so a fresh installation can be signed into at all.

Run on every start (``kb users bootstrap`` in ``scripts/start.sh``, and by the app): it does
nothing once any admin exists. The password comes from ``KB_ADMIN_PASSWORD`` when set (it must
meet the policy); otherwise one is generated, returned once for the caller to print, and its
owner must change it at first sign-in. Only the hash is stored.
"""

from __future__ import annotations

import os

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.records import audit, auth
from kb.records.models import Clock, User, utcnow

ADMIN_USERNAME = "admin"


def ensure_first_admin(session: Session, password: str | None = None, *,
                       clock: Clock = utcnow) -> tuple[str, str] | None:
    """Create ``admin`` when the database has no admin; returns (username, password) if a
    password was generated (the only time anyone sees it), else None."""
    if session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
        return None
    given = password if password is not None else os.environ.get("KB_ADMIN_PASSWORD") or None
    if given is not None:
        auth.check_password_policy(given, ADMIN_USERNAME)
    secret = given or auth.generate_password()
    user = User(username=ADMIN_USERNAME, display_name="系统管理员", role="admin",
                password_hash=auth.hash_password(secret), must_change_password=given is None,
                created_at=clock())
    session.add(user)
    audit.record(session, None, "users.bootstrap_admin", f"user:{ADMIN_USERNAME}",
                 {"password": "environment" if given else "generated"}, clock=clock)
    try:
        session.commit()
    except IntegrityError:  # another process created it at the same moment
        session.rollback()
        return None
    return None if given else (ADMIN_USERNAME, secret)
