"""Passwords and sign-in: argon2id hashes, the policy, the lockout after five failures and its
end after fifteen minutes (an injected clock, no sleeping), and failures that all look alike."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from kb.records import auth
from kb.records.auth import authenticate, check_password_policy
from kb.records.errors import AuthError, ValidationError
from kb.records.models import AuditEntry, Operator
from kb.records.people import change_password, reset_password
from tests.test_records_fixtures import PASSWORD, user

pytest_plugins = ["tests.test_records_fixtures"]


@pytest.mark.parametrize("password, problem", [
    ("short1a", "at least 10"),
    ("onlyletterslong", "a digit"),
    ("1234567890123", "a letter"),
    ("zhang.th2024abc", "username"),
    ("tab\there12345", "control"),
    ("a1" * 70, "at most 128"),
])
def test_password_policy_refusals(password, problem):
    with pytest.raises(ValidationError, match=problem):
        check_password_policy(password, "zhang.th")


def test_password_policy_accepts_letters_and_digits_including_chinese():
    check_password_policy("执法培训2024年度考核", "zhang.th")
    check_password_policy(PASSWORD, "zhang.th")
    generated = auth.generate_password()
    check_password_policy(generated)
    assert generated != auth.generate_password()


def test_production_hashes_are_argon2id_with_owasp_parameters():
    hasher = auth.HASHER
    assert isinstance(hasher, PasswordHasher) and hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
    digest = hasher.hash(PASSWORD)
    assert digest.startswith("$argon2id$") and PASSWORD not in digest


def test_authenticate_and_what_is_stored(world, clock):
    with world.Session() as s:
        u = authenticate(s, "Zhang.TH", PASSWORD, clock=clock)  # usernames are case-insensitive
        assert u.username == "zhang.th" and u.failed_logins == 0
        assert u.password_hash.startswith("$argon2id$") and PASSWORD not in u.password_hash
        details = [str(e.detail) + e.target for e in s.scalars(select(AuditEntry))]
        assert not any(PASSWORD in d for d in details)


def test_failures_look_alike_whatever_the_cause(world, clock):
    messages = set()
    with world.Session() as s:
        for username, password in [("zhang.th", "wrong-password-1"), ("nobody", PASSWORD), ("", ""),
                                   ("Robert'); DROP TABLE users;--", PASSWORD)]:
            with pytest.raises(AuthError) as err:
                authenticate(s, username, password, clock=clock)
            messages.add(str(err.value))
        u = user(s, "li.yx")
        u.active = False
        s.commit()
        with pytest.raises(AuthError) as err:
            authenticate(s, "li.yx", PASSWORD, clock=clock)
        messages.add(str(err.value))
    assert messages == {AuthError.MESSAGE}
    assert "用户名或密码错误" in AuthError.MESSAGE and "wrong username or password" in AuthError.MESSAGE
    with world.Session() as s:
        reasons = [e.detail["reason"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "auth.login", AuditEntry.outcome == "refused").order_by(AuditEntry.id))]
        assert reasons == ["wrong password", "unknown user", "unknown user", "unknown user", "inactive"]
        assert user(s, "zhang.th") is not None  # the SQL-looking username did nothing


def test_lockout_after_five_failures_and_unlock_after_fifteen_minutes(world, clock):
    with world.Session() as s:
        for _ in range(auth.MAX_FAILURES):
            with pytest.raises(AuthError):
                authenticate(s, "zhang.th", "not-the-password-9", clock=clock)
        locked = user(s, "zhang.th")
        assert locked.locked_until == clock.now + auth.LOCKOUT
        clock.advance(minutes=14, seconds=59)
        with pytest.raises(AuthError):  # the right password is refused while locked
            authenticate(s, "zhang.th", PASSWORD, clock=clock)
        clock.advance(seconds=1)
        u = authenticate(s, "zhang.th", PASSWORD, clock=clock)
        assert u.locked_until is None and u.failed_logins == 0
        refused = list(s.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused")
                                 .order_by(AuditEntry.id)))
        assert "locked until" in refused[auth.MAX_FAILURES - 1].detail["reason"]
        assert refused[-1].detail["reason"] == "locked"


def test_expired_lock_gives_a_fresh_set_of_attempts_and_success_clears_the_count(world, clock):
    with world.Session() as s:
        for _ in range(auth.MAX_FAILURES - 1):
            with pytest.raises(AuthError):
                authenticate(s, "li.yx", "not-the-password-9", clock=clock)
        assert authenticate(s, "li.yx", PASSWORD, clock=clock).failed_logins == 0
        for _ in range(auth.MAX_FAILURES):
            with pytest.raises(AuthError):
                authenticate(s, "li.yx", "not-the-password-9", clock=clock)
        clock.advance(minutes=16)
        with pytest.raises(AuthError):  # one failure after the lock ran out does not re-lock
            authenticate(s, "li.yx", "not-the-password-9", clock=clock)
        u = user(s, "li.yx")
        assert u.locked_until is None and u.failed_logins == 1


def test_lockout_survives_a_new_session(world, clock):
    for _ in range(auth.MAX_FAILURES):
        with world.Session() as s, pytest.raises(AuthError):
            authenticate(s, "wang.gz", "not-the-password-9", clock=clock)
    with world.Session() as s, pytest.raises(AuthError):
        authenticate(s, "wang.gz", PASSWORD, clock=clock)


def test_reset_password_unlocks_and_obliges_a_change(world, clock):
    with world.Session() as s:
        for _ in range(auth.MAX_FAILURES):
            with pytest.raises(AuthError):
                authenticate(s, "zhang.th", "not-the-password-9", clock=clock)
        new = reset_password(s, Operator("ops"), "zhang.th", clock=clock)
        u = authenticate(s, "zhang.th", new, clock=clock)
        assert u.must_change_password and u.locked_until is None
        with pytest.raises(ValidationError, match="weak password"):
            change_password(s, "zhang.th", new, "short", clock=clock)
        change_password(s, "zhang.th", new, "Tianhe2026newpass", clock=clock)
        assert not authenticate(s, "zhang.th", "Tianhe2026newpass", clock=clock).must_change_password
        with pytest.raises(AuthError):
            authenticate(s, "zhang.th", new, clock=clock)


def test_weaker_stored_hashes_are_upgraded_at_sign_in(world, clock, monkeypatch):
    monkeypatch.setattr(auth, "HASHER", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    with world.Session() as s:
        before = user(s, "zhang.th").password_hash
        after = authenticate(s, "zhang.th", PASSWORD, clock=clock).password_hash
        assert before != after and "m=2048,t=2" in after
