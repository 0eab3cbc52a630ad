"""ZhifaKB app entry point (UI only; every rule lives in kb).

Pages so far: 智能问答 and 法规检索. Sign-in, study and quizzes, training-hour records and the
trainer/coordinator/admin pages come with the records and app issues; the sidebar says so.
"""

from __future__ import annotations

import streamlit as st

from app.resources import answerer
from kb.errors import KBError

st.set_page_config(page_title="执法知库 ZhifaKB", page_icon=":material/balance:", layout="wide")

try:
    docs = answerer().retriever.documents
except KBError as exc:
    st.error(f"知识库无法打开：{exc}")
    st.stop()
if not docs:
    st.warning("知识库为空。请先运行 `kb ingest <文件或文件夹>` 导入文件。")
    st.stop()

page = st.navigation([
    st.Page("views/ask.py", title="智能问答", icon=":material/forum:", default=True),
    st.Page("views/search.py", title="法规检索", icon=":material/search:"),
])
with st.sidebar:
    st.caption("执法知库 · 行政执法人员培训知识库")
    st.caption("登录、学习考试、学时统计等功能建设中。")
page.run()
