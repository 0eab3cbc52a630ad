"""Adding and importing people: validation, duplicates, all-or-none CSV imports reported row by
row, and SQL-looking strings in every text field (stored verbatim or refused, never run)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.records.auth import authenticate
from kb.records.errors import ImportRejected, ValidationError
from kb.records.models import AuditEntry, Operator, Unit, User
from kb.records.people import UserSpec, add_user, get_user, import_users_csv, list_users
from kb.records.units import add_unit
from tests.test_records_fixtures import PASSWORD, USERS, count, user

pytest_plugins = ["tests.test_records_fixtures"]

OP = Operator("tester")
SQL = "Robert'); DROP TABLE users;--"
HEADER = "username,display_name,role,unit,cert_no,fields,password\n"


def test_add_user_with_fields_and_unit(world, clock):
    with world.Session() as s:
        u = add_user(s, OP, UserSpec("Chen.TH", " 陈七 ", "执法人员", "440106", "粤-4401-0099",
                                     "生态环境、市场监管；生态环境", PASSWORD), clock=clock)
        assert (u.username, u.display_name, u.role, u.cert_no) == ("chen.th", "陈七", "officer", "粤-4401-0099")
        assert sorted(u.fields) == ["市场监管", "生态环境"] and u.unit.path == "广东省/广州市/天河区"
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.target, entry.outcome, entry.detail["operator"]) == \
            ("users.add", "user:chen.th", "ok", "tester")


@pytest.mark.parametrize("change, message", [
    ({"username": "zhang.th"}, "already exists"),
    ({"username": "ZHANG.TH"}, "already exists"),
    ({"cert_no": "44000005"}, "44000005 already exists"),
    ({"role": "superuser"}, "role 'superuser' is not one of"),
    ({"unit_code": "999999"}, "unknown unit"),
    ({"unit_code": None}, "needs a unit"),
    ({"password": "abc"}, "weak password"),
    ({"display_name": "  "}, "display name is required"),
    ({"display_name": "名" * 101}, "longer than 100"),
    ({"display_name": "张\x00三"}, "control characters"),
])
def test_add_user_refusals_change_nothing(world, clock, change, message):
    spec = UserSpec("new.one", "新人", "officer", "440106", None, (), PASSWORD)
    for key, value in change.items():
        setattr(spec, key, value)
    with world.Session() as s:
        with pytest.raises(ValidationError, match=message):
            add_user(s, OP, spec, clock=clock)
        s.rollback()
        assert count(s, User) == len(USERS)


def test_sql_looking_strings_are_stored_verbatim_or_refused(world, clock):
    with world.Session() as s:
        u = add_user(s, OP, UserSpec("robert", SQL, "officer", "440106", None, [SQL], PASSWORD), clock=clock)
        unit = add_unit(s, OP, "440199", SQL, "440100", clock=clock)
    with world.Session() as s:
        assert get_user(s, OP, "robert").display_name == SQL
        assert s.get(Unit, unit.id).name == SQL
        assert user(s, "robert").fields  # split at ';' into harmless labels, none executed
        assert count(s, User) == len(USERS) + 1  # the users table is still there
        for field, spec in [
            ("username", UserSpec(SQL, "x", "officer", "440106", None, (), PASSWORD)),
            ("certificate number", UserSpec("bobby", "x", "officer", "440106", SQL, (), PASSWORD)),
            ("unknown unit", UserSpec("bobby", "x", "officer", SQL, None, (), PASSWORD)),
            ("role", UserSpec("bobby", "x", SQL, "440106", None, (), PASSWORD)),
        ]:
            with pytest.raises(ValidationError, match=field):
                add_user(s, OP, spec, clock=clock)
        with pytest.raises(ValidationError, match="unit code"):
            add_unit(s, OP, SQL, "x")
        assert get_user(s, OP, "robert").id == u.id
        assert list_users(s, OP, unit_code="440106")  # and a lookup by a SQL-looking code finds nothing:
        with pytest.raises(Exception, match="no unit"):
            list_users(s, OP, unit_code=SQL)
        assert count(s, User) == len(USERS) + 1


def test_import_creates_every_row(world, clock, tmp_path):
    csv = tmp_path / "users.csv"
    csv.write_text(HEADER + f"""sun.th,孙八,officer,440106,44990001,市场监管、交通运输,{PASSWORD}
zhou.yx,周九,执法人员,440104,,,
"wu.gz","吴十, 副队长",officer,440100,44990003,"城市管理;应急管理",
""", encoding="utf-8")
    with world.Session() as s:
        result = import_users_csv(s, OP, csv, clock=clock)
        assert result.created == ["sun.th", "zhou.yx", "wu.gz"]
        assert set(result.generated_passwords) == {"zhou.yx", "wu.gz"}
        assert user(s, "wu.gz").display_name == "吴十, 副队长"
        assert sorted(user(s, "sun.th").fields) == ["交通运输", "市场监管"]
        assert authenticate(s, "zhou.yx", result.generated_passwords["zhou.yx"], clock=clock).must_change_password
        assert not authenticate(s, "sun.th", PASSWORD, clock=clock).must_change_password
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "users.import"))
        assert entry.outcome == "ok" and entry.detail["created"] == 3 and entry.target == "file:users.csv"


def test_import_reads_excel_gbk_with_chinese_headers(world, clock, tmp_path):
    text = ("用户名,姓名,角色,单位代码,执法证号,执法领域,密码\r\n"
            f"qian.ns,钱十一,执法人员,440305,粤B-0001,市场监管,{PASSWORD}\r\n")
    csv = tmp_path / "名单.csv"
    csv.write_bytes(text.encode("gb18030"))
    with world.Session() as s:
        assert import_users_csv(s, OP, csv, clock=clock).created == ["qian.ns"]
        assert user(s, "qian.ns").cert_no == "粤B-0001"


def test_import_is_all_or_none_and_reports_every_bad_row(world, clock, tmp_path):
    csv = tmp_path / "users.csv"
    csv.write_text(HEADER + f"""good.one,好人,officer,440106,44880001,,{PASSWORD}
bad.unit,甲,officer,999999,,,{PASSWORD}
good.one,乙,officer,440106,,,{PASSWORD}
dup.db,丙,officer,440106,44000005,,{PASSWORD}
zhang.th,丁,officer,440106,,,{PASSWORD}
bad.role,戊,boss,440106,,,{PASSWORD}
weak.pw,己,officer,440106,,,abc
"{SQL}",庚,officer,440106,,,{PASSWORD}
sql.name,"{SQL}",officer,440106,44880001,,{PASSWORD}
"multi
line",辛,officer,440106,,,{PASSWORD}
too,few,cells

good.two,好人二,officer,440104,,,{PASSWORD}
""", encoding="utf-8")
    with world.Session() as s:
        with pytest.raises(ImportRejected) as err:
            import_users_csv(s, OP, csv, clock=clock)
        s.rollback()
        found = {(e.line, e.column) for e in err.value.errors}
        assert found == {
            (3, "unit"),          # unknown unit
            (4, "username"),      # duplicates line 2
            (5, "cert_no"),       # already in the database
            (6, "username"),      # already in the database
            (7, "role"),
            (8, "password"),
            (9, "username"),      # the SQL-looking username
            (10, "cert_no"),      # duplicates line 2 (its SQL-looking name alone would be fine)
            (11, "username"),     # a quoted field spanning lines 11-12; its line is where it starts
            (13, ""),             # wrong number of cells
        }
        messages = {e.line: e.message for e in err.value.errors}
        assert "duplicates line 2" in messages[4] and "unknown unit" in messages[3]
        assert "nothing imported" in str(err.value) and "line 3, unit" in str(err.value)
        assert count(s, User) == len(USERS)  # none imported, not even good.one and good.two
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "users.import"))
        assert entry.outcome == "refused" and entry.detail["bad_lines"] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13]


@pytest.mark.parametrize("content, message", [
    ("username,display_name\nx,y\n", "line 1, role: 缺少此列 / missing column"),
    (HEADER.strip() + ",salary\n", "line 1, salary: 无法识别的列名 / unknown column"),
    ("username,username,display_name,role\n", "duplicate column"),
])
def test_import_header_problems(world, clock, tmp_path, content, message):
    csv = tmp_path / "users.csv"
    csv.write_text(content, encoding="utf-8")
    with world.Session() as s, pytest.raises(ImportRejected, match=message):
        import_users_csv(s, OP, csv, clock=clock)


def test_import_empty_or_binary_files(world, clock, tmp_path):
    with world.Session() as s:
        with pytest.raises(ValidationError, match="no users"):
            import_users_csv(s, OP, HEADER.encode(), clock=clock)
        with pytest.raises(ValidationError, match="empty or not a CSV"):
            import_users_csv(s, OP, b"", clock=clock)
        with pytest.raises(ValidationError, match="UTF-8"):
            import_users_csv(s, OP, b"\xff\xfe\x00\x81\x30\x00" * 10, clock=clock)
        assert count(s, User) == len(USERS)


def test_deactivating_keeps_the_records_and_stops_sign_in(world, clock):
    from kb.records.errors import AccessDenied, AuthError
    from kb.records.people import set_active

    with world.Session() as s:
        set_active(s, user(s, "coord.gz"), "wang.gz", False, clock=clock)
        with pytest.raises(AuthError):
            authenticate(s, "wang.gz", PASSWORD, clock=clock)
        assert user(s, "wang.gz") is not None  # nothing deleted
        with pytest.raises(AccessDenied):  # a coordinator manages officers only, in their subtree
            set_active(s, user(s, "coord.gz"), "coord.th", False, clock=clock)
        with pytest.raises(ValidationError):
            set_active(s, user(s, "admin"), "admin", False, clock=clock)
        set_active(s, Operator("ops"), "wang.gz", True, clock=clock)
        assert authenticate(s, "wang.gz", PASSWORD, clock=clock).active
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.target == "user:wang.gz"))]
        assert "users.deactivate" in actions and "users.activate" in actions
