"""ZhifaKB app entry point (UI only; every rule lives in kb).

Navigation depends on the signed-in user's role, derived from the core's permission table
(:data:`kb.records.access.PERMISSIONS`), so the menu and the refusals cannot disagree. Each
page checks the permission again itself (see ``app/page.py``).
"""

from __future__ import annotations

import streamlit as st

from app.resources import records
from app.signin import change_password_form, current_user, sign_in_page, sign_out
from app.view import ROLE_ZH
from kb.errors import KBError
from kb.records.access import has_permission

st.set_page_config(page_title="执法知库 ZhifaKB", page_icon=":material/balance:", layout="wide")

# (file, title, icon, permission needed or None for every signed-in user)
PAGES: list[tuple[str, str, str, str | None]] = [
    ("views/ask.py", "智能问答", ":material/forum:", None),
    ("views/library.py", "法规库", ":material/menu_book:", None),
    ("views/study.py", "学习与考试", ":material/school:", "quiz.take"),
    ("views/review.py", "题库审核", ":material/fact_check:", "content.manage"),
    ("views/drill_editor.py", "情景演练编辑", ":material/theater_comedy:", "content.manage"),
    ("views/hours.py", "学时统计", ":material/monitoring:", "records.export"),
    ("views/admin.py", "管理", ":material/settings:", "documents.manage"),
    ("views/account.py", "我的账户", ":material/person:", None),
]

try:
    factory = records()
except KBError as exc:
    st.error(f"培训记录数据库无法打开：{exc}")
    st.stop()

with factory() as db:
    user = current_user(db)
    if user is None:
        def sign_in() -> None:
            sign_in_page(db)

        st.navigation([st.Page(sign_in, title="登录", icon=":material/login:", url_path="login")],
                      position="hidden").run()
        st.stop()
    if user.must_change_password:
        def must_change() -> None:
            change_password_form(db, user, required=True)

        st.navigation([st.Page(must_change, title="修改密码", url_path="password")], position="hidden").run()
        st.stop()
    allowed = [p for p in PAGES if p[3] is None or has_permission(user, p[3])]
    name, role, unit = user.display_name, ROLE_ZH.get(user.role, user.role), user.unit.name if user.unit else ""

page = st.navigation([st.Page(f, title=t, icon=i, default=(n == 0)) for n, (f, t, i, _) in enumerate(allowed)])
with st.sidebar:
    st.markdown(f"**{name}** · {role}" + (f"  \n{unit}" if unit else ""))
    if st.button("退出登录", icon=":material/logout:"):
        sign_out("您已退出登录。")
        st.rerun()
    st.caption("执法知库 · 行政执法人员培训知识库")
page.run()
