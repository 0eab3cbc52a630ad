"""Sign-ins that outlive a page reload: a random token in the browser, its hash in the database.

Streamlit keeps everything of a browser tab in memory tied to one websocket; a reload, a
second tab or a bookmark starts a new one, and an officer half-way through a day of study
would be asked for the password each time. The app therefore gives the browser a token
(cookie) when someone signs in and resumes from it. The rules live here, not in the app:

- a sign-in ends after ``IDLE_LIMIT`` without activity and, however active, after
  ``LIFETIME`` (a working day), so a browser left signed in on a shared desk does not stay so;
- only the token's SHA-256 is stored, so the database (or a backup of it) cannot be replayed;
- a password change or reset, and deactivating the account, end every sign-in of that user
  (a stolen or forgotten browser session dies with the old password);
- signing out ends that browser's sign-in for good, whatever the cookie still says.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from kb.records.db import writing
from kb.records.models import Clock, SignIn, User, utcnow

IDLE_LIMIT = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
# last_seen is written at most this often: a click is not worth a database write each time.
TOUCH_EVERY = timedelta(minutes=1)

Outcome = Literal["ok", "unknown", "idle", "lifetime", "inactive"]


@dataclass(frozen=True)
class Resumed:
    """What a token is worth now: the user when ``outcome`` is ``ok``, else why not."""

    user: User | None
    outcome: Outcome


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_sign_in(session: Session, user: User, *, clock: Clock = utcnow) -> str:
    """Record a new sign-in of ``user`` and return the token for the browser to keep.
    Sign-ins that have run out (anyone's) are swept away on the way."""
    now = clock()
    token = secrets.token_urlsafe(32)
    with writing(session):
        session.execute(delete(SignIn).where(or_(SignIn.last_seen < now - IDLE_LIMIT,
                                                 SignIn.created_at < now - LIFETIME)))
        session.add(SignIn(token_hash=_digest(token), user_id=user.id, created_at=now, last_seen=now))
    return token


def resume(session: Session, token: str, *, clock: Clock = utcnow) -> Resumed:
    """The user a token signs in, or why it no longer does, counting this as activity (every
    click of every tab of the browser calls it). A token that has run out or whose user was
    deactivated is deleted, so it cannot come back."""
    row = session.get(SignIn, _digest(token)) if token else None
    if row is None:
        return Resumed(None, "unknown")
    now = clock()
    user = session.get(User, row.user_id)
    outcome: Outcome = "ok"
    if now - row.created_at > LIFETIME:
        outcome = "lifetime"
    elif now - row.last_seen > IDLE_LIMIT:
        outcome = "idle"
    elif user is None or not user.active:
        outcome = "inactive"
    if outcome != "ok":
        end_sign_in(session, token)
        return Resumed(None, outcome)
    if now - row.last_seen >= TOUCH_EVERY:
        _seen(session, row.token_hash, now)
    return Resumed(user, "ok")


def touch(session: Session, token: str, *, clock: Clock = utcnow) -> None:
    """Count as activity without a click (a quiz's countdown): the sign-in stays fresh. One
    that has already run out stays ended (a laptop woken after an hour asleep)."""
    row = session.get(SignIn, _digest(token)) if token else None
    now = clock()
    if row is not None and TOUCH_EVERY <= now - row.last_seen <= IDLE_LIMIT:
        _seen(session, row.token_hash, now)


def _seen(session: Session, token_hash: str, now: datetime) -> None:
    # A statement, not the loaded row: the row may have been ended meanwhile (sign-out in another tab).
    with writing(session):
        session.execute(update(SignIn).where(SignIn.token_hash == token_hash).values(last_seen=now))


def end_sign_in(session: Session, token: str) -> None:
    """Signing out: this browser's token is worth nothing from now on."""
    if token:
        with writing(session):
            session.execute(delete(SignIn).where(SignIn.token_hash == _digest(token)))


def end_all_sign_ins(session: Session, user: User) -> None:
    """End every sign-in of ``user`` (password changed or reset, account deactivated); the
    caller's transaction commits it."""
    session.execute(delete(SignIn).where(SignIn.user_id == user.id))
