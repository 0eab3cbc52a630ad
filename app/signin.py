"""Who is signed in, for how long, and the sign-in / change-password forms.

The browser session holds only the user's id and when they were last active; the user row is
re-read from the database on every run, so a deactivated account or a changed role takes
effect at the next click. After ``IDLE_LIMIT`` without activity the session ends and the
sign-in page says why. Password checks, lockout and the audit trail are the core's
(:mod:`kb.records.auth`); this module only draws forms and keeps the id.

Single sign-on: when ``[auth]`` is configured in ``.streamlit/secrets.toml``, the sign-in page
offers ``st.login`` (OIDC) too, and the identity provider's ``preferred_username`` (or the
e-mail's local part) must match an existing account; SSO never creates accounts.
"""

from __future__ import annotations

import time

import streamlit as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.view import zh
from kb.records.errors import RecordsError
from kb.records.models import User

STATE_KEY = "zhifa_auth"
NOTICE_KEY = "zhifa_auth_notice"
IDLE_LIMIT_S = 30 * 60
# Pages keep their widgets' state under these prefixes; signing out forgets all of it (a
# generated password on 管理, a half-typed answer), so the next person at the desk sees none.
PAGE_STATE = ("ask_", "library_", "study_", "review_", "drill_", "hours_", "admin_")


def sign_in_as(user: User) -> None:
    st.session_state[STATE_KEY] = {"user_id": user.id, "last_seen": time.time()}


def sign_out(notice: str = "") -> None:
    st.session_state.pop(STATE_KEY, None)
    for key in [k for k in st.session_state if str(k).startswith(PAGE_STATE)]:
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE_KEY] = notice


def current_user(db: Session) -> User | None:
    """The signed-in, active user, or None (the session ended: idle too long, or deactivated)."""
    state = st.session_state.get(STATE_KEY)
    if not state:
        return None
    if time.time() - state.get("last_seen", 0) > IDLE_LIMIT_S:
        sign_out("登录已超时（30 分钟无操作），请重新登录。未提交的答题以最近一次保存的答案为准。")
        return None
    user = db.get(User, state["user_id"])
    if user is None or not user.active:
        sign_out("该账户已停用或不存在，请联系管理员。")
        return None
    state["last_seen"] = time.time()
    return user


def keep_alive() -> None:
    """Count as activity: a timed quiz in progress keeps its taker signed in until its
    deadline, however long they think over a question (its countdown calls this)."""
    state = st.session_state.get(STATE_KEY)
    if state:
        state["last_seen"] = time.time()


def _sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False
    except Exception:  # a malformed secrets.toml must not take the sign-in page down
        return False


def _sso_user(db: Session) -> User | None:
    if not _sso_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    claim = st.user.get("preferred_username") or (st.user.get("email") or "").split("@")[0]
    user = db.scalar(select(User).where(User.username == str(claim).strip().lower())) if claim else None
    if user is None or not user.active:
        st.error(f"单点登录账户「{claim}」未在执法知库中登记或已停用，请联系管理员开通。")
        return None
    return user


def sign_in_page(db: Session) -> None:
    """The page shown to anyone not signed in."""
    from kb.records.auth import authenticate

    st.title("执法知库 · 登录")
    st.caption("行政执法人员培训知识库：法规问答、学习考试、学时记录")
    notice = st.session_state.pop(NOTICE_KEY, "")
    if notice:
        st.warning(notice)
    sso = _sso_user(db)
    if sso is not None:
        sign_in_as(sso)
        st.rerun()
    with st.form("sign_in"):
        username = st.text_input("用户名", max_chars=64)
        password = st.text_input("密码", type="password", max_chars=128)
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            user = authenticate(db, username, password)
        except RecordsError:
            st.error("用户名或密码错误，或账户因多次输错已被暂时锁定（15 分钟后自动解锁）。")
        else:
            sign_in_as(user)
            st.rerun()
    if _sso_configured():
        st.button("单点登录（统一身份认证）", on_click=st.login)


def change_password_form(db: Session, user: User, *, required: bool) -> None:
    """Change one's own password; the old one is checked like a sign-in."""
    from kb.records.people import change_password

    if required:
        st.info("首次登录或密码被重置后，须先修改密码才能继续使用。")
    with st.form("change_password", clear_on_submit=True):
        old = st.text_input("当前密码", type="password", max_chars=128)
        new = st.text_input("新密码（至少 10 位，须含字母和数字）", type="password", max_chars=128)
        again = st.text_input("再输入一次新密码", type="password", max_chars=128)
        submitted = st.form_submit_button("修改密码", type="primary")
    if not submitted:
        return
    if new != again:
        st.error("两次输入的新密码不一致。")
        return
    try:
        change_password(db, user.username, old, new)
    except RecordsError as exc:
        db.rollback()
        st.error(zh(exc))
    else:
        st.success("密码已修改。")
        if required:
            st.rerun()
