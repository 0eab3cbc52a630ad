"""Authorisation: nested units, who sees whom (a coordinator their unit and its sub-units only,
an officer only themselves), who manages whom, and every refusal in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.records import access
from kb.records.errors import AccessDenied, ImportRejected
from kb.records.models import AuditEntry, Operator, Unit, User
from kb.records.people import UserSpec, add_user, get_user, import_users_csv, list_users, reset_password
from kb.records.units import add_unit, get_unit, list_units
from tests.test_records_fixtures import PASSWORD, UNITS, USERS, count, user

pytest_plugins = ["tests.test_records_fixtures"]


def names(users: list[User]) -> set[str]:
    return {u.username for u in users}


def refusals(db) -> list[AuditEntry]:
    """Read in a session of its own: refusals are committed apart from the refused action."""
    with db.Session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused").order_by(AuditEntry.id)))


def codes(session, ids) -> set[str]:
    return {session.get(Unit, i).code for i in ids}


def test_units_nest_and_subtrees(world):
    with world.Session() as s:
        gz = get_unit(s, "440100")
        assert gz.path == "广东省/广州市" and {c.code for c in gz.children} == {"440106", "440104"}
        assert codes(s, access.subtree_ids(s, gz.id)) == {"440100", "440106", "440104"}
        assert codes(s, access.subtree_ids(s, get_unit(s, "440000").id)) == {u[0] for u in UNITS}
        deeper = add_unit(s, Operator("ops"), "440106001", "天河区市场监管所", "440106")
        assert deeper.path == "广东省/广州市/天河区/天河区市场监管所"
        assert deeper.id in access.subtree_ids(s, gz.id)


def test_visible_units_by_role(world):
    with world.Session() as s:
        assert codes(s, access.visible_unit_ids(s, user(s, "coord.gz"))) == {"440100", "440106", "440104"}
        assert codes(s, access.visible_unit_ids(s, user(s, "coord.th"))) == {"440106"}
        assert len(access.visible_unit_ids(s, user(s, "admin"))) == 6
        assert access.visible_unit_ids(s, user(s, "zhang.th")) == frozenset()
        assert access.visible_unit_ids(s, user(s, "trainer")) == frozenset()
        assert [u.code for u in list_units(s, user(s, "coord.gz"))] == ["440100", "440104", "440106"]


@pytest.mark.parametrize("actor, expected", [
    ("coord.gz", {"coord.gz", "coord.th", "zhang.th", "li.yx", "wang.gz"}),  # not 省 or 深圳
    ("coord.th", {"coord.th", "zhang.th"}),
    ("coord.gd", {u[0] for u in USERS} - {"admin"}),  # the admin belongs to no unit
    ("zhang.th", {"zhang.th"}),
    ("trainer", {"trainer"}),
    ("admin", {u[0] for u in USERS}),
])
def test_who_sees_whom(world, actor, expected):
    with world.Session() as s:
        me = user(s, actor)
        assert names(list_users(s, me)) == expected
        for username, *_ in USERS:
            assert access.can_view_user(me, user(s, username)) == (username in expected), username


def test_coordinator_lists_a_sub_unit_but_not_a_sibling_and_the_refusal_is_audited(world):
    with world.Session() as s:
        coord = user(s, "coord.gz")
        assert names(list_users(s, coord, unit_code="440106")) == {"coord.th", "zhang.th"}
        assert names(list_users(s, coord, unit_code="440100", role="officer")) == {"zhang.th", "li.yx", "wang.gz"}
        with pytest.raises(AccessDenied, match="not allowed"):
            list_users(s, coord, unit_code="440300")
        with pytest.raises(AccessDenied):
            get_user(s, coord, "zhao.ns")
        entries = refusals(world)
        assert [(e.actor_id, e.action, e.target) for e in entries] == [
            (coord.id, "users.view", "unit:440300"), (coord.id, "users.view", "user:zhao.ns")]
        assert "outside your units" in entries[0].detail["reason"]


def test_officer_sees_only_themselves(world):
    with world.Session() as s:
        me = user(s, "zhang.th")
        assert get_user(s, me, "zhang.th").id == me.id
        with pytest.raises(AccessDenied):
            get_user(s, me, "li.yx")
        with pytest.raises(AccessDenied):
            list_users(s, me, unit_code="440106")
        assert len(refusals(world)) == 2


def test_coordinator_manages_officers_in_their_subtree_only(world, clock):
    with world.Session() as s:
        coord = user(s, "coord.gz")
        made = add_user(s, coord, UserSpec("new.th", "新人", "officer", "440106", None, (), PASSWORD), clock=clock)
        assert made.unit.code == "440106"
        reset_password(s, coord, "zhang.th", clock=clock)
        for spec in [
            UserSpec("new.sz", "深圳新人", "officer", "440305", None, (), PASSWORD),  # sibling city
            UserSpec("new.gd", "省里新人", "officer", "440000", None, (), PASSWORD),  # the parent
            UserSpec("new.coord", "新协调员", "coordinator", "440106", None, (), PASSWORD),  # not an officer
            UserSpec("new.admin", "新管理员", "admin", None, None, (), PASSWORD),
        ]:
            with pytest.raises(AccessDenied, match=r"users\.manage"):
                add_user(s, coord, spec, clock=clock)
        with pytest.raises(AccessDenied):
            reset_password(s, coord, "coord.th", clock=clock)  # a coordinator, even below
        with pytest.raises(AccessDenied):
            reset_password(s, coord, "zhao.ns", clock=clock)
        assert count(s, User) == len(USERS) + 1
        assert [e.target for e in refusals(world)] == ["user:new.sz", "user:new.gd", "user:new.coord",
                                                   "user:new.admin", "user:coord.th", "user:zhao.ns"]


@pytest.mark.parametrize("actor", ["zhang.th", "trainer"])
def test_officers_and_trainers_manage_no_one(world, clock, actor):
    with world.Session() as s:
        me = user(s, actor)
        with pytest.raises(AccessDenied, match=r"lacks users\.manage"):
            add_user(s, me, UserSpec("x.y", "x", "officer", "440106", None, (), PASSWORD), clock=clock)
        with pytest.raises(AccessDenied):
            reset_password(s, me, actor, clock=clock)  # not even their own: that is change_password
        with pytest.raises(AccessDenied):
            import_users_csv(s, me, b"username,display_name,role\n", clock=clock)
        with pytest.raises(AccessDenied, match=r"units\.manage"):
            add_unit(s, me, "1", "x")
        assert len(refusals(world)) == 4


def test_coordinator_import_with_a_row_outside_their_units_imports_nothing(world, clock):
    data = ("username,display_name,role,unit,password\n"
            f"ok.th,甲,officer,440106,{PASSWORD}\n"
            f"far.sz,乙,officer,440305,{PASSWORD}\n").encode()
    with world.Session() as s:
        with pytest.raises(ImportRejected) as err:
            import_users_csv(s, user(s, "coord.gz"), data, name="gz.csv", clock=clock)
        assert [(e.line, "outside what you manage" in e.message) for e in err.value.errors] == [(3, True)]
        assert count(s, User) == len(USERS)
        entry = refusals(world)[-1]
        assert entry.action == "users.import" and entry.detail["out_of_scope_lines"] == [3]


def test_permissions_by_role(world):
    with world.Session() as s:
        assert access.has_permission(user(s, "trainer"), "content.manage")
        assert not access.has_permission(user(s, "zhang.th"), "content.manage")
        assert access.has_permission(user(s, "coord.gz"), "records.export")
        assert not access.has_permission(user(s, "trainer"), "records.export")
        assert access.has_permission(Operator("ops"), "audit.view")
        with pytest.raises(ValueError):
            access.has_permission(user(s, "admin"), "no.such.permission")


def test_an_inactive_account_may_do_nothing(world):
    with world.Session() as s:
        coord = user(s, "coord.gz")
        coord.active = False
        s.commit()
        assert list_users(s, coord) == []
        with pytest.raises(AccessDenied, match="inactive"):
            access.require(s, coord, "users.view", user=coord)


def test_refusal_audit_survives_the_callers_rollback(world):
    with world.Session() as s:
        officer = user(s, "zhang.th")
        officer_id = officer.id
        with pytest.raises(AccessDenied):
            access.require(s, officer, "records.export", target="export:440100")
        s.rollback()
    with world.Session() as s:
        entry = refusals(world)[-1]
        assert (entry.action, entry.target, entry.actor_id) == ("records.export", "export:440100", officer_id)
