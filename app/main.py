"""ZhifaKB app entry point (UI only; every rule lives in kb).

For now this is the 法规检索 page over the knowledge-base core. Q&A with answers, quizzes,
training records and the role-based pages are not built yet, and the page says so.
"""

from __future__ import annotations

import streamlit as st

from kb.config import load_settings
from kb.errors import KBError
from kb.retrieve import Retriever

st.set_page_config(page_title="执法知库 ZhifaKB", page_icon="⚖️", layout="wide")


@st.cache_resource(show_spinner="正在加载知识库与向量模型…")
def retriever() -> Retriever:
    return Retriever(load_settings())


st.title("执法知库 · 法规检索")
st.info("当前版本提供法规、规章、方案与典型案例的条文检索。智能问答、学习考试、学时统计等功能正在建设中。")

try:
    r = retriever()
except KBError as exc:
    st.error(f"知识库无法打开：{exc}")
    st.stop()

if not r.documents:
    st.warning("知识库为空。请先运行 `kb ingest <文件或文件夹>` 导入文件。")
    st.stop()

types = {"law": "法律", "regulation": "行政法规", "rule": "部门规章", "interpretation": "司法解释",
         "policy": "政策文件", "plan": "实施方案", "case": "典型案例"}
with st.sidebar:
    st.caption(f"已收录 {len(r.documents)} 件文件")
    chosen = st.multiselect("文件类型", list(types), format_func=types.get)
    k = st.slider("返回条数", 1, 20, 5)

query = st.text_input("输入问题或条文（如「处罚法第三十三条」「当场收缴罚款的情形」）", max_chars=500)
if query.strip():
    result = r.search(query, k=k, doc_types=chosen or None)
    if not result.hits:
        st.warning("知识库中未找到相关条文。")
    for h in result.hits:
        status = "" if h.status == "current" else f"（{h.status}，非现行版本）"
        with st.container(border=True):
            st.markdown(f"**{h.citation}**　{h.version}{status}")
            st.caption(h.breadcrumb)
            st.text(h.text)
