"""法规库: browse documents by type and status, a document's structure (章 → 条), one
article with its neighbours and the questions and drills that rest on it; and search."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.resources import answerer
from app.view import TYPES_ZH, headings_and_body, standing, status_zh
from kb.browse import Provision, by_heading, neighbours, outline
from kb.citation import render_path
from kb.library import DocumentInfo
from kb.model import DOC_TYPES
from kb.records.citing import drills_citing, questions_citing
from kb.records.models import User

OPEN_KEY = "library_open"  # set by other pages: (doc_key, path) to show


def _doc_label(d: DocumentInfo) -> str:
    if d.doc_type == "case":
        return f"{d.title}（{standing(d.doc_type, d.status, d.version)}）"
    return f"{d.title}（{d.version or '版本未标注'}，{status_zh(d.status)}）"


def _apply_open_request(docs: list[DocumentInfo]) -> None:
    """Another page asked to show one provision (「在法规库中查看」): select it."""
    request = st.session_state.pop(OPEN_KEY, None)
    if request and any(d.key == request[0] for d in docs):
        st.session_state["library_type"] = "全部"
        st.session_state["library_status"] = "全部"
        st.session_state["library_doc"] = request[0]
        st.session_state["library_path"] = request[1]


def _article(db: Session, doc: DocumentInfo, provisions: list[Provision], path: str) -> None:
    current = next(p for p in provisions if p.path == path)
    st.markdown(f"#### 《{doc.title}》{render_path(path)}")
    headings, body = headings_and_body(current.breadcrumb, path, current.text)
    st.caption(" · ".join([*([headings] if headings else []), standing(doc.doc_type, doc.status, doc.version)]))
    with st.container(border=True):
        st.text(body)
    before, after = neighbours(provisions, path)
    left, right = st.columns(2)
    if before is not None:
        left.button(f"← {render_path(before.path)}", key="library_prev", on_click=_select, args=(before.path,))
    if after is not None:
        right.button(f"{render_path(after.path)} →", key="library_next", on_click=_select, args=(after.path,))
    questions = questions_citing(db, doc.key, path)
    drills = drills_citing(db, doc.key, path)
    st.markdown(f"**以本条为依据的题目**：{len(questions)} 道　**情景演练**：{len(drills)} 个")
    for q in questions[:20]:
        st.markdown(f"- {q.stem[:80]}")
    for d in drills:
        st.markdown(f"- 演练：{d.title}")


def _select(path: str) -> None:
    st.session_state["library_path"] = path


def _browse(db: Session, docs: list[DocumentInfo]) -> None:
    _apply_open_request(docs)
    types = ["全部", *dict.fromkeys(d.doc_type for d in docs)]
    statuses = ["全部", *sorted({d.status for d in docs})]
    c1, c2 = st.columns(2)
    kind = c1.selectbox("文件类型", types, key="library_type", format_func=lambda t: TYPES_ZH.get(t, t))
    status = c2.selectbox("效力状态", statuses, key="library_status",
                          format_func=lambda s: s if s == "全部" else status_zh(s))
    shown = [d for d in docs if kind in ("全部", d.doc_type) and status in ("全部", d.status)]
    if not shown:
        st.info("没有符合条件的文件。")
        return
    by_key = {d.key: d for d in shown}
    if st.session_state.get("library_doc") not in by_key:
        st.session_state["library_doc"] = shown[0].key
    key = st.selectbox(f"文件（{len(shown)} 件）", list(by_key), key="library_doc",
                       format_func=lambda k: _doc_label(by_key[k]))
    doc = by_key[key]
    provisions = outline(answerer().retriever.store, doc.key)
    if not provisions:
        st.warning("该文件没有可显示的条文。")
        return
    paths = [p.path for p in provisions]
    if st.session_state.get("library_path") not in paths:
        st.session_state["library_path"] = paths[0]
    tree, article = st.columns([1, 2])
    with tree:
        st.caption(f"共 {len(provisions)} 条（段）")
        for heading, group in by_heading(provisions):
            chosen = st.session_state["library_path"] in {p.path for p in group}
            with st.expander(heading or "正文", expanded=chosen):
                for p in group:
                    st.button(render_path(p.path), key=f"library_go_{p.path}", on_click=_select, args=(p.path,),
                              type="primary" if p.path == st.session_state["library_path"] else "tertiary")
    with article:
        _article(db, doc, provisions, st.session_state["library_path"])


def _search(docs: list[DocumentInfo]) -> None:
    retriever = answerer().retriever
    c1, c2 = st.columns([3, 1])
    chosen = c1.multiselect("文件类型", list(dict.fromkeys(d.doc_type for d in docs)), key="library_search_types",
                            placeholder="全部类型", format_func=lambda t: TYPES_ZH.get(t, t))
    k = c2.number_input("返回条数", 1, 20, 5, key="library_k")
    query = st.text_input("输入问题或条文（如「处罚法第三十三条」「当场收缴罚款的情形」）", max_chars=500,
                          key="library_query")
    if not query.strip():
        return
    result = retriever.search(query, k=int(k), doc_types=chosen or None)
    if not result.hits:
        st.warning("知识库中未找到相关条文。")
    for h in result.hits:
        with st.container(border=True):
            st.markdown(f"**{h.citation}**　{standing(h.doc_type, h.status, h.version)}")
            headings, body = headings_and_body(h.breadcrumb, h.path, h.text)
            if headings:
                st.caption(headings)
            st.text(body)


def render(db: Session, user: User) -> None:
    st.title("法规库")
    order = {t: i for i, t in enumerate(DOC_TYPES)}
    docs = sorted(answerer().retriever.documents, key=lambda d: (order.get(d.doc_type, 99), d.title, d.version))
    if not docs:
        st.warning("知识库为空。请管理员在「管理」页上传文件，或运行 `kb ingest <文件或文件夹>`。")
        return
    st.caption(f"已收录 {len(docs)} 件文件，{sum(d.chunks for d in docs)} 个条文片段")
    browse, search = st.tabs(["浏览", "检索"])
    with browse:
        _browse(db, docs)
    with search:
        _search(docs)


run_page(render)
