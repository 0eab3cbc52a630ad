"""Who is signed in, for how long, and the sign-in / change-password forms.

The browser tab holds the user's id and a sign-in token; the sign-in and the user row are
re-read from the database on every run, so a deactivated account, a changed role or a password
changed elsewhere takes effect at the next click. The token is also kept in a cookie, so a
reload, a second tab or a bookmark resumes the sign-in instead of asking for the password
again. The rules (30 minutes idle, a working day at most, a password change ending every
sign-in) are the core's (:mod:`kb.records.signins`); activity is counted there too, so a tab
left idle does not sign out another tab of the same browser that is in use. When a sign-in
ends, the sign-in page says why. Password checks, lockout and the audit trail are the core's
as well (:mod:`kb.records.auth`); this module only draws forms and keeps the token.

Single sign-on: when ``[auth]`` is configured in ``.streamlit/secrets.toml``, the sign-in page
offers ``st.login`` (OIDC) too, and the identity provider's ``preferred_username`` (or the
e-mail's local part) must match an existing account; SSO never creates accounts.
"""

from __future__ import annotations

import json
import time

import streamlit as st
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.resources import records
from app.view import zh
from kb.records import signins
from kb.records.errors import RecordsError
from kb.records.models import User

STATE_KEY = "zhifa_auth"
NOTICE_KEY = "zhifa_auth_notice"
DROP_KEY = "zhifa_auth_drop"  # a token that ended here: the browser's cookie goes if it still holds it
COOKIE = "zhifakb_signin"
SIGN_OUT_FAILED = "退出登录未完成：培训记录数据库暂时不可用，请稍后再试。"
TIMED_OUT = "登录已超时（30 分钟无操作），请重新登录。未提交的答题以最近一次保存的答案为准。"
ENDED = {
    "idle": TIMED_OUT,
    "lifetime": "登录已满 12 小时，请重新登录。",
    "inactive": "该账户已停用或不存在，请联系管理员。",
    "unknown": "您的登录已结束（密码已修改或被重置，或已在其他窗口退出），请重新登录。",
}
# Pages keep their widgets' state under these prefixes; signing out forgets all of it (a
# generated password on 管理, a half-typed answer), so the next person at the desk sees none.
PAGE_STATE = ("ask_", "library_", "study_", "review_", "drill_", "hours_", "admin_")


def sign_in_as(db: Session, user: User) -> None:
    """Sign ``user`` in here and give the browser a token to resume with after a reload."""
    token = signins.open_sign_in(db, user)
    st.session_state[STATE_KEY] = {"user_id": user.id, "token": token, "touched": time.time()}
    st.session_state.pop(DROP_KEY, None)


def sign_out(notice: str = "") -> bool:
    """End this browser's sign-in; False if it could not be. The token is ended in the database
    first: should that fail, the person stays signed in (the caller says so) rather than seeming
    signed out while a reload would resume them."""
    state = st.session_state.get(STATE_KEY)
    if state and state.get("token"):
        try:
            with records()() as db:
                signins.end_sign_in(db, state["token"])
        except SQLAlchemyError:
            return False
        st.session_state[DROP_KEY] = state["token"]
    st.session_state.pop(STATE_KEY, None)
    for key in [k for k in st.session_state if str(k).startswith(PAGE_STATE)]:
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if _sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()  # else the identity provider's cookie would sign the same person straight back in
    return True


def current_user(db: Session) -> User | None:
    """The signed-in, active user, or None (never signed in here; the sign-in ended: idle too
    long, a working day old, signed out elsewhere, password changed, account deactivated)."""
    state = st.session_state.get(STATE_KEY)
    if not state:
        return _resume_from_cookie(db)
    resumed = signins.resume(db, state.get("token", ""))
    if resumed.user is None or resumed.user.id != state["user_id"]:
        person = db.get(User, state["user_id"])
        # Deactivating ends the sign-ins too, so an ended one may still have that reason.
        sign_out(ENDED["inactive" if person is None or not person.active else
                       resumed.outcome if resumed.outcome != "ok" else "unknown"])
        return None
    return resumed.user


def _resume_from_cookie(db: Session) -> User | None:
    """A reload or a new tab: the browser's token, if it still signs someone in."""
    token = _cookie()
    if not token:
        return None
    resumed = signins.resume(db, token)
    if resumed.user is None:
        st.session_state[DROP_KEY] = token
        if resumed.outcome != "unknown":  # after a sign-out the old cookie is just stale: say nothing
            st.session_state.setdefault(NOTICE_KEY, ENDED[resumed.outcome])
        return None
    st.session_state[STATE_KEY] = {"user_id": resumed.user.id, "token": token, "touched": time.time()}
    return resumed.user


def _cookie() -> str:
    try:
        return str(st.context.cookies.get(COOKIE) or "")
    except Exception:  # no browser request behind this run (AppTest, a bare script run)
        return ""


def sync_cookie() -> None:
    """Keep the browser's cookie in step with this tab: while signed in it holds this tab's
    token; a token that ended here is removed, but only if the cookie still holds that one (a
    stale tab must not erase the sign-in another tab made since). Drawn on every run, because a
    run cut short by a page switch or a rerun may never reach the browser; the script changes
    nothing when the cookie is already right.

    A session cookie (no expiry): it survives a reload, a second tab and a bookmark, not closing
    the browser, so a shared desk's next user does not find the last one signed in. The 12 hours
    are counted on the server. SameSite=Strict keeps other sites from riding on it; Secure
    whenever the app is served over https."""
    state = st.session_state.get(STATE_KEY)
    token = state.get("token", "") if state else ""
    dropped = "" if token else st.session_state.get(DROP_KEY, "")
    if not (token or dropped):
        return
    pair = json.dumps(f"{COOKIE}={token or dropped}")
    attributes = "'; Path=/; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '')"
    held = f"document.cookie.split('; ').includes({pair})"
    if token:
        script = f"if (!{held}) document.cookie = {pair} + {attributes};"
    else:
        script = f"if ({held}) document.cookie = {json.dumps(COOKIE + '=')} + '; Max-Age=0' + {attributes};"
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def keep_alive() -> None:
    """Count as activity: a timed quiz in progress keeps its taker signed in until its
    deadline, however long they think over a question (its countdown calls this every second;
    the database hears of it once a minute)."""
    state = st.session_state.get(STATE_KEY)
    if state and time.time() - state.get("touched", 0) >= signins.TOUCH_EVERY.total_seconds():
        state["touched"] = time.time()
        with records()() as db:
            signins.touch(db, state["token"])


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
        sign_in_as(db, sso)
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
            sign_in_as(db, user)
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
        sign_in_as(db, user)  # the change ended every sign-in of this user, this browser's too: start afresh
        sync_cookie()
        st.success("密码已修改；其他设备和窗口上的登录已全部退出。")
        if required:
            st.rerun()
