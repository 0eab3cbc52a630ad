"""题库审核: trainers review the question bank (approve, retire, send back to draft, edit),
check the questions whose source provision changed against the text in force now, and read
the 👍/👎 officers gave answers in 智能问答.

Every rule is the core's (kb.records.questions / feedback): the page lists, picks and shows
what the core says. The knowledge base (and its embedding model) is loaded only when a
flagged question or an edit needs the text in force.
"""

from __future__ import annotations

import html

import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.resources import answerer
from app.view import flash, local_time, show_flash, zh
from kb.answer.model import MODE_ZH
from kb.quiz.model import QUESTION_TYPES, TYPE_ZH
from kb.records import feedback, questions
from kb.records.errors import RecordsError
from kb.records.models import Question, User

STATE_ZH = {"draft": "待审核", "approved": "已通过", "retired": "已停用"}
# (target state, button label, icon) offered for questions in each state
ACTIONS = {
    "draft": [("approved", "审核通过", ":material/check:"), ("retired", "停用", ":material/block:")],
    "approved": [("retired", "停用", ":material/block:"), ("draft", "退回待审核", ":material/undo:")],
    "retired": [("draft", "恢复为待审核", ":material/undo:")],
}
BUTTON_KEYS = {"approved": "review_approve", "retired": "review_retire", "draft": "review_to_draft"}
PAGE_SIZE = 20
NOTICE = "review_notice"
EDITING = "review_editing"
ALL = "（全部）"


def _notice(text: str) -> None:
    """A message that survives the rerun an action ends with."""
    flash(NOTICE, text)


def _mark(text: str, quote: str) -> str:
    """``text`` as HTML with the first occurrence of ``quote`` highlighted."""
    body, q = html.escape(text), html.escape(quote.strip())
    if q and q in body:
        body = body.replace(q, f"<mark>{q}</mark>", 1)
    return body.replace("\n", "<br>")


def _answer_zh(row: Question) -> str:
    return {"A": "对", "B": "错"}.get(row.answer, row.answer) if row.qtype == "judge" else row.answer


def _cite(source: dict[str, str]) -> str:
    return f"《{source['doc_key'].split('@', 1)[0]}》{source['path']}"


def _show_question(row: Question, *, show_key: bool = True) -> None:
    """Stem, options (the keyed ones marked), key, explanation and sources with their quote;
    the question's 题号 unless its checkbox already says it."""
    st.markdown(html.escape(row.stem).replace("\n", "<br>"), unsafe_allow_html=True)
    keyed = set(row.answer) if row.options else set()
    for i, option in enumerate(row.options):
        letter = "ABCDEFGH"[i]
        st.markdown(f"{'✅' if letter in keyed else '▫️'} {letter}. {html.escape(option)}")
    st.markdown(f"**答案：** {html.escape(_answer_zh(row))}")
    if row.explanation:
        st.markdown(f"**解析：** {html.escape(row.explanation)}".replace("\n", "<br>"), unsafe_allow_html=True)
    for source in row.sources:
        st.markdown(f"**出处：** {_cite(source)}：「<mark>{html.escape(source['quote'])}</mark>」",
                    unsafe_allow_html=True)
    tags = "；".join(f"{kind}：{'、'.join(values)}" for kind, values in row.tags.items() if values)
    st.caption(" · ".join([*([f"题号 {row.key}"] if show_key else []), TYPE_ZH.get(row.qtype, row.qtype),
                           f"难度 {row.difficulty}", f"作者 {row.author}"])
               + (f" · {tags}" if tags else "") + (" · ⚠️ 来源已变更" if row.flagged else ""))


def _edit_fields(row: Question) -> dict[str, str]:
    """The edit fields' starting values, as plain data (a callback runs after this run's
    database session has closed)."""
    return {"review_edit_stem": row.stem, "review_edit_options": "\n".join(row.options),
            "review_edit_answer": _answer_zh(row), "review_edit_explanation": row.explanation}


def _start_edit(key: str, fields: dict[str, str]) -> None:
    """Open the edit panel on a question (a callback: it runs before the widgets exist)."""
    st.session_state[EDITING] = key
    st.session_state.update(fields)


def _stop_edit() -> None:
    st.session_state.pop(EDITING, None)


def _edit_panel(db: Session, user: User) -> None:
    """The question being edited; saving sends it through the core's source check."""
    key = st.session_state[EDITING]
    try:
        row = questions.get_question(db, key)
    except RecordsError:
        _stop_edit()
        return
    if "review_edit_stem" not in st.session_state:  # the fields were cleared while the page was away
        st.session_state.update(_edit_fields(row))
    with st.container(border=True):
        st.subheader(f"编辑题目 {key}")
        st.caption("保存时按现行条文核对出处：引文须仍逐字在条文中；系统生成的题目还须能由出处原文证明。"
                   "修改后的题目回到「待审核」。")
        stem = st.text_area("题干", key="review_edit_stem", height=120)
        options: list[str] = []
        if row.qtype in {"single", "multiple", "scenario"}:
            text = st.text_area("选项（每行一个，依次为 A、B、C…）", key="review_edit_options", height=120)
            options = [line.strip() for line in text.splitlines() if line.strip()]
        elif row.qtype == "judge":
            options = list(row.options)
        if row.qtype == "judge":
            answer = st.radio("答案", ["对", "错"], key="review_edit_answer", horizontal=True)
            answer = {"对": "A", "错": "B"}[answer]
        else:
            answer = st.text_input("答案（选择题填字母，如 A 或 AC；填空题填原文）", key="review_edit_answer")
        explanation = st.text_area("解析", key="review_edit_explanation", height=120)
        save, cancel = st.columns(2)
        if save.button("保存修改", key="review_edit_save", type="primary", icon=":material/save:"):
            try:
                result = questions.edit_question(db, user, key, stem=stem, options=options, answer=answer.strip(),
                                                 explanation=explanation, store=answerer().retriever.store)
            except RecordsError as exc:
                db.rollback()
                st.error(zh(exc))
            else:
                _stop_edit()
                _notice(f"题目 {key} 已保存，已回到「待审核」。" if result.updated else f"题目 {key} 没有改动。")
                st.rerun()
        cancel.button("取消", key="review_edit_cancel", on_click=_stop_edit)


def _filtered(db: Session) -> tuple[str, list[Question]]:
    counts = questions.state_counts(db)
    if "review_state" not in st.session_state:  # open on the first state that holds questions
        st.session_state["review_state"] = next((s for s in STATE_ZH if counts.get(s)), next(iter(STATE_ZH)))
    state = st.radio("审核状态", list(STATE_ZH), key="review_state", horizontal=True,
                     format_func=lambda s: f"{STATE_ZH[s]}（{counts.get(s, 0)}）")
    rows = questions.list_questions(db, state=state)
    tag_values = sorted({f"{kind}：{value}" for r in rows for kind, values in r.tags.items() for value in values})
    left, middle, right = st.columns([2, 2, 1])
    types = left.multiselect("题型", [t for t in QUESTION_TYPES if t != "scenario"], key="review_types",
                             format_func=lambda t: TYPE_ZH[t], placeholder="全部题型")
    tag = middle.selectbox("标签", [ALL, *tag_values], key="review_tag")
    only_flagged = right.checkbox("只看来源已变更", key="review_flagged")
    if types:
        rows = [r for r in rows if r.qtype in types]
    if tag != ALL:
        kind, _, value = tag.partition("：")
        rows = [r for r in rows if value in r.tags.get(kind, [])]
    if only_flagged:
        rows = [r for r in rows if r.flagged]
    return state, rows


def _questions_tab(db: Session, user: User) -> None:
    state, rows = _filtered(db)
    if not rows:
        st.info("没有符合条件的题目。")
        return
    pages = (len(rows) - 1) // PAGE_SIZE + 1
    page = 1
    if pages > 1:
        page = st.number_input(f"页码（共 {pages} 页，{len(rows)} 道题）", 1, pages, 1, key="review_page")
    shown = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    st.caption("勾选题目后批量操作：")
    buttons = st.columns(len(ACTIONS[state]) + 1)
    clicked = [target for col, (target, label, icon) in zip(buttons, ACTIONS[state], strict=False)
               if col.button(label, key=BUTTON_KEYS[target], icon=icon)]
    for row in shown:
        with st.container(border=True):
            pick, edit = st.columns([6, 1])
            pick.checkbox(f"{TYPE_ZH.get(row.qtype, row.qtype)}题 · 题号 {row.key}", key=f"review_pick_{row.key}")
            edit.button("编辑", key=f"review_edit_{row.key}", icon=":material/edit:", on_click=_start_edit,
                        args=(row.key, _edit_fields(row)))
            _show_question(row, show_key=False)
    if clicked:
        picked = [r.key for r in shown if st.session_state.get(f"review_pick_{r.key}")]
        if not picked:
            st.warning("请先勾选要操作的题目。")
            return
        changed = questions.set_state(db, user, picked, clicked[0])
        for key in picked:
            st.session_state.pop(f"review_pick_{key}", None)
        _notice(f"已将 {len(changed)} 道题设为「{STATE_ZH[clicked[0]]}」。")
        st.rerun()


def _side_by_side(now: questions.SourceNow) -> None:
    ref = now.ref
    old, new = st.columns(2)
    with old:
        st.markdown(f"**出题时依据的条文** · {_cite({'doc_key': ref.doc_key, 'path': ref.path})}")
        if now.made_from is not None:
            st.markdown(_mark(now.made_from, ref.quote), unsafe_allow_html=True)
        else:
            st.caption("原版本条文已不在知识库中，下面是出题时引用的原文：")
            st.markdown(f"「<mark>{html.escape(ref.quote)}</mark>」", unsafe_allow_html=True)
    with new:
        if now.current is None:
            st.markdown("**现行条文**")
            st.error("现行版本中已没有这一条，该题应停用或重新出题。")
            return
        st.markdown(f"**现行条文** · 《{now.current.short_title}》{now.current.path}（{now.current.version}）")
        st.markdown(_mark(now.current.text, ref.quote), unsafe_allow_html=True)
        if not now.changed:
            st.success("这一出处的条文没有变化。")
        elif now.quote_holds:
            st.info("条文有改动，但出题引用的原文仍在现行条文中。")
        else:
            st.warning("出题引用的原文已不在现行条文中。")


def _flagged_tab(db: Session, user: User) -> None:
    rows = [r for r in questions.list_questions(db, flagged=True) if r.state != "retired"]
    if not rows:
        st.info("没有来源已变更的题目。法规重新入库后，出处条文有改动的题目会出现在这里。")
        return
    st.caption("左边是出题时依据的条文，右边是知识库中现行的条文，出题引用的原文以高亮标出。")
    store = answerer().retriever.store
    for row in rows[:PAGE_SIZE]:
        with st.container(border=True):
            _show_question(row)
            for now in questions.sources_now(store, questions.to_model(row).sources):
                _side_by_side(now)
            keep, edit, retire = st.columns(3)
            if keep.button("核对无误：按现行条文更新出处并通过", key=f"review_repin_{row.key}", type="primary"):
                try:
                    questions.edit_question(db, user, row.key, stem=row.stem, options=list(row.options),
                                            answer=row.answer, explanation=row.explanation, store=store)
                    questions.set_state(db, user, [row.key], "approved")
                except RecordsError as exc:
                    db.rollback()
                    st.error(zh(exc))
                else:
                    _notice(f"题目 {row.key} 已按现行条文更新出处并通过审核。")
                    st.rerun()
            edit.button("编辑", key=f"review_flag_edit_{row.key}", on_click=_start_edit,
                        args=(row.key, _edit_fields(row)))
            if retire.button("停用", key=f"review_flag_retire_{row.key}"):
                questions.set_state(db, user, [row.key], "retired")
                _notice(f"题目 {row.key} 已停用。")
                st.rerun()
    if len(rows) > PAGE_SIZE:
        st.caption(f"另有 {len(rows) - PAGE_SIZE} 道，处理完上面的题目后显示。")


def _feedback_tab(db: Session, user: User) -> None:
    left, right = st.columns(2)
    only_open = left.checkbox("只看未处理的", value=True, key="review_fb_open")
    vote = right.radio("评价", ["全部", "👎 没帮助", "👍 有帮助"], key="review_fb_vote", horizontal=True)
    wanted = {"全部": None, "👎 没帮助": -1, "👍 有帮助": 1}[vote]
    rows = feedback.list_feedback(db, user, only_unreviewed=only_open, vote=wanted)
    if not rows:
        st.info("没有符合条件的反馈。")
        return
    for row in rows:
        with st.container(border=True):
            who = row.user.display_name if row.user else "—"
            when = local_time(row.at)
            st.markdown(f"{'👍' if row.vote > 0 else '👎'} **{html.escape(row.question)}**")
            mode = MODE_ZH.get(row.mode, row.mode)
            st.caption(f"{who} · {when} · 回答方式：{mode}" + (" · 已处理" if row.reviewed else ""))
            if row.comment:
                st.markdown(f"**意见：** {html.escape(row.comment)}")
            with st.expander("当时的回答与引用"):
                st.markdown(html.escape(row.answer).replace("\n", "<br>"), unsafe_allow_html=True)
                for citation in row.citations:
                    st.markdown(f"- {html.escape(citation)}")
            if not row.reviewed and st.button("标记为已处理", key=f"review_fb_done_{row.id}"):
                feedback.mark_reviewed(db, user, row.id)
                _notice("已标记为已处理。")
                st.rerun()


def render(db: Session, user: User) -> None:
    st.title("题库审核")
    show_flash(NOTICE)
    if st.session_state.get(EDITING):
        _edit_panel(db, user)
    flagged = sum(1 for r in questions.list_questions(db, flagged=True) if r.state != "retired")
    tab_questions, tab_flagged, tab_feedback = st.tabs(
        ["题目审核", f"来源变更（{flagged}）", "问答反馈"])
    with tab_questions:
        _questions_tab(db, user)
    with tab_flagged:
        _flagged_tab(db, user)
    with tab_feedback:
        _feedback_tab(db, user)


run_page(render, permission="content.manage")
