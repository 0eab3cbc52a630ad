"""Passwords and sign-in: argon2id hashes, the password policy, lockout after failures.

Sign-in failures all look the same to the caller (:class:`AuthError`), whether the username
is unknown, the password wrong, the account inactive or locked, and an unknown username
still costs one hash verification, so neither the message nor the timing says which
usernames exist. The audit log, which only admins read, records the real reason.
"""

from __future__ import annotations

import secrets
import string
import unicodedata
from datetime import datetime, timedelta
from functools import cache
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.records import audit
from kb.records.db import begin_write
from kb.records.errors import AuthError, ValidationError
from kb.records.models import Clock, User, utcnow

MIN_LENGTH = 10
MAX_LENGTH = 128
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ≈70 ms a hash on this machine, so a
# sign-in stays quick and an import of a thousand officers takes about a minute. Stored hashes
# carry their parameters; raising these later rehashes each password at its next sign-in.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def check_password_policy(password: str, username: str = "") -> None:
    """At least 10 characters with letters and digits, no control characters, not the username."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"至少 {MIN_LENGTH} 位 / at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"最多 {MAX_LENGTH} 位 / at most {MAX_LENGTH} characters")
    if not any(ch.isalpha() for ch in password):
        problems.append("须含字母 / a letter")
    if not any(ch.isdigit() for ch in password):
        problems.append("须含数字 / a digit")
    if any(unicodedata.category(ch) == "Cc" for ch in password):
        problems.append("不能含控制字符 / no control characters")
    if username and username.lower() in password.lower():
        problems.append("不能包含用户名 / must not contain the username")
    if problems:
        raise ValidationError("密码不符合要求 / weak password: " + "; ".join(problems))


def hash_password(password: str) -> str:
    """An argon2id hash of the password (NFC-normalised, so composed and decomposed forms match)."""
    return HASHER.hash(unicodedata.normalize("NFC", password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; a corrupt stored hash counts as a mismatch."""
    try:
        return HASHER.verify(password_hash, unicodedata.normalize("NFC", password))
    except (VerificationError, InvalidHashError):
        return False


def generate_password(length: int = 14) -> str:
    """A random password that meets the policy, for imports and resets (no 0/O, 1/l/I)."""
    letters = "".join(ch for ch in string.ascii_letters if ch not in "OlI")
    digits = "23456789"
    while True:
        candidate = "".join(secrets.choice(letters + digits) for _ in range(length))
        if any(ch in digits for ch in candidate) and any(ch in letters for ch in candidate):
            return candidate


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_hex(16))


def authenticate(session: Session, username: str, password: str, *, clock: Clock = utcnow) -> User:
    """The active user with this username and password, or AuthError.

    Commits: the failure count and lockout must survive whatever the caller does next. After
    ``MAX_FAILURES`` consecutive failures the account is locked for ``LOCKOUT``; while locked,
    even the right password is refused. A successful sign-in clears the count.
    """
    now = clock()
    # A writer from the start (SQLite: BEGIN IMMEDIATE): a sign-in always writes (the failure
    # count, the audit row), and a read snapshot upgraded after another browser wrote meanwhile
    # (signed-in pages note their activity) would fail with SQLITE_BUSY_SNAPSHOT instead of waiting.
    begin_write(session)
    name = unicodedata.normalize("NFKC", (username or "").strip()).lower()
    user = session.scalar(select(User).where(User.username == name)) if 0 < len(name) <= 64 else None
    target = name[:64]
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
        _refuse(session, user, target, "unknown user" if user is None else "inactive", now)
    if user.locked_until is not None and now < user.locked_until:
        verify_password(_dummy_hash(), password)
        _refuse(session, user, target, "locked", now)
    if user.locked_until is not None:  # the lock has run out: a fresh set of attempts
        user.locked_until = None
        user.failed_logins = 0
        session.flush()
    if not verify_password(user.password_hash, password):
        user.failed_logins = User.failed_logins + 1  # in SQL: parallel attempts all count
        session.flush()
        reason = "wrong password"
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            reason = f"wrong password; locked until {user.locked_until.isoformat()}"
        _refuse(session, user, target, reason, now)
    user.failed_logins = 0
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, user, "auth.login", target, clock=lambda: now)
    session.commit()
    return user


def _refuse(session: Session, user: User | None, target: str, reason: str, now: datetime) -> NoReturn:
    """Record why (for admins), commit the failure count, and say nothing specific."""
    detail: dict[str, object] = {"reason": reason}
    if user is not None:
        detail |= {"user_id": user.id, "failed_logins": user.failed_logins}
    audit.record(session, None, "auth.login", target, detail, outcome="refused", clock=lambda: now)
    session.commit()
    raise AuthError()
