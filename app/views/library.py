"""法规检索: search provisions by question or by reference (「处罚法第三十三条」)."""

from __future__ import annotations

import streamlit as st

from app.resources import answerer
from app.view import status_zh

TYPES = {"law": "法律", "regulation": "行政法规", "rule": "部门规章", "interpretation": "司法解释",
         "policy": "政策文件", "plan": "实施方案", "case": "典型案例"}

st.title("法规库")
retriever = answerer().retriever
with st.sidebar:
    st.caption(f"已收录 {len(retriever.documents)} 件文件")
    chosen = st.multiselect("文件类型", list(TYPES), format_func=TYPES.get)
    k = st.slider("返回条数", 1, 20, 5)

query = st.text_input("输入问题或条文（如「处罚法第三十三条」「当场收缴罚款的情形」）", max_chars=500)
if query.strip():
    result = retriever.search(query, k=k, doc_types=chosen or None)
    if not result.hits:
        st.warning("知识库中未找到相关条文。")
    for h in result.hits:
        with st.container(border=True):
            st.markdown(f"**{h.citation}**　{h.version} · {status_zh(h.status)}")
            st.caption(h.breadcrumb)
            st.text(h.text)
