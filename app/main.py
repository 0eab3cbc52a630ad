"""ZhifaKB app entry point (UI only; every rule lives in kb).

Navigation depends on the signed-in user's role (``app/navigation.py``, derived from the
core's permission table). Each page checks the permission again itself (``app/page.py``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.navigation import PAGES, allowed_pages
from app.resources import records
from app.signin import SIGN_OUT_FAILED, change_password_form, current_user, sign_in_page, sign_out, sync_cookie
from app.view import ROLE_ZH
from kb.errors import KBError

st.set_page_config(page_title="执法知库 ZhifaKB", page_icon=":material/balance:", layout="wide")
# Every page's address (and the root's own name), so that one typed, bookmarked or reloaded
# while signed out or before a required password change leads to that form, not to Streamlit's
# English "Page not found"; once signed in, the same address opens the page.
ADDRESSES = ["home", *(Path(f).stem for f, *_ in PAGES)]

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

        st.navigation([st.Page(sign_in, title="登录", icon=":material/login:", url_path="login", default=True),
                       *(st.Page(sign_in, title="登录", url_path=a) for a in ADDRESSES)], position="hidden").run()
        sync_cookie()  # a sign-in that ended here leaves the browser
        st.stop()
    if user.must_change_password:
        def must_change() -> None:
            change_password_form(db, user, required=True)
            if st.button("退出登录（换一个账户）", icon=":material/logout:"):
                if sign_out():
                    st.rerun()
                st.error(SIGN_OUT_FAILED)

        st.navigation([st.Page(must_change, title="修改密码", url_path="password", default=True),
                       *(st.Page(must_change, title="修改密码", url_path=a) for a in ADDRESSES)],
                      position="hidden").run()
        sync_cookie()
        st.stop()
    allowed = allowed_pages(user)
    name, role, unit = user.display_name, ROLE_ZH.get(user.role, user.role), user.unit.name if user.unit else ""

shown = [st.Page(f, title=t, icon=i) for f, t, i, _ in allowed]


def _home() -> None:
    st.switch_page(shown[0])


# Every page's address leads somewhere in Chinese (a typed or bookmarked address would otherwise
# get Streamlit's English "Page not found"). The root opens the first page under its own name,
# because Streamlit serves its default page only at the root and not at its name; a page the role
# may not use is there, hidden from the menu, and its permission check refuses it in Chinese and
# audits the refusal.
hidden = [st.Page(_home, title=allowed[0][1], url_path="home", default=True, visibility="hidden"),
          *(st.Page(f, title=t, icon=i, visibility="hidden") for f, t, i, _ in PAGES if (f, t, i, _) not in allowed)]
page = st.navigation(shown + hidden)
with st.sidebar:
    st.markdown(f"**{name}** · {role}" + (f"  \n{unit}" if unit else ""))
    if st.button("退出登录", icon=":material/logout:"):
        if sign_out("您已退出登录。"):
            st.rerun()
        st.error(SIGN_OUT_FAILED)
    st.caption("执法知库 · 行政执法人员培训知识库")
    sync_cookie()  # this sign-in's token, for a reload or a second tab to resume with
page.run()
