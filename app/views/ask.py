"""问答: ask in Chinese, get an answer whose every sentence cites the exact provision.

Answers stream in when an LLM is configured (the extractive answer appears at once);
each citation opens the whole provision with the quoted span highlighted and can be opened
in 法规库. 👍/👎 with an optional comment is stored for trainers (题库审核 → 答案反馈).
"""

from __future__ import annotations

from functools import partial

import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.resources import answerer
from app.view import TYPES_ZH, show_citation, zh
from kb.answer.model import Answer
from kb.errors import KBError
from kb.query import normalize_query
from kb.records.feedback import record_feedback
from kb.records.models import User

HISTORY = "ask_history"


def _open_in_library(doc_key: str, path: str) -> None:
    st.session_state["library_open"] = (doc_key, path)
    st.switch_page("views/library.py")


def _show_answer(db: Session, user: User, turn: int, a: Answer) -> None:
    """Everything under one answer: how a follow-up was read, citations, notes, mode, feedback."""
    if a.resolved_question and a.resolved_question != normalize_query(a.question):
        st.caption(f"已结合上一个问题理解为：「{a.resolved_question}」。如不是这个意思，请把问题问完整。")
    if a.abstained:  # where the answer probably lies, before what is only possibly related
        for note in a.notes:
            st.info(note)
    if a.abstained and a.related:
        st.caption("可能相关的条文：")
        for c in a.related:
            show_citation(c, expanded=False)
    for c in a.citations:
        show_citation(c, expanded=len(a.citations) == 1, below=partial(
            st.button, "在法规库中查看全文与上下条", key=f"ask_open_{turn}_{c.n}", icon=":material/menu_book:",
            on_click=_open_in_library, args=(c.doc_key, c.path), type="tertiary"))
    if not a.abstained:
        for note in a.notes:
            st.info(note)
    st.caption(f"回答方式：{a.how} · 置信度 {a.confidence:.2f}")
    _feedback(db, user, turn, a)


def _feedback(db: Session, user: User, turn: int, a: Answer) -> None:
    done = st.session_state.setdefault("ask_rated", {})
    if turn in done:
        st.caption("已收到您的评价，谢谢。" + ("👍" if done[turn] > 0 else "👎"))
        return
    vote = st.feedback("thumbs", key=f"ask_vote_{turn}")
    if vote is None:
        return
    comment = st.text_input("补充意见（可选，如「引用的条文不对」）", key=f"ask_comment_{turn}", max_chars=500)
    if st.button("提交评价", key=f"ask_send_{turn}"):
        try:
            record_feedback(db, user, a.question, a.text, a.mode,
                            [c.rendered for c in a.citations], 1 if vote == 1 else -1, comment)
        except KBError as exc:
            db.rollback()
            st.error(zh(exc))
            return
        done[turn] = 1 if vote == 1 else -1
        st.rerun()


def render(db: Session, user: User) -> None:
    st.title("智能问答")
    st.caption("回答只摘录知识库中的条文原文，每段都标注出处；知识库没有依据时会直接说明。")
    retriever = answerer().retriever
    if not retriever.documents:
        st.warning("知识库为空。请管理员在「管理」页上传文件，或运行 `kb ingest <文件或文件夹>`。")
        return
    with st.sidebar:
        types = sorted({d.doc_type for d in retriever.documents})
        chosen = st.multiselect("只在这些类型中查找", types, key="ask_types", placeholder="全部类型",
                                format_func=lambda t: TYPES_ZH.get(t, t))
    history: list[tuple[str, Answer]] = st.session_state.setdefault(HISTORY, [])
    for turn, (question, a) in enumerate(history):
        with st.chat_message("user"):
            st.markdown(question)
        with st.chat_message("assistant"):
            st.markdown(a.text.replace("\n", "  \n"))
            _show_answer(db, user, turn, a)

    question = st.chat_input("请输入问题，例如：哪些情形可以当场收缴罚款？", max_chars=2000)
    if question is not None and not question.strip():
        st.info("请输入要查询的问题。")
    elif question:
        with st.chat_message("user"):
            st.markdown(question)
        with st.chat_message("assistant"):
            shown = st.empty()
            streamed: list[str] = []

            def on_token(token: str) -> None:
                streamed.append(token)
                shown.markdown("".join(streamed) + "▌")

            with st.spinner("正在检索条文…"):
                a = answerer().answer(question, history=[q for q, _ in history],
                                      filters={"doc_types": chosen} if chosen else None, on_token=on_token)
            shown.markdown(a.text.replace("\n", "  \n"))
            history.append((question, a))
            _show_answer(db, user, len(history) - 1, a)

    if history and st.button("清空对话", key="ask_clear"):
        history.clear()
        st.rerun()


run_page(render)
