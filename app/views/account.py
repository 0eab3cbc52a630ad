"""我的账户: who I am, my unit and fields, and changing my password."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.signin import change_password_form
from app.view import ROLE_ZH
from kb.records.models import User


def render(db: Session, user: User) -> None:
    st.title("我的账户")
    st.markdown(f"**{user.display_name}**（{user.username}）· {ROLE_ZH.get(user.role, user.role)}")
    if user.unit:
        st.markdown(f"单位：{user.unit.name}（{user.unit.code}）")
    if user.cert_no:
        st.markdown(f"执法证号：{user.cert_no}")
    st.subheader("修改密码")
    change_password_form(db, user, required=False)


run_page(render)
