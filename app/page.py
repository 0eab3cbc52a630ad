"""The frame every page runs in: a database session for this run, the signed-in user, the
core's permission check, and core errors shown in Chinese instead of a traceback.

A page file ends with ``run_page(render, permission=...)``. The permission check is the
core's (:func:`kb.records.access.require`, which audits a refusal), so typing another role's
page address refuses access even though the navigation never offered it.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlalchemy.orm import Session

from app.resources import records
from app.signin import current_user
from app.view import zh
from kb.errors import KBError
from kb.records.errors import AccessDenied
from kb.records.models import User

Render = Callable[[Session, User], None]


def run_page(render: Render, *, permission: str | None = None) -> None:
    with records()() as db:
        user = current_user(db)
        if user is None:
            st.warning("请先登录。")
            st.stop()
        if permission is not None:
            from kb.records import access

            try:
                access.require(db, user, permission, target="page")
            except AccessDenied:
                st.error("无权访问此页面：您的账户角色没有这项权限。如需开通请联系管理员。")
                st.stop()
        try:
            render(db, user)
        except KBError as exc:  # a refusal or bad input the core caught; nothing was changed
            db.rollback()
            st.error(zh(exc))
