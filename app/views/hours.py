"""学时统计: coordinators (their unit and below) and admins (everywhere) follow officers'
progress toward the yearly 60 hours, enter and import offline training, correct entries by
reversal, and export a unit's year (CSV / XLSX / xAPI).

Every number comes from the core (:mod:`kb.records.ledger`, :mod:`kb.records.export`,
:mod:`kb.records.offline_import`), which also checks scope and audits each write; the page
only groups rows for display. Writes end with ``st.rerun()`` and a one-shot notice, so the
progress table drawn at the top of the page always includes what was just entered.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.view import flash, show_flash, zh
from kb.records import ledger
from kb.records.errors import ImportRejected, RecordsError, StateError
from kb.records.export import Export, export_unit
from kb.records.models import OFFLINE_CATEGORIES, User, utcnow
from kb.records.offline_import import import_offline_csv
from kb.records.units import list_units

FLASH = "hours_flash"
PENDING = "hours_pending"  # an entry the core refused as a probable double, awaiting confirmation
EXPORT = "hours_export"
YEARS_SHOWN = 5
FORMATS = {"csv": "CSV", "xlsx": "XLSX（Excel）", "xapi": "xAPI（JSON）"}
KIND_ZH = {"quiz": "在线测验", "offline": "线下培训", "reversal": "冲正"}
COLUMN_ZH = {"username": "用户名", "category": "类别", "hours": "学时", "date": "日期", "note": "证明材料"}
BEHIND_STYLE = "background-color: #fde2e1"


def _flash(message: str) -> None:
    """Show ``message`` after the rerun that follows a write."""
    flash(FLASH, message)
    st.rerun()




def rejected_table(exc: ImportRejected, columns: dict[str, str]) -> None:
    """An all-or-none import's refusal: nothing imported, and every bad line to fix."""
    st.error(f"导入未执行（全部导入或全部不导入）：{len({e.line for e in exc.errors})} 行有问题，"
             "请修正后重新导入。")
    st.dataframe(pd.DataFrame([{"行号": e.line, "列": columns.get(e.column, e.column), "问题": zh(Exception(e.message))}
                               for e in exc.errors]), hide_index=True, width="stretch")


def _status(p: ledger.Progress) -> str:
    return "已达标" if p.met else "落后" if p.behind else "正常"


def relative_unit(unit_path: str, within: str) -> str:
    """An officer's unit as seen from the chosen one: 「示范区综合行政执法局」 under
    「示范省司法厅/示范市市场监督管理局」, the chosen unit's own name for its own officers. The
    full path pushed 状态 off a 1280-pixel screen, and a bare last name could merge two
    districts' 综合行政执法局."""
    if within and unit_path.startswith(within + "/"):
        return unit_path[len(within) + 1:]
    return unit_path.rsplit("/", 1)[-1]


def progress_frame(rows: list[ledger.Progress], within: str = "") -> pd.DataFrame:
    return pd.DataFrame([{
        "姓名": p.display_name, "用户名": p.username, "单位": relative_unit(p.unit_path, within),
        "执法领域": "、".join(p.fields) or "未填写",
        "学时": float(p.hours), "应达学时": float(p.expected), "差额": float(p.shortfall), "状态": _status(p),
    } for p in rows], columns=["姓名", "用户名", "单位", "执法领域", "学时", "应达学时", "差额", "状态"])


def summary(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Officers grouped by ``by`` (单位, or 执法领域 with each field of an officer counted)."""
    if by == "执法领域":
        frame = frame.assign(执法领域=frame["执法领域"].str.split("、")).explode("执法领域")
    grouped = frame.groupby(by, sort=True).agg(
        人数=("用户名", "count"), 学时合计=("学时", "sum"), 人均学时=("学时", "mean"),
        已达标=("状态", lambda s: int((s == "已达标").sum())), 落后=("状态", lambda s: int((s == "落后").sum())))
    grouped["人均学时"] = grouped["人均学时"].round(2)
    return grouped.reset_index()


def _chart(frame: pd.DataFrame, expected: float) -> alt.LayerChart:
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("姓名:N", sort="-y", title=None), y=alt.Y("学时:Q", title="学时"),
        color=alt.Color("状态:N", scale=alt.Scale(domain=["已达标", "正常", "落后"],
                                                  range=["#2e7d32", "#1565c0", "#c62828"])),
        tooltip=["姓名", "单位", "学时", "应达学时", "状态"])
    lines = pd.DataFrame({"线": ["应达", "年度目标"], "学时": [expected, float(ledger.GOAL_HOURS)]})
    rules = alt.Chart(lines).mark_rule(strokeDash=[4, 4]).encode(y="学时:Q", tooltip=["线", "学时"])
    return bars + rules


def show_progress(rows: list[ledger.Progress], year: int, today: date, within: str = "") -> None:
    if not rows:
        st.info("该单位及下级单位暂无执法人员。")
        return
    frame = progress_frame(rows, within)
    expected = rows[0].expected
    as_of = today if today.year == year else date(year, 12, 31)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("执法人员", len(rows))
    c2.metric("已达标（60 学时）", sum(p.met for p in rows))
    c3.metric("落后于进度", sum(p.behind for p in rows))
    c4.metric(f"截至 {as_of} 应达学时", f"{expected}")
    only_behind = st.checkbox("只看落后人员", key="hours_only_behind")
    shown = frame[frame["状态"] == "落后"] if only_behind else frame
    styled = shown.style.apply(lambda r: [BEHIND_STYLE if r["状态"] == "落后" else ""] * len(r), axis=1).format(
        {"学时": "{:.2f}", "应达学时": "{:.2f}", "差额": "{:.2f}"})
    st.dataframe(styled, hide_index=True, width="stretch")
    st.caption("红色底纹：学时低于按日折算的应达学时（60 × 当年已过天数 ÷ 365）。")
    st.altair_chart(_chart(frame, float(expected)), width="stretch")
    st.markdown("**按单位汇总**")
    st.dataframe(summary(frame, "单位"), hide_index=True, width="stretch")
    st.markdown("**按执法领域汇总**（兼任多个领域的人员在各领域分别计入）")
    st.dataframe(summary(frame, "执法领域"), hide_index=True, width="stretch")


def _person_label(rows: list[ledger.Progress]) -> dict[str, str]:
    return {p.username: f"{p.display_name}（{p.username}）· {p.unit_path}" for p in rows}


def add_form(db: Session, user: User, rows: list[ledger.Progress], today: date) -> None:
    """One officer's offline training; a probable double entry waits for a confirmation."""
    if not rows:
        st.info("该单位及下级单位暂无执法人员。")
        return
    labels = _person_label(rows)
    with st.form("hours_add_form", clear_on_submit=False):
        username = st.selectbox("执法人员", list(labels), format_func=labels.get, key="hours_add_user")
        category = st.selectbox("培训类别", OFFLINE_CATEGORIES, key="hours_add_category")
        hours = st.number_input("学时", min_value=0.0, max_value=float(ledger.MAX_ENTRY_HOURS), value=None, step=0.5,
                                format="%.2f", placeholder="如 8 或 1.5", key="hours_add_hours")
        on = st.date_input("培训日期", value=today, max_value=today, key="hours_add_date")
        note = st.text_input("证明材料（签到表编号、通知文号等）", max_chars=500, key="hours_add_note")
        submitted = st.form_submit_button("录入", type="primary")
    if submitted:
        entry = {"username": username, "category": category, "hours": "" if hours is None else f"{hours:.2f}",
                 "on": on, "note": note}
        st.session_state.pop(PENDING, None)
        _add(db, user, entry, force=False)
    pending = st.session_state.get(PENDING)
    if pending:
        st.warning(f"疑似重复录入：{pending['message']}")
        st.markdown(f"{labels.get(pending['username'], pending['username'])} · {pending['on']} · "
                    f"{pending['category']} · {pending['hours']} 学时 · {pending['note']}")
        go, cancel = st.columns(2)
        if go.button("确认是另一次培训，仍然录入", key="hours_force_add"):
            st.session_state.pop(PENDING, None)
            _add(db, user, pending, force=True)
        if cancel.button("取消，不录入", key="hours_cancel_add"):
            st.session_state.pop(PENDING, None)
            st.rerun()


def _add(db: Session, user: User, entry: dict[str, Any], *, force: bool) -> None:
    try:
        made = ledger.add_offline(db, user, entry["username"], entry["category"], entry["hours"], entry["on"],
                                  entry["note"], force=force)
    except StateError as exc:  # the core's double-entry refusal
        st.session_state[PENDING] = {**entry, "message": zh(exc).split("；")[0]}
        st.rerun()
    except RecordsError as exc:
        st.error(zh(exc))
    else:
        _flash(f"已录入第 {made.id} 条：{entry['username']} {made.on_date} {made.category} {made.hours} 学时。")


def import_form(db: Session, user: User) -> None:
    st.markdown("CSV 文件列：**用户名, 类别, 学时, 日期, 证明材料**（类别为 集中轮训 / 岗位练兵 / 专题讲座；"
                "日期如 2026-03-15）。Excel 或 WPS 另存为 CSV 即可（UTF-8 或 GBK 均可）。"
                "全部导入或全部不导入：任何一行有误，整份文件都不导入，并列出出错的行号。")
    upload = st.file_uploader("选择 CSV 文件", type=["csv"], key="hours_import_file")
    force = st.checkbox("允许与已有记录相同的行（确认是另一次培训）", key="hours_import_force")
    if st.button("导入", type="primary", key="hours_import_go", disabled=upload is None) and upload is not None:
        try:
            result = import_offline_csv(db, user, upload.getvalue(), name=upload.name, force=force)
        except ImportRejected as exc:
            rejected_table(exc, COLUMN_ZH)
        except RecordsError as exc:
            st.error(zh(exc))
        else:
            _flash(f"已导入 {len(result.entry_ids)} 条线下培训记录，涉及 {result.people} 人，共 {result.hours} 学时。")


def reverse_form(db: Session, user: User, rows: list[ledger.Progress], year: int) -> None:
    """A person's lines for the year; a wrong one is corrected by its reversal, never edited."""
    if not rows:
        st.info("该单位及下级单位暂无执法人员。")
        return
    labels = _person_label(rows)
    username = st.selectbox("执法人员", list(labels), format_func=labels.get, key="hours_rev_user")
    lines = ledger.entries(db, user, username, year)
    if not lines:
        st.info(f"{year} 年没有学时记录。")
        return
    reversed_ids = {x.reverses_id for x in lines if x.reverses_id}
    st.dataframe(pd.DataFrame([{
        "编号": x.id, "日期": x.on_date.isoformat(), "类型": KIND_ZH.get(x.kind, x.kind), "类别": x.category,
        "学时": float(x.hours), "备注": x.note,
        "状态": f"冲正第 {x.reverses_id} 条" if x.reverses_id else "已被冲正" if x.id in reversed_ids else "",
    } for x in lines]), hide_index=True, width="stretch")
    open_lines = {x.id: x for x in lines if x.kind != "reversal" and x.id not in reversed_ids}
    if not open_lines:
        st.caption("没有可冲正的记录。")
        return
    with st.form("hours_rev_form"):
        chosen = st.selectbox("要冲正的记录", list(open_lines), key="hours_rev_entry", format_func=lambda i: (
            f"第 {i} 条 · {open_lines[i].on_date} · {open_lines[i].category} · {open_lines[i].hours} 学时"))
        reason = st.text_input("冲正原因（必填）", max_chars=500, key="hours_rev_reason")
        submitted = st.form_submit_button("冲正")
    if submitted:
        try:
            made = ledger.reverse_entry(db, user, chosen, reason)
        except RecordsError as exc:
            st.error(zh(exc))
        else:
            _flash(f"已冲正第 {chosen} 条（新增第 {made.id} 条，{made.hours} 学时）。")


def export_buttons(db: Session, user: User, unit_code: str, year: int) -> None:
    """Each export is made (and audited) only when asked for, then offered for download."""
    st.caption("导出包含所选单位及全部下级单位的执法人员；每次导出都会记入审计日志。")
    cols = st.columns(len(FORMATS))
    for col, (fmt, label) in zip(cols, FORMATS.items(), strict=True):
        if col.button(f"生成 {label}", key=f"hours_export_{fmt}"):
            try:
                st.session_state[EXPORT] = export_unit(db, user, unit_code, year, fmt)
            except RecordsError as exc:
                st.error(zh(exc))
    made: Export | None = st.session_state.get(EXPORT)
    if made is not None and (made.unit_code, made.year) == (unit_code, year):
        st.download_button(f"下载 {made.filename}（{made.officers} 人，{made.items} 条）", made.data,
                           file_name=made.filename, mime=made.media_type, key="hours_download", type="primary",
                           icon=":material/download:")


def render(db: Session, user: User) -> None:
    st.title("学时统计")
    show_flash(FLASH)
    units = list_units(db, user)
    if not units:
        st.info("您的账户没有可管理的单位，请联系管理员。")
        return
    today = ledger.local_date(utcnow())
    codes = [u.code for u in units]
    paths = {u.code: f"{u.path}（{u.code}）" for u in units}
    own = user.unit.code if user.unit and user.unit.code in paths else codes[0]
    left, right = st.columns([3, 1])
    unit_code = left.selectbox("单位（含下级单位）", codes, index=codes.index(own), format_func=paths.get,
                               key="hours_unit")
    year = right.selectbox("年度", list(range(today.year, today.year - YEARS_SHOWN, -1)), key="hours_year")
    rows = ledger.progress(db, user, unit_code, year)
    tabs = st.tabs(["培训进度", "录入线下培训", "批量导入", "冲正", "导出"])
    with tabs[0]:
        show_progress(rows, year, today, next((u.path for u in units if u.code == unit_code), ""))
    with tabs[1]:
        add_form(db, user, rows, today)
    with tabs[2]:
        import_form(db, user)
    with tabs[3]:
        reverse_form(db, user, rows, year)
    with tabs[4]:
        export_buttons(db, user, unit_code, year)


run_page(render, permission="records.export")
