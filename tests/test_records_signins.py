"""Sign-ins that survive a reload: a token resumes its user until it is idle for 30 minutes, a
working day old, signed out, or its user's password changes or the account is deactivated
(an injected clock, no sleeping; SQLite and, when configured, PostgreSQL)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from kb.records.models import Operator, SignIn
from kb.records.people import change_password, reset_password, set_active
from kb.records.signins import end_sign_in, open_sign_in, resume, touch
from tests.test_records_fixtures import PASSWORD, count, user

pytest_plugins = ["tests.test_records_fixtures"]
OP = Operator("test")


def test_a_token_resumes_its_user_and_only_its_hash_is_stored(world, clock):
    with world.Session() as s:
        token = open_sign_in(s, user(s, "zhang.th"), clock=clock)
        other = open_sign_in(s, user(s, "li.yx"), clock=clock)
        assert token != other and len(token) >= 40
        stored = list(s.scalars(select(SignIn.token_hash)))
        assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored
        assert resume(s, token, clock=clock).user.username == "zhang.th"
        assert resume(s, other, clock=clock).user.username == "li.yx"
        for forged in ("", "x", token[:-1], stored[0]):  # a stored hash is not a token
            assert resume(s, forged, clock=clock).outcome == "unknown"


def test_idle_for_thirty_minutes_ends_it_and_activity_keeps_it(world, clock):
    with world.Session() as s:
        token = open_sign_in(s, user(s, "zhang.th"), clock=clock)
        for _ in range(6):  # 2 h of clicks every 20 min
            clock.advance(minutes=20)
            assert resume(s, token, clock=clock).outcome == "ok"
        clock.advance(minutes=25)
        touch(s, token, clock=clock)  # a quiz countdown, no click
        clock.advance(minutes=25)
        assert resume(s, token, clock=clock).outcome == "ok"
        clock.advance(minutes=31)
        touch(s, token, clock=clock)  # too late: a countdown waking after a sleep revives nothing
        assert resume(s, token, clock=clock).outcome == "idle"
        clock.advance(minutes=1)
        assert resume(s, token, clock=clock).outcome == "unknown", "an ended sign-in is gone for good"


def test_a_working_day_at_most_however_active(world, clock):
    with world.Session() as s:
        token = open_sign_in(s, user(s, "zhang.th"), clock=clock)
        for _ in range(12 * 4):
            clock.advance(minutes=15)
            assert resume(s, token, clock=clock).outcome == "ok"
        clock.advance(minutes=1)
        assert resume(s, token, clock=clock).outcome == "lifetime"


def test_signing_out_ends_that_browser_only(world, clock):
    with world.Session() as s:
        office, home = (open_sign_in(s, user(s, "zhang.th"), clock=clock) for _ in range(2))
        end_sign_in(s, office)
        assert resume(s, office, clock=clock).outcome == "unknown"
        assert resume(s, home, clock=clock).user.username == "zhang.th"


def test_password_change_reset_and_deactivation_end_every_sign_in_of_that_user(world, clock):
    with world.Session() as s:
        mine = [open_sign_in(s, user(s, "zhang.th"), clock=clock) for _ in range(2)]
        theirs = open_sign_in(s, user(s, "li.yx"), clock=clock)
        change_password(s, "zhang.th", PASSWORD, "Xinmima2026ok", clock=clock)
        assert [resume(s, t, clock=clock).outcome for t in mine] == ["unknown", "unknown"]
        assert resume(s, theirs, clock=clock).outcome == "ok"

        mine = open_sign_in(s, user(s, "zhang.th"), clock=clock)
        reset_password(s, OP, "zhang.th", clock=clock)
        assert resume(s, mine, clock=clock).outcome == "unknown"

        theirs = open_sign_in(s, user(s, "li.yx"), clock=clock)
        set_active(s, OP, "li.yx", False, clock=clock)
        assert resume(s, theirs, clock=clock).outcome == "unknown"
        set_active(s, OP, "li.yx", True, clock=clock)
        assert resume(s, theirs, clock=clock).outcome == "unknown", "reactivating does not revive old sign-ins"


def test_a_deactivation_the_sign_in_did_not_hear_of_still_refuses(world, clock):
    """Belt and braces: were a user row switched off behind the records API, the token stops."""
    with world.Session() as s:
        token = open_sign_in(s, user(s, "zhang.th"), clock=clock)
        user(s, "zhang.th").active = False
        s.commit()
        assert resume(s, token, clock=clock).outcome == "inactive"
        assert resume(s, token, clock=clock).outcome == "unknown"


def test_stale_sign_ins_are_swept_when_someone_signs_in(world, clock):
    with world.Session() as s:
        for _ in range(3):
            open_sign_in(s, user(s, "zhang.th"), clock=clock)
        clock.advance(minutes=31)
        fresh = open_sign_in(s, user(s, "li.yx"), clock=clock)
        assert count(s, SignIn) == 1 and resume(s, fresh, clock=clock).outcome == "ok"
