"""学习与考试: my 学时 this year toward 60, the quizzes and 情景演练 open to me, taking one
(a countdown to the deadline, answers saved on 保存进度 and on 提交) and the result with the
key, the explanation and the sources of every question.

UI only: attempts left, the time limit and its grace, grading, crediting once a year and who
may see an attempt are the core's (:mod:`kb.records.attempts`, :mod:`kb.records.ledger`). The
browser session remembers only which attempt is on screen, so a rerun, a second tab or signing
in again resumes from the database; a refusal is shown in Chinese and what was saved stays.
An attempt whose time ran out is graded by the core (``close_expired``) on every visit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NoReturn

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.signin import keep_alive
from app.view import local_time, zh
from kb.errors import KBError
from kb.records import attempts, ledger, quizzes
from kb.records.errors import TimeLimitExceeded
from kb.records.grading import LETTERS, MAX_RESPONSE
from kb.records.models import Attempt, LedgerEntry, Quiz, User, utcnow

TAKING = "study_attempt"  # the attempt being answered
SHOWING = "study_result"  # the graded attempt on screen
NOTE = "study_note"  # (kind, text) to show once after a rerun

QTYPE_ZH = {"single": "单选", "multiple": "多选", "judge": "判断", "blank": "填空", "scenario": "情景"}
JUDGE_ZH = {"A": "对", "B": "错"}
STATUS_ZH = {"open": "答题中", "submitted": "已提交", "expired": "超时自动评分"}
KIND_ZH = {"quiz": "在线测验", "offline": "线下培训", "reversal": "冲正"}
ALREADY_SUBMITTED = ("这份答卷此前已经提交（可能在另一个窗口或重复点击），以下是已提交的结果；"
                     "这次提交的答案未被采用，学时也不会重复计入。")


def _md(text: str) -> str:
    """Stored text shown as itself in Markdown: a 填空 stem's「______」or a「$」would otherwise
    render as formatting or formulas; line breaks are kept."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$])", r"\\\1", text).replace("\n", "  \n")


def _show(view: str, attempt_id: int | None = None, note: tuple[str, str] | None = None) -> NoReturn:
    """Show the paper (``TAKING``) or the result (``SHOWING``) of ``attempt_id``, or without
    one the list; with a note for the next run. Reruns."""
    st.session_state.pop(TAKING, None)
    st.session_state.pop(SHOWING, None)
    if attempt_id is not None:
        st.session_state[view] = attempt_id
    if note is not None:
        st.session_state[NOTE] = note
    st.rerun()


def _note() -> None:
    kind, text = st.session_state.pop(NOTE, ("", ""))
    if text:
        {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(text)


def _narrative(quiz: Quiz) -> None:
    """A 情景演练's case narrative, above its questions (steps refer to it)."""
    narrative = str(quiz.selection.get("narrative") or "").strip()
    if narrative:
        with st.container(border=True):
            st.markdown("**案情**")
            st.markdown(_md(narrative))


def _option(qtype: str, options: tuple[str, ...], letter: str) -> str:
    if qtype == "judge":
        return JUDGE_ZH.get(letter, letter)
    n = LETTERS.find(letter)
    return f"{letter}. {_md(options[n])}" if 0 <= n < len(options) else letter


def _readable(qtype: str, options: tuple[str, ...], response: str) -> str:
    """An answer as the officer chose it: option letters with their text, or the typed text."""
    if not response:
        return "（未作答）"
    if not options:
        return _md(response)
    return "；".join(_option(qtype, options, letter) for letter in response)


# --- overview: hours, quizzes, history ---------------------------------------------------------

def _hours(db: Session, user: User, year: int, lines: list[LedgerEntry]) -> None:
    p = ledger.my_progress(db, user, year)
    st.subheader(f"{year} 年度学时")
    c1, c2, c3 = st.columns(3)
    c1.metric("已获学时", f"{p.hours}")
    c2.metric("年度目标", f"{p.goal:.0f}")
    c3.metric("按进度今日应达", f"{p.expected}")
    st.progress(max(0.0, min(float(p.hours / p.goal), 1.0)), text=f"{p.hours} / {p.goal:.0f} 学时")
    if p.met:
        st.success("本年度学时已达标。")
    elif p.behind:
        st.warning(f"落后于年度进度 {p.shortfall} 学时，请及时参加培训或在线测验。")
    else:
        st.info("学时进度正常。")
    if lines:
        by_month: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for line in lines:
            by_month[line.on_date.month][line.category] += float(line.hours)
        chart = pd.DataFrame(by_month).T.sort_index().fillna(0.0)
        chart.index = [f"{m:02d}月" for m in chart.index]
        st.bar_chart(chart, x_label="月份", y_label="学时")


def _quiz_card(db: Session, user: User, quiz: Quiz, year: int, mine: list[Attempt],
               lines: list[LedgerEntry]) -> None:
    drill = "drill" in quiz.selection
    left = attempts.attempts_left(db, user.id, quiz)
    best = attempts.best_attempt(db, user.id, quiz.id, year)
    ongoing = next((a for a in mine if a.quiz_id == quiz.id and a.status == "open"), None)
    credit = next((line for line in lines if line.kind == "quiz" and line.quiz_id == quiz.id), None)
    reversed_ids = {line.reverses_id for line in lines if line.reverses_id is not None}
    with st.container(border=True):
        kind = "情景演练" if drill else "测验"
        # a published drill's quiz is titled 「情景演练：…」 already; saying it twice reads as a slip
        heading = quiz.title if quiz.title.startswith(kind) else f"{kind} · {quiz.title}"
        st.markdown(f"**{_md(heading)}**　`{quiz.code}`")
        limit = f"{quiz.time_limit_s // 60} 分钟" if quiz.time_limit_s else "不限时"
        st.caption(f"{len(quiz.items)} 题 · 时限 {limit} · 及格线 {quiz.pass_mark}% · "
                   f"通过计 {quiz.credit_hours} 学时 · 剩余答题次数 {'不限' if left is None else left}")
        if credit is not None:
            state = "（已被冲正）" if credit.id in reversed_ids else ""
            st.markdown(f"✅ 本年度已获得该{'演练' if drill else '测验'}学时 {credit.hours}{state}")
        if best is not None:
            st.markdown(f"本年度最好成绩：{best.percent:g}%（{'通过' if best.passed else '未通过'}）")
        label = f"继续第 {ongoing.number} 次答题" if ongoing else "开始答题"
        if st.button(label, key=f"study_start_{quiz.code}", disabled=left == 0 and ongoing is None,
                     type="primary" if ongoing else "secondary"):
            try:
                attempt = attempts.start_attempt(db, user, quiz.code)
            except KBError as exc:  # closed meanwhile, no attempts left
                db.rollback()
                st.error(zh(exc))
            else:
                _show(TAKING, attempt.id)
        if left == 0 and ongoing is None:
            st.caption("答题次数已用完。")


def _ledger_table(lines: list[LedgerEntry]) -> None:
    if not lines:
        st.info("本年度还没有学时记录。")
        return
    st.dataframe(pd.DataFrame([{
        "编号": line.id, "日期": line.on_date.isoformat(), "类别": line.category,
        "类型": KIND_ZH.get(line.kind, line.kind), "学时": f"{line.hours}",
        "说明": line.note + (f"（冲正第 {line.reverses_id} 条）" if line.reverses_id else ""),
    } for line in lines]), hide_index=True)


def _history(mine: list[Attempt]) -> None:
    if not mine:
        st.info("还没有答题记录。")
        return
    st.dataframe(pd.DataFrame([{
        "测验": a.quiz.title, "次数": a.number, "状态": STATUS_ZH.get(a.status, a.status),
        "开始": local_time(a.started_at),
        "得分": "—" if a.percent is None else f"{a.score:g} / {a.max_score:g}",
        "正确率": "—" if a.percent is None else f"{a.percent:g}%",
        "结果": "—" if a.passed is None else ("通过" if a.passed else "未通过"),
    } for a in mine]), hide_index=True)
    graded = {a.id: f"{a.quiz.title} · 第 {a.number} 次 · {a.percent:g}%" for a in mine if a.percent is not None}
    if graded:
        chosen = st.selectbox("查看答卷与解析", list(graded), format_func=graded.__getitem__, key="study_pick")
        if st.button("查看", key="study_view") and chosen is not None:
            _show(SHOWING, chosen)


def _overview(db: Session, user: User) -> None:
    year = ledger.local_date(utcnow()).year
    lines = ledger.entries(db, user, user.username, year)
    mine = attempts.my_attempts(db, user)
    _hours(db, user, year, lines)
    quizzes_tab, ledger_tab, history_tab = st.tabs(["测验与情景演练", "学时明细", "答题记录"])
    with quizzes_tab:
        available = quizzes.list_quizzes(db)
        if not available:
            st.info("目前没有开放的测验。")
        for quiz in available:
            _quiz_card(db, user, quiz, year, mine, lines)
    with ledger_tab:
        _ledger_table(lines)
    with history_tab:
        _history(mine)


# --- taking a quiz -------------------------------------------------------------------------------

@st.fragment(run_every=timedelta(seconds=1))
def _countdown(deadline: datetime) -> None:
    """Time left, redrawn every second without rerunning the paper (so typing is not lost).
    Once the grace is over too, one full rerun lets the core grade the attempt (once: should
    it still be open, the page must not rerun itself every second)."""
    left = deadline - utcnow()
    if left > timedelta(0):
        keep_alive()
        minutes, seconds = divmod(int(left.total_seconds()), 60)
        text = f"剩余时间 {minutes:02d}:{seconds:02d}（{local_time(deadline)} 截止）"
        if left < timedelta(minutes=5):
            st.warning(text + "　请尽快保存或提交，超时后只按已保存的答案评分。")
        else:
            st.info(text)
        return
    st.error("答题时间已到，请立即提交；超时后只按已保存的答案评分。")
    if left < -attempts.GRACE and st.session_state.get("study_timed_out") != deadline:
        st.session_state["study_timed_out"] = deadline
        st.rerun()


def _ask(item: attempts.ItemView, attempt_id: int) -> str:
    """One question's widget, filled with the saved answer; returns the answer as the core
    takes it (option letters, or text)."""
    kind = QTYPE_ZH.get(item.qtype, item.qtype) + ("，可多选" if item.multi and item.qtype != "multiple" else "")
    st.markdown(f"**第 {item.position} 题**（{kind}，{item.points} 分）  \n" + _md(item.stem))
    key, label = f"study_q{attempt_id}_{item.position}", f"第 {item.position} 题的答案"
    if not item.choice:
        return st.text_input(label, value=item.response, max_chars=MAX_RESPONSE, key=key,
                             placeholder="请输入答案", label_visibility="collapsed")
    letters = list(LETTERS[:len(item.options)])
    show = lambda letter: _option(item.qtype, item.options, letter)  # noqa: E731 - a one-line label
    if item.multi:
        chosen = st.multiselect(label, letters, default=[x for x in item.response if x in letters], key=key,
                                format_func=show, placeholder="选择所有正确选项", label_visibility="collapsed")
        return "".join(sorted(chosen))
    picked = st.radio(label, letters, index=letters.index(item.response) if item.response in letters else None,
                      format_func=show, key=key, label_visibility="collapsed")
    return picked or ""


def _paper(db: Session, user: User, attempt_id: int) -> None:
    attempt = attempts.get_attempt(db, user, attempt_id)
    if attempt.status != "open":  # closed by another tab, or graded when its time ran out
        if st.session_state.get("study_submit"):  # this tab's 提交 came second: the core says what it found
            _act(db, user, attempt.id, {}, submit=True)
        submitted = ("warning", "这份答卷已经提交（可能在另一个窗口），以下是已提交的结果。")
        _show(SHOWING, attempt.id, submitted if attempt.status == "submitted" else None)
    quiz = attempt.quiz
    items = attempts.questions(db, user, attempt.id)
    st.subheader(f"{_md(quiz.title)} · 第 {attempt.number} 次答题")
    _note()
    _narrative(quiz)
    answered = sum(1 for item in items if item.response)
    st.progress(answered / len(items) if items else 0.0, text=f"已保存作答 {answered} / {len(items)} 题")
    if attempt.deadline is not None:
        _countdown(attempt.deadline)
    else:
        st.caption("本测验不限时；离开前请先保存进度。")
    st.caption("作答在点击「保存进度」或「提交」时保存；30 分钟无操作会退出登录，请定期保存。")
    with st.form("study_paper"):
        answers = {item.key: _ask(item, attempt.id) for item in items}
        left, right = st.columns(2)
        save = left.form_submit_button("保存进度", key="study_save", icon=":material/save:")
        submit = right.form_submit_button("提交", key="study_submit", type="primary", icon=":material/send:")
    if st.button("返回列表（未保存的作答不会保留）", key="study_leave"):
        _show(TAKING)
    if save or submit:
        _act(db, user, attempt.id, answers, submit=submit)


def _act(db: Session, user: User, attempt_id: int, answers: dict[str, str], *, submit: bool) -> None:
    """Save or submit; a refusal keeps the form as typed, or shows the result when the
    attempt was closed meanwhile (another tab submitted it, or its time ran out)."""
    try:
        if submit:
            done = attempts.submit_attempt(db, user, attempt_id, answers)
            _show(SHOWING, attempt_id, ("warning", ALREADY_SUBMITTED) if done.already_submitted else None)
        attempts.save_answers(db, user, attempt_id, answers)
    except TimeLimitExceeded as exc:
        db.rollback()
        attempts.close_expired(db, user)
        _show(SHOWING, attempt_id, ("error", f"{zh(exc)}。系统已按截止前保存的答案评分。"))
    except KBError as exc:
        db.rollback()
        if attempts.get_attempt(db, user, attempt_id).status != "open":
            _show(SHOWING, attempt_id, ("warning", f"{zh(exc)}。这份答卷已经结束，以下是它的结果。"))
        st.error(f"{zh(exc)}。答案未保存，请修改后再试。")
        return
    _show(TAKING, attempt_id, ("success", f"已保存（{local_time(utcnow())}）。"))


# --- the result ----------------------------------------------------------------------------------

def _result(db: Session, user: User, attempt_id: int) -> None:
    res = attempts.attempt_result(db, user, attempt_id)
    a, quiz = res.attempt, res.quiz
    st.subheader(f"{_md(quiz.title)} · 第 {a.number} 次答题结果")
    _note()
    if a.status == "expired":
        st.caption(f"本次答题超时未提交（{local_time(a.deadline)} 截止），系统已按截止前保存的答案评分。")
    c1, c2, c3 = st.columns(3)
    c1.metric("得分", f"{a.score:g} / {a.max_score:g}")
    c2.metric("正确率", f"{a.percent:g}%")
    c3.metric("计入学时", res.credited_hours or "0")
    if a.passed:
        st.success(f"通过（及格线 {quiz.pass_mark}%）")
    else:
        st.error(f"未通过（及格线 {quiz.pass_mark}%）")
    if res.credited_hours:
        st.success(f"已计入 {a.year} 年度学时 {res.credited_hours} 学时。")
    elif a.passed and quiz.credit_hours > 0:
        st.info(f"{a.year} 年度已获得过该测验的学时，本次不重复计入。")
    _narrative(quiz)
    for item in res.items:
        mark = "✅ 正确" if item.correct else ("◐ 部分得分" if item.earned > 0 else "❌ 错误")
        title = f"第 {item.position} 题　{mark}　{item.earned:g} / {item.points} 分"
        with st.expander(title, expanded=not item.correct):
            st.markdown(_md(item.stem))
            if item.options and item.qtype != "judge":
                st.markdown("  \n".join(f"{LETTERS[n]}. {_md(text)}" for n, text in enumerate(item.options)))
            st.markdown(f"**我的答案**：{_readable(item.qtype, item.options, item.response)}  \n"
                        f"**正确答案**：{_readable(item.qtype, item.options, item.answer)}")
            if item.explanation:
                st.markdown(f"**解析**：{_md(item.explanation)}")
            for citation in item.citations:
                st.caption(f"依据：{_md(citation)}")
    if st.button("返回列表", key="study_back"):
        _show(SHOWING)


def render(db: Session, user: User) -> None:
    st.title("学习与考试")
    for closed in attempts.close_expired(db, user):
        a = closed.attempt
        if a.user_id == user.id and a.id != st.session_state.get(TAKING):
            st.info(f"「{_md(a.quiz.title)}」第 {a.number} 次答题已超时，系统已按截止前保存的答案评分："
                    f"{a.percent:g}%，{'通过' if a.passed else '未通过'}。")
    try:
        if TAKING in st.session_state:
            _paper(db, user, st.session_state[TAKING])
        elif SHOWING in st.session_state:
            _result(db, user, st.session_state[SHOWING])
        else:
            _note()
            _overview(db, user)
    except KBError as exc:  # the attempt on screen is gone or not this user's: back to the list
        db.rollback()
        st.session_state.pop(TAKING, None)
        st.session_state.pop(SHOWING, None)
        st.error(zh(exc))
        st.button("返回列表", key="study_back_error")


run_page(render, permission="quiz.take")
