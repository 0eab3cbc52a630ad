"""The 学时统计 page in AppTest over the demo site: scope, offline entry and the double-entry
refusal, bulk import, reversal, exports. The site is shared by this module's tests, so they
compare hours before and after rather than assume absolute values (except the first look)."""

from __future__ import annotations

import io
from decimal import Decimal

pytest_plugins = ["tests.app_site"]


def progress_table(at):
    """The page's progress table (the first dataframe with the expected-hours column)."""
    return table_with(at, "应达学时")


def table_with(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def hours_of(at, username: str) -> float:
    table = progress_table(at)
    return float(table.loc[table["用户名"] == username, "学时"].iloc[0])


def submit(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def test_an_officer_typing_the_page_address_is_refused(site):
    at = site.app("demo.officer1", file="views/hours.py")
    assert not at.exception
    assert "无权访问此页面" in at.error[0].value
    assert not at.dataframe and not at.selectbox


def test_a_coordinator_sees_their_subtree_only_and_who_is_behind(site):
    from kb.records.models import Operator
    from kb.records.people import UserSpec, add_user

    with site.session() as s:  # someone at the province level, above the coordinator's unit
        add_user(s, Operator("test"), UserSpec("prov.officer", "省厅执法", "officer", "440000",
                                               password="Shengting2026x"))
    at = site.app("demo.coord", "views/hours.py")
    assert not at.exception and at.title[0].value == "学时统计"
    assert [o.split("（")[-1] for o in at.selectbox(key="hours_unit").options] == ["440100）", "440103）"]
    table = progress_table(at)
    assert set(table["用户名"]) == {f"demo.officer{i}" for i in range(1, 6)}
    assert hours_of(at, "demo.officer1") == 18.0 and hours_of(at, "demo.officer2") == 8.0
    assert hours_of(at, "demo.officer4") == 3.0
    assert set(table.loc[table["学时"] < table["应达学时"], "状态"]) <= {"落后"}
    by_unit = at.dataframe[1].value  # 按单位汇总
    assert by_unit["人数"].sum() == 5 and by_unit["学时合计"].sum() == table["学时"].sum()
    # units as seen from the chosen one, not their whole path (which pushed 状态 off the screen)
    units = dict(zip(by_unit["单位"], by_unit["人数"], strict=True))
    assert units == {"示范市市场监督管理局": 2, "示范区综合行政执法局": 3}
    by_field = at.dataframe[2].value  # 按执法领域汇总
    assert dict(zip(by_field["执法领域"], by_field["人数"], strict=True)) == {"市场监管": 2, "综合执法": 2,
                                                                          "生态环境": 1}
    at.selectbox(key="hours_unit").set_value("440103").run()  # the district only
    assert set(progress_table(at)["用户名"]) == {f"demo.officer{i}" for i in (3, 4, 5)}

    admin = site.app("admin", file="views/hours.py")
    assert not admin.exception
    assert admin.selectbox(key="hours_unit").value == "440000"
    assert "prov.officer" in set(progress_table(admin)["用户名"])


def test_offline_hours_show_at_once_and_a_double_entry_needs_confirmation(site):
    at = site.app("demo.coord", "views/hours.py")
    before = hours_of(at, "demo.officer2")
    at.selectbox(key="hours_add_user").set_value("demo.officer2")
    at.selectbox(key="hours_add_category").set_value("岗位练兵")
    at.number_input(key="hours_add_hours").set_value(4.5)
    at.text_input(key="hours_add_note").set_value("岗位练兵签到表 2026-090")
    submit(at, "录入")
    assert "已录入" in at.success[0].value
    assert hours_of(at, "demo.officer2") == before + 4.5

    at.selectbox(key="hours_add_user").set_value("demo.officer2")
    at.selectbox(key="hours_add_category").set_value("岗位练兵")
    at.number_input(key="hours_add_hours").set_value(4.5)
    at.text_input(key="hours_add_note").set_value("岗位练兵签到表 2026-090")
    submit(at, "录入")
    assert "疑似重复录入" in at.warning[0].value and "已有相同记录" in at.warning[0].value
    assert hours_of(at, "demo.officer2") == before + 4.5  # refused: nothing added
    at.button(key="hours_force_add").click().run()
    assert not at.exception and "已录入" in at.success[0].value
    assert hours_of(at, "demo.officer2") == before + 9.0


def test_bad_offline_input_is_explained_in_chinese(site):
    at = site.app("demo.coord", "views/hours.py")
    before = hours_of(at, "demo.officer3")
    at.selectbox(key="hours_add_user").set_value("demo.officer3")
    at.number_input(key="hours_add_hours").set_value(2)
    submit(at, "录入")  # no evidence note
    assert "证明材料" in at.error[0].value and "不能为空" in at.error[0].value
    assert hours_of(at, "demo.officer3") == before


def test_bulk_import_is_all_or_none_with_line_numbers(site):
    at = site.app("demo.coord", "views/hours.py")
    before = hours_of(at, "demo.officer5")
    bad = ("用户名,类别,学时,日期,证明材料\n"
           "demo.officer5,集中轮训,6,2026-03-20,轮训签到表 B\n"
           "prov.officer,集中轮训,6,2026-03-20,轮训签到表 B\n"  # line 3: above the coordinator's unit
           "demo.officer4,茶话会,6,2026-03-20,轮训签到表 B\n")  # line 4: no such category
    at.file_uploader(key="hours_import_file").upload("轮训.csv", bad.encode(), "text/csv").run()
    at.button(key="hours_import_go").click().run()
    assert not at.exception
    assert "导入未执行" in at.error[0].value
    problems = table_with(at, "行号")
    assert list(problems["行号"]) == [3, 4] and list(problems["列"]) == ["用户名", "类别"]
    assert "不在您管理的单位内" in problems["问题"].iloc[0]
    assert hours_of(at, "demo.officer5") == before

    good = "用户名,类别,学时,日期,证明材料\ndemo.officer5,集中轮训,6,2026-03-20,轮训签到表 B\n"
    at.file_uploader(key="hours_import_file").clear().upload("轮训.csv", good.encode("gb18030"), "text/csv").run()
    at.button(key="hours_import_go").click().run()
    assert not at.exception and "已导入 1 条" in at.success[0].value
    assert hours_of(at, "demo.officer5") == before + 6


def test_an_entry_is_corrected_by_its_reversal(site):
    at = site.app("demo.coord", "views/hours.py")
    before = hours_of(at, "demo.officer4")
    at.selectbox(key="hours_rev_user").set_value("demo.officer4").run()
    entry = at.selectbox(key="hours_rev_entry")
    label = next(label for label in entry.options if "专题讲座 · 3.00 学时" in label)
    entry.set_value(int(label.split()[1]))  # 第 N 条 · …
    at.text_input(key="hours_rev_reason").set_value("签到表核对有误")
    submit(at, "冲正")
    assert "已冲正" in at.success[0].value
    assert hours_of(at, "demo.officer4") == before - 3.0
    at.selectbox(key="hours_rev_user").set_value("demo.officer4").run()
    assert "已被冲正" in set(table_with(at, "编号")["状态"])


def test_xlsx_export_matches_the_progress_table(site):
    from openpyxl import load_workbook

    at = site.app("demo.coord", "views/hours.py")
    table = progress_table(at)
    assert not at.download_button  # nothing is exported (and audited) until asked for
    at.button(key="hours_export_xlsx").click().run()
    assert not at.exception
    made = at.session_state["hours_export"]
    assert made.filename == f"学时_440100_{made.year}.xlsx" and at.download_button(key="hours_download")
    sheet = load_workbook(io.BytesIO(made.data), read_only=True)["汇总"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("姓名", "执法证号", "单位", "执法领域", "年度", "累计学时")
    totals = {r[0]: Decimal(str(r[5])) for r in rows[1:]}
    assert totals == {n: Decimal(str(h)).quantize(Decimal("0.01")) for n, h in zip(table["姓名"], table["学时"],
                                                                                       strict=True)}
    for fmt in ("csv", "xapi"):
        at.button(key=f"hours_export_{fmt}").click().run()
        assert at.session_state["hours_export"].fmt == fmt and at.session_state["hours_export"].data
    from sqlalchemy import select

    from kb.records.models import AuditEntry

    with site.session() as s:
        formats = [a.detail["format"] for a in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "records.export", AuditEntry.outcome == "ok"))]
    assert formats == ["xlsx", "csv", "xapi"]
