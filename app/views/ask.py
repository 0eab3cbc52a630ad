"""问答: ask in Chinese, get an answer whose every sentence cites the exact provision."""

from __future__ import annotations

import streamlit as st

from app.resources import answerer
from app.view import show_citation

MODES = {"extractive": "条文摘录", "reference": "条文原文", "llm": "大模型生成（已核验）", "none": "—"}

st.title("智能问答")
st.caption("回答只摘录知识库中的条文原文，每段都标注出处；知识库没有依据时会直接说明。")

history: list[dict] = st.session_state.setdefault("ask_history", [])
for turn in history:
    with st.chat_message(turn["role"]):
        st.markdown(turn["content"])

question = st.chat_input("请输入问题，例如：哪些情形可以当场收缴罚款？", max_chars=2000)
if question:
    with st.chat_message("user"):
        st.markdown(question)
    asked = [t["content"] for t in history if t["role"] == "user"]
    with st.chat_message("assistant"):
        a = answerer().answer(question, history=asked)
        st.markdown(a.text.replace("\n", "  \n"))
        if a.abstained and a.related:
            st.caption("可能相关的条文：")
            for c in a.related:
                show_citation(c, expanded=False)
        for c in a.citations:
            show_citation(c)
        for note in a.notes:
            st.info(note)
        st.caption(f"回答方式：{MODES.get(a.mode, '—')} · 置信度 {a.confidence:.2f}")
    history += [{"role": "user", "content": question}, {"role": "assistant", "content": a.text}]

if history and st.button("清空对话"):
    history.clear()
    st.rerun()
