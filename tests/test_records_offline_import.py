"""Bulk offline training from CSV (kb.records.offline_import, ``kb ledger import``): all rows or
none, every bad row named by its line, double entries refused unless forced, scope obeyed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from kb.records.errors import AccessDenied, ImportRejected, ValidationError
from kb.records.ledger import add_offline, total_hours
from kb.records.models import AuditEntry, LedgerEntry, Operator
from kb.records.offline_import import import_offline_csv, parse_date
from tests.test_records_fixtures import count, user

pytest_plugins = ["tests.test_records_fixtures"]
OP = Operator("ops")
HEADER = "用户名,类别,学时,日期,证明材料\n"


def csv(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode(encoding)


def test_a_sheet_is_credited_whole_and_audited(world, clock):
    data = csv("zhang.th,集中轮训,8,2026-02-20,省局轮训签到表 2026-017",
               "li.yx,讲座,1.5,2026/2/21,专题讲座通知",
               "wang.gz,岗位练兵,2,2026年2月22日,练兵记录")
    with world.Session() as s:
        coord = user(s, "coord.gz")
        result = import_offline_csv(s, coord, data, name="轮训.csv", clock=clock)
        assert (len(result.entry_ids), result.people, result.hours) == (3, 3, Decimal("11.50"))
        assert total_hours(s, user(s, "zhang.th").id, 2026) == Decimal("8.00")
        lines = list(s.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))
        assert [(x.category, x.on_date, x.entered_by_id) for x in lines] == [
            ("集中轮训", date(2026, 2, 20), coord.id), ("专题讲座", date(2026, 2, 21), coord.id),
            ("岗位练兵", date(2026, 2, 22), coord.id)]
        audited = list(s.scalars(select(AuditEntry).where(AuditEntry.action.in_(["ledger.add", "ledger.import"]))
                                 .order_by(AuditEntry.id)))
        assert [a.action for a in audited] == ["ledger.add"] * 3 + ["ledger.import"]
        assert audited[0].detail["file"] == "轮训.csv" and audited[0].detail["line"] == 2
        assert audited[-1].detail["entries"] == 3 and len(audited[-1].detail["sha256"]) == 64


def test_one_bad_row_means_nothing_is_imported_and_every_bad_line_is_named(world, clock):
    data = csv("zhang.th,集中轮训,8,2026-02-20,签到表",
               "nobody,集中轮训,8,2026-02-20,签到表",  # line 3: no such user
               "li.yx,茶话会,8,2026-02-20,签到表",  # line 4: category
               "li.yx,集中轮训,0,2026-02-20,签到表",  # line 5: hours
               "li.yx,集中轮训,2,2026-13-01,签到表",  # line 6: date
               "li.yx,集中轮训,2,2026-12-01,签到表",  # line 7: future (the clock says 1 March 2026)
               "li.yx,集中轮训,2,2026-02-20,",  # line 8: no evidence
               "li.yx,集中轮训,2")  # line 9: cells missing
    with world.Session() as s:
        with pytest.raises(ImportRejected) as caught:
            import_offline_csv(s, user(s, "coord.gz"), data, name="bad.csv", clock=clock)
        assert count(s, LedgerEntry) == 0
        assert sorted({e.line for e in caught.value.errors}) == [3, 4, 5, 6, 7, 8, 9]
        by_line = {e.line: e.column for e in caught.value.errors}
        assert (by_line[3], by_line[4], by_line[5], by_line[6], by_line[7], by_line[8]) == (
            "username", "category", "hours", "date", "date", "note")
        assert "导入未执行" in str(caught.value) and "line 3" in str(caught.value)
        refused = s.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.import"))
        assert refused.outcome == "refused" and refused.detail["bad_lines"] == [3, 4, 5, 6, 7, 8, 9]


def test_a_sheet_imported_twice_is_refused_as_a_double_entry_unless_forced(world, clock):
    data = csv("zhang.th,集中轮训,8,2026-02-20,签到表 017", "li.yx,集中轮训,8,2026-02-20,签到表 017")
    with world.Session() as s:
        coord = user(s, "coord.gz")
        import_offline_csv(s, coord, data, clock=clock)
        with pytest.raises(ImportRejected) as caught:
            import_offline_csv(s, coord, data, clock=clock)
        assert [e.line for e in caught.value.errors] == [2, 3]
        assert "疑似重复录入" in caught.value.errors[0].message
        assert count(s, LedgerEntry) == 2
        import_offline_csv(s, coord, data, force=True, clock=clock)
        assert total_hours(s, user(s, "zhang.th").id, 2026) == Decimal("16.00")


def test_identical_rows_within_a_file_and_an_entry_made_by_hand_are_doubles(world, clock):
    with world.Session() as s:
        coord = user(s, "coord.gz")
        add_offline(s, coord, "wang.gz", "专题讲座", "3", date(2026, 2, 1), "讲座签到", clock=clock)
        data = csv("zhang.th,岗位练兵,2,2026-02-20,练兵", "zhang.th,岗位练兵,2,2026-02-20,练兵",
                   "wang.gz,讲座,3.00,2026-02-01,讲座签到")
        with pytest.raises(ImportRejected) as caught:
            import_offline_csv(s, coord, data, clock=clock)
        assert [(e.line, "第 2 行" in e.message) for e in caught.value.errors] == [(3, True), (4, False)]
        assert count(s, LedgerEntry) == 1


def test_people_outside_the_importers_units_are_refused(world, clock):
    data = csv("zhang.th,集中轮训,8,2026-02-20,签到表", "zhao.ns,集中轮训,8,2026-02-20,签到表")
    with world.Session() as s:
        with pytest.raises(ImportRejected) as caught:
            import_offline_csv(s, user(s, "coord.gz"), data, clock=clock)  # 深圳 is not 广州's
        assert [(e.line, e.column) for e in caught.value.errors] == [(3, "username")]
        refusal = s.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.import"))
        assert refusal.detail["out_of_scope_lines"] == [3]
        for who in ("zhang.th", "trainer"):  # officers and trainers never enter hours
            with pytest.raises(AccessDenied):
                import_offline_csv(s, user(s, who), data, clock=clock)
        assert count(s, LedgerEntry) == 0
        assert import_offline_csv(s, OP, data, clock=clock).people == 2  # the shell operator is admin


def test_excel_files_english_headers_and_bad_shapes(world, clock):
    with world.Session() as s:
        gbk = csv("zhang.th,集中轮训,4,2026-02-20,签到表", encoding="gb18030")
        assert import_offline_csv(s, OP, gbk, clock=clock).hours == Decimal("4.00")
        english = csv("LI.YX,drill,2,2026-02-20,sheet 5", header="username,category,hours,date,note\n")
        assert import_offline_csv(s, OP, b"\xef\xbb\xbf" + english, clock=clock).people == 1
        with pytest.raises(ImportRejected) as caught:
            import_offline_csv(s, OP, csv("zhang.th,8", header="用户名,学时\n"), clock=clock)
        assert {e.column for e in caught.value.errors} == {"category", "date", "note"}
        with pytest.raises(ValidationError, match="没有数据行"):
            import_offline_csv(s, OP, csv(), clock=clock)
        with pytest.raises(ValidationError, match="编码"):
            import_offline_csv(s, OP, b"\xff\xfe\x00\x00garbage\x81", clock=clock)


def test_dates_as_spreadsheets_write_them():
    assert parse_date("2026-3-5") == parse_date("2026/03/05") == parse_date("2026年3月5日") == date(2026, 3, 5)
    for bad in ("2026-02-30", "3/5/2026", "", "明天"):
        with pytest.raises(ValidationError):
            parse_date(bad)


def test_kb_ledger_import(kb, tmp_path):
    good = tmp_path / "sheet.csv"
    good.write_bytes(csv("zhang.th,集中轮训,8,2026-02-20,签到表", "li.yx,集中轮训,8,2026-02-20,签到表"))
    code, out, _ = kb("ledger", "import", str(good))
    assert code == 0 and "imported 2 entries for 2 people, 16.00 h" in out
    code, _, err = kb("ledger", "import", str(good))
    assert code == 1 and "nothing imported" in err and "line 2" in err and "line 3" in err
    code, out, _ = kb("ledger", "import", str(good), "--force")
    assert code == 0
    code, _, err = kb("ledger", "import", str(tmp_path / "missing.csv"))
    assert code == 1 and "无法读取文件" in err
