"""Exports of a unit and its sub-units for a year: CSV and XLSX with the agreed columns and
every credited item, cmi5-shaped xAPI statements, only for the unit's coordinators and admins,
every export (and refusal) audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kb.records.attempts import start_attempt, submit_attempt
from kb.records.errors import AccessDenied, NotFound, ValidationError
from kb.records.export import COLUMNS, EXT_CREDIT_HOURS, EXT_YEAR, VERBS, export_unit
from kb.records.ledger import add_offline, reverse_entry
from kb.records.models import AuditEntry, Operator
from tests.test_records_fixtures import RIGHT, WRONG, make_quiz, user

pytest_plugins = ["tests.test_records_fixtures"]
OP = Operator("ops")


@pytest.fixture
def year(bank, clock):
    """张三 passes Q1 (2 h) after failing once and takes Q2; 李四 fails Q1; offline training
    for 张三 (8 h, 52 h) and 赵六 (a wrong line reversed); last year's line for 李四."""
    make_quiz(bank, clock, credit_hours=2, pass_mark=60)
    make_quiz(bank, clock, code="Q2", keys=["q-single-0003", "q-single-0004"], credit_hours="1.5")
    with bank.Session() as s:
        zhang, li = user(s, "zhang.th"), user(s, "li.yx")
        submit_attempt(s, zhang, start_attempt(s, zhang, "Q1", clock=clock).id, WRONG, clock=clock)
        clock.advance(minutes=20)
        submit_attempt(s, zhang, start_attempt(s, zhang, "Q1", clock=clock).id, RIGHT, clock=clock)
        attempt = start_attempt(s, zhang, "Q2", clock=clock)
        clock.advance(minutes=1, seconds=30)
        submit_attempt(s, zhang, attempt.id, {"q-single-0003": "A", "q-single-0004": "A"}, clock=clock)
        submit_attempt(s, li, start_attempt(s, li, "Q1", clock=clock).id, WRONG, clock=clock)
        coord = user(s, "coord.gz")
        add_offline(s, coord, "zhang.th", "集中轮训", 8, date(2026, 2, 20), "=HYPERLINK(\"http://x\")", clock=clock)
        add_offline(s, coord, "zhang.th", "岗位练兵", 52, date(2026, 2, 21), "练兵记录", clock=clock)
        add_offline(s, OP, "li.yx", "专题讲座", 3, date(2025, 11, 1), "去年", clock=clock)
        wrong = add_offline(s, OP, "zhao.ns", "专题讲座", 30, date(2026, 1, 10), "多录", clock=clock)
        reverse_entry(s, OP, wrong.id, "录错", clock=clock)
        add_offline(s, OP, "zhao.ns", "专题讲座", 3, date(2026, 1, 10), "多录", clock=clock)
    return bank


def rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())  # Excel/WPS need the BOM to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_lists_every_officer_and_each_credited_item(year, clock):
    with year.Session() as s:
        result = export_unit(s, user(s, "coord.gz"), "440100", 2026, "csv", clock=clock)
    table = rows(result.data)
    assert list(table[0]) == COLUMNS == ["姓名", "执法证号", "单位", "执法领域", "年度", "累计学时", "是否达标",
                                         "项目", "类别", "日期", "成绩", "学时", "备注"]
    assert (result.officers, result.items) == (3, 4)  # 王五, 张三 (4 items), 李四 (last year's line is not 2026)
    zhang = [r for r in table if r["姓名"] == "张三"]
    assert {r["累计学时"] for r in zhang} == {"63.50"} and {r["是否达标"] for r in zhang} == {"是"}
    assert zhang[0]["单位"] == "广东省/广州市/天河区" and zhang[0]["执法证号"] == "44000005"
    assert zhang[0]["执法领域"] == "市场监管" and zhang[0]["年度"] == "2026"
    by_item = {r["项目"]: r for r in zhang}
    assert (by_item["测验 Q1"]["成绩"], by_item["测验 Q1"]["学时"], by_item["测验 Q1"]["日期"]) == (
        "100.0", "2.00", "2026-03-01")
    assert by_item["测验 Q2"]["学时"] == "1.50" and by_item["岗位练兵"]["学时"] == "52.00"
    assert by_item["集中轮训"]["备注"] == "'=HYPERLINK(\"http://x\")"  # defused: not a formula in Excel
    assert sum(Decimal(r["学时"]) for r in zhang) == Decimal("63.50")
    others = {r["姓名"]: r for r in table if r["姓名"] != "张三"}
    assert others["李四"]["累计学时"] == "0.00" and others["李四"]["项目"] == ""  # failed: listed, no items
    assert others["王五"]["是否达标"] == "否"


def test_reversals_are_rows_of_their_own_and_the_totals_add_up(year, clock):
    with year.Session() as s:
        table = rows(export_unit(s, OP, "440300", 2026, "csv", clock=clock).data)
    assert [(r["类别"], r["学时"]) for r in table] == [("专题讲座", "30.00"), ("冲正", "-30.00"), ("专题讲座", "3.00")]
    assert table[1]["项目"].startswith("冲正 #") and table[1]["备注"] == "录错"
    assert {r["累计学时"] for r in table} == {"3.00"}


def test_xlsx_has_a_summary_and_the_detail(year, clock):
    with year.Session() as s:
        result = export_unit(s, user(s, "admin"), "440000", 2026, "xlsx", clock=clock)
    book = load_workbook(io.BytesIO(result.data))
    assert book.sheetnames == ["汇总", "学时明细"]
    summary = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    assert summary[0] == ["姓名", "执法证号", "单位", "执法领域", "年度", "累计学时", "是否达标", "条目数"]
    by_name = {r[0]: r for r in summary[1:]}
    assert set(by_name) == {"张三", "李四", "王五", "赵六"}
    assert by_name["张三"][5] == 63.5 and by_name["张三"][6] == "是" and by_name["张三"][7] == 4
    detail = list(book["学时明细"].iter_rows(values_only=True))
    assert list(detail[0]) == COLUMNS and len(detail) == 1 + 4 + 1 + 1 + 3
    note = next(c for c in book["学时明细"].iter_rows() if c[7].value == "集中轮训")[12]
    assert note.value == "=HYPERLINK(\"http://x\")" and note.data_type == "s"  # text, not a formula
    dated = next(r for r in detail[1:] if r[7] == "集中轮训")
    assert dated[9].date() == date(2026, 2, 20)


def test_xapi_statements_are_shaped_after_cmi5(year, clock):
    with year.Session() as s:
        result = export_unit(s, OP, "440000", 2026, "xapi", clock=clock)
        again = export_unit(s, OP, "440000", 2026, "xapi", clock=clock)
    statements = json.loads(result.data)
    assert result.data == again.data  # stable ids: re-sending never counts twice
    verbs = [st["verb"]["id"].rsplit("/", 1)[1] for st in statements]
    # 4 submitted attempts → completed + passed/failed each; 3 offline + 2 for 赵六; 1 voided
    assert verbs.count("completed") == 4 + 4 and verbs.count("passed") == 2 and verbs.count("failed") == 2
    assert verbs.count("voided") == 1 and len({st["id"] for st in statements}) == len(statements)
    passed = [st for st in statements if st["verb"]["id"] == VERBS["passed"]]
    q1 = next(st for st in passed if st["object"]["id"].endswith("/quiz/Q1"))
    assert q1["actor"]["account"]["name"] == "zhang.th" and q1["result"]["success"] is True
    assert q1["result"]["score"] == {"scaled": 1.0, "raw": 5.0, "min": 0.0, "max": 5.0}
    assert q1["result"]["extensions"][EXT_CREDIT_HOURS] == 2.0
    q2 = next(st for st in passed if st["object"]["id"].endswith("/quiz/Q2"))
    assert q2["result"]["duration"] == "PT1M30S" and q2["result"]["extensions"][EXT_CREDIT_HOURS] == 1.5
    failed = [st for st in statements if st["verb"]["id"] == VERBS["failed"]]
    assert all("extensions" not in st["result"] and st["result"]["success"] is False for st in failed)
    assert {c["id"].rsplit("/", 1)[1] for c in q1["context"]["contextActivities"]["category"]} == {"cmi5", "moveon"}
    regs = {st["actor"]["account"]["name"]: st["context"]["registration"] for st in statements}
    assert len(set(regs.values())) == len(regs)  # one registration per officer and year
    assert all(st["context"]["extensions"][EXT_YEAR] == 2026 for st in statements)
    offline = next(st for st in statements if st["result"].get("duration") == "PT52H")
    assert offline["verb"]["id"] == VERBS["completed"] and offline["result"]["extensions"][EXT_CREDIT_HOURS] == 52.0
    voided = next(st for st in statements if st["verb"]["id"] == VERBS["voided"])
    target = next(st for st in statements if st["id"] == voided["object"]["id"])
    assert target["result"]["duration"] == "PT30H" and voided["object"]["objectType"] == "StatementRef"


def test_exports_are_audited_and_refusals_too(year, clock):
    with year.Session() as s:
        export_unit(s, user(s, "coord.th"), "440106", 2026, "csv", clock=clock)
        for who, unit in (("coord.th", "440100"), ("coord.gz", "440300"), ("zhang.th", "440106"),
                          ("trainer", "440000")):
            with pytest.raises(AccessDenied, match=r"records\.export"):
                export_unit(s, user(s, who), unit, 2026, "csv", clock=clock)
        with pytest.raises(NotFound):
            export_unit(s, user(s, "coord.th"), "999999", 2026, "csv", clock=clock)
        with pytest.raises(ValidationError, match="unit code"):
            export_unit(s, user(s, "coord.th"), "440106'; DROP TABLE ledger;--", 2026, "csv", clock=clock)
        with pytest.raises(ValidationError, match="format"):
            export_unit(s, user(s, "coord.th"), "440106", 2026, "pdf", clock=clock)
    with year.Session() as s:
        done = s.scalars(select(AuditEntry).where(AuditEntry.action == "records.export")
                         .order_by(AuditEntry.id)).all()
        ok = [e for e in done if e.outcome == "ok"]
        assert len(ok) == 1 and ok[0].target == "export:440106/2026" and ok[0].actor_id == user(s, "coord.th").id
        assert ok[0].detail["format"] == "csv" and ok[0].detail["officers"] == 1 and len(ok[0].detail["sha256"]) == 64
        refused = [e.target for e in done if e.outcome == "refused"]
        assert refused == ["export:440100/2026", "export:440300/2026", "export:440106/2026", "export:440000/2026",
                           "export:999999/2026", "export:440106'; DROP TABLE ledger;--/2026"]


def test_an_empty_unit_exports_headers_only(world, clock):
    with world.Session() as s:
        from kb.records.units import add_unit

        add_unit(s, OP, "440106009", "空所", "440106", clock=clock)
        csv_data = export_unit(s, OP, "440106009", 2026, "csv", clock=clock).data
        assert csv_data.decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]
        assert json.loads(export_unit(s, OP, "440106009", 2026, "xapi", clock=clock).data) == []
