"""情景演练编辑: trainers write a drill in YAML (seeded with a commented template), find the
provisions it rests on by search and insert them with a verbatim quote, see the problems in
Chinese as they type, preview it as an officer will see it, then save, publish or retire it.

Every rule is the core's (kb.records.drills): checking against the knowledge base, drafts,
publication as approved questions and a quiz, new quiz versions on re-publication.
"""

from __future__ import annotations

import html
import re

import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.resources import answerer
from app.view import flash, local_time, show_flash, zh
from kb.model import Hit
from kb.quiz.model import TYPE_ZH, Drill
from kb.quiz.resolve import KBResolver
from kb.records import drills
from kb.records.errors import RecordsError
from kb.records.models import DrillRecord, User

NEW = "（新建演练）"
SOURCE = "drill_source"
PICK = "drill_pick"
LOADED = "drill_loaded"
NEXT_PICK = "drill_pick_next"
NOTICE = "drill_notice"
SNIPPET = "drill_snippet"
STATE_ZH = {"draft": "草稿", "published": "已发布", "retired": "已停用"}


def _state_zh(row: DrillRecord) -> str:
    text = STATE_ZH.get(row.state, row.state)
    if row.state == "draft" and row.quiz is not None and row.quiz.active:
        text += f"（已发布的 {row.quiz.code} 仍开放，修改待重新发布）"
    return text


def _pick(rows: list[DrillRecord]) -> str:
    """Which drill is open; switching loads its source into the editor."""
    if NEXT_PICK in st.session_state:  # set by an action before the selectbox existed
        st.session_state[PICK] = st.session_state.pop(NEXT_PICK)
    by_code = {r.code: r for r in rows}
    choice = st.selectbox("选择演练", [NEW, *by_code], key=PICK,
                          format_func=lambda c: c if c == NEW else f"{c} · {by_code[c].title}")
    if st.session_state.get(LOADED) != choice:
        st.session_state[SOURCE] = drills.TEMPLATE if choice == NEW else by_code[choice].source
        st.session_state[LOADED] = choice
        st.session_state.pop(SNIPPET, None)
    return choice


def _first_sentence(hit: Hit) -> str:
    """A verbatim quote to start from: the hit's first sentence without the article label."""
    text = re.sub(r"^第[零一二三四五六七八九十百千]+条\s*", "", hit.text.strip())
    return re.split(r"(?<=[。；])", text, maxsplit=1)[0].rstrip("。；").strip() or text[:60]


def _insert(law: str, article: str, quote_key: str) -> None:
    """Add a provisions entry to the chosen step (a callback, so it can rewrite the editor)."""
    step = int(st.session_state.get("drill_step") or 1)
    quote = str(st.session_state.get(quote_key, "")).strip()
    updated = drills.insert_provision(st.session_state.get(SOURCE, ""), step, law, article, quote)
    if updated is None:
        st.session_state[SNIPPET] = drills.provision_entry(law, article, quote, 6)
    else:
        st.session_state[SOURCE] = updated
        st.session_state.pop(SNIPPET, None)


def _search(check: drills.DrillCheck) -> None:
    st.subheader("查找依据条文")
    steps = len(check.drill.steps) if check.drill else _count_steps(st.session_state.get(SOURCE, ""))
    st.selectbox("插入到", list(range(1, max(steps, 1) + 1)), key="drill_step", format_func=lambda n: f"第 {n} 步")
    query = st.text_input("关键词或条文（如：先行登记保存、处罚法第五十六条）", key="drill_search")
    if st.session_state.get(SNIPPET):
        st.warning("无法自动插入（内容格式有误，或该步骤的依据条文不是逐行列出的），"
                   "请把下面几行粘贴到该步骤的 provisions 下：")
        st.code(st.session_state[SNIPPET], language="yaml")
    if not query.strip():
        st.caption("找到条文后，可修改摘录（须是条文原文中连续的一段），再插入到所选步骤。")
        return
    result = answerer().retriever.search(query, k=5)
    if result.missing:
        st.warning("；".join(result.missing))
    if not result.hits:
        st.info("没有找到相关条文。")
        return
    for n, hit in enumerate(result.hits):
        with st.container(border=True):
            st.markdown(f"**《{html.escape(hit.short_title or hit.title)}》{html.escape(hit.path)}**")
            st.caption(hit.text[:300] + ("…" if len(hit.text) > 300 else ""))
            quote_key = f"drill_quote_{n}_{hit.chunk_key}"
            st.text_input("原文摘录", value=_first_sentence(hit), key=quote_key)
            st.button("插入", key=f"drill_insert_{n}", icon=":material/add:", on_click=_insert,
                      args=(hit.short_title or hit.title, hit.path, quote_key))


def _count_steps(source: str) -> int:
    """Steps in a source that does not validate yet (so the step picker still works)."""
    return len(re.findall(r"^\s*- prompt:", source, flags=re.MULTILINE))


def _preview(drill: Drill) -> None:
    """The drill as an officer sees it: narrative, then each step's prompt and question, no key."""
    st.subheader(f"预览：{drill.title}")
    st.caption(f"执法人员看到的样子（不显示答案）· {drill.field} · {'、'.join(drill.skills)}")
    with st.container(border=True):
        st.markdown(html.escape(drill.narrative).replace("\n", "<br>"), unsafe_allow_html=True)
    for n, step in enumerate(drill.steps, 1):
        q = step.question
        with st.container(border=True):
            st.markdown(f"**第 {n} 步 · {TYPE_ZH.get(q.qtype, q.qtype)}题**")
            st.markdown(f"*{html.escape(step.prompt)}*")
            st.markdown(html.escape(q.stem))
            for i, option in enumerate(q.options):
                st.markdown(f"{'ABCDEFGH'[i]}. {html.escape(option)}")
            if q.qtype == "blank":
                st.caption("（填空：执法人员填写答案）")


def _show_check(check: drills.DrillCheck) -> None:
    if check.ok and check.drill is not None:
        st.success(f"校验通过：{len(check.drill.steps)} 个步骤，引用的条文和摘录均已与知识库核对。")
    else:
        st.error("校验未通过，请按提示修改：\n\n" + "\n".join(f"- {m}" for m in check.messages))


def _save(db: Session, user: User, choice: str, source: str, resolver: KBResolver) -> drills.SaveResult | None:
    """Save the editor's source; None (and the problems shown) when nothing could be stored."""
    result = drills.save_drill(db, user, source, resolver, code=None if choice == NEW else choice)
    if result.record is None:
        st.error("未保存：\n\n" + "\n".join(f"- {m}" for m in result.messages))
        return None
    st.session_state[NEXT_PICK] = st.session_state[LOADED] = result.record.code
    return result


def _actions(db: Session, user: User, choice: str, row: DrillRecord | None, source: str,
             resolver: KBResolver) -> None:
    save, publish, retire = st.columns(3)
    if save.button("保存草稿", key="drill_save", icon=":material/save:"):
        result = _save(db, user, choice, source, resolver)
        if result is not None:
            note = "已保存为草稿。" if result.changed else "内容没有改动。"
            flash(NOTICE, note + ("（仍有校验问题，修正后才能发布）" if result.messages else ""))
            st.rerun()
    if publish.button("发布", key="drill_publish", type="primary", icon=":material/publish:"):
        result = _save(db, user, choice, source, resolver)
        if result is not None and result.messages:
            st.error("已保存为草稿，但校验未通过，未发布。")
        elif result is not None and result.record is not None:
            try:
                quiz = drills.publish_drill(db, user, result.record.code, resolver)
            except RecordsError as exc:
                db.rollback()
                st.error(zh(exc))
            else:
                flash(NOTICE, f"已发布：执法人员可在「学习与考试」中参加测验「{quiz.title}」（{quiz.code}）。")
                st.rerun()
    if row is not None and row.state != "retired" and retire.button("停用", key="drill_retire",
                                                                      icon=":material/block:"):
        drills.retire_drill(db, user, row.code)
        flash(NOTICE, f"演练 {row.code} 已停用，其测验不再接受新的答题。")
        st.rerun()


def render(db: Session, user: User) -> None:
    st.title("情景演练编辑")
    show_flash(NOTICE)
    rows = drills.list_drills(db, user)
    if rows:
        st.dataframe([{"编号": r.code, "标题": r.title, "执法领域": r.field, "状态": _state_zh(r),
                       "测验": r.quiz.code if r.quiz else "",
                       "更新时间": local_time(r.updated_at)} for r in rows],
                     hide_index=True, width="stretch")
    else:
        st.info("还没有情景演练。下面的模板写好了各字段的说明，改写后保存即可。")
    choice = _pick(rows)
    row = next((r for r in rows if r.code == choice), None)
    if row is not None:
        st.caption(f"状态：{_state_zh(row)}")
    resolver = KBResolver.for_retriever(answerer().retriever)
    editor, side = st.columns([3, 2])
    with editor:
        source = st.text_area("演练内容（YAML）", key=SOURCE, height=560,
                              help="缩进用空格；quote 须逐字摘自所引条文。修改后按 Ctrl+Enter 或点击别处即重新校验。")
        check = drills.check_drill(source, resolver)
        _show_check(check)
        _actions(db, user, choice, row, source, resolver)
    with side:
        _search(check)
    if check.ok and check.drill is not None:
        _preview(check.drill)


run_page(render, permission="content.manage")
