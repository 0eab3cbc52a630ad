"""ZhifaKB app entry point (UI only; every rule lives in kb).

Navigation depends on the signed-in user's role (``app/navigation.py``, derived from the
core's permission table). Each page checks the permission again itself (``app/page.py``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.navigation import PAGES, allowed_pages
from app.resources import records
from app.signin import change_password_form, current_user, sign_in_page, sign_out
from app.view import ROLE_ZH
from kb.errors import KBError

st.set_page_config(page_title="执法知库 ZhifaKB", page_icon=":material/balance:", layout="wide")

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

        # Every page's address leads to the sign-in form while signed out (a refreshed or typed
        # address would otherwise get Streamlit's English "Page not found"); once signed in, the
        # same address opens that page if the role may use it.
        st.navigation([st.Page(sign_in, title="登录", icon=":material/login:", url_path="login", default=True),
                       *(st.Page(sign_in, title="登录", url_path=Path(file).stem) for file, *_ in PAGES)],
                      position="hidden").run()
        st.stop()
    if user.must_change_password:
        def must_change() -> None:
            change_password_form(db, user, required=True)

        st.navigation([st.Page(must_change, title="修改密码", url_path="password")], position="hidden").run()
        st.stop()
    allowed = allowed_pages(user)
    name, role, unit = user.display_name, ROLE_ZH.get(user.role, user.role), user.unit.name if user.unit else ""

page = st.navigation([st.Page(f, title=t, icon=i, default=(n == 0)) for n, (f, t, i, _) in enumerate(allowed)])
with st.sidebar:
    st.markdown(f"**{name}** · {role}" + (f"  \n{unit}" if unit else ""))
    if st.button("退出登录", icon=":material/logout:"):
        sign_out("您已退出登录。")
        st.rerun()
    st.caption("执法知库 · 行政执法人员培训知识库")
page.run()
