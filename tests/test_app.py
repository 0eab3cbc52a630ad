"""The app frame and the 问答/法规库 pages in AppTest, over the populated test site."""

from __future__ import annotations

pytest_plugins = ["tests.app_site"]



def test_sign_in_page_refuses_a_wrong_password_without_saying_why(site):
    at = site.app()
    assert at.title[0].value == "执法知库 · 登录"
    at.text_input[0].set_value("admin")
    at.text_input[1].set_value("wrong-password-1")
    at.button[0].click().run()
    assert not at.exception
    assert "用户名或密码错误" in at.error[0].value


def test_sign_in_then_navigation_follows_the_role(site):
    at = site.app()
    at.text_input[0].set_value("demo.officer1")
    at.text_input[1].set_value("Zhifa2026demo")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "智能问答"
    assert "张执法" in at.sidebar.markdown[0].value


def test_a_generated_first_password_must_be_changed_before_anything_else(site):
    from kb.records.people import reset_password

    with site.session() as s:
        from kb.records.models import Operator

        temporary = reset_password(s, Operator(name="test"), "demo.officer5")  # owner must change it
    at = site.app("demo.officer5")
    assert not at.exception and "须先修改密码" in at.info[0].value
    at.text_input[0].set_value(temporary)
    at.text_input[1].set_value("Xinmima2026ok")
    at.text_input[2].set_value("Xinmima2026ok")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "智能问答"


def test_the_required_password_change_can_be_left_for_another_account(site):
    """A generated password's owner who walks away must not leave the next person at that
    browser stuck on their form: 退出登录 is offered there."""
    from kb.records.models import Operator
    from kb.records.people import UserSpec, add_user, reset_password

    with site.session() as s:
        add_user(s, Operator("test"), UserSpec("temp.newcomer", "新同事", "officer", "440100",
                                               password="Chushi2026abc"))
        reset_password(s, Operator("test"), "temp.newcomer")  # someone else's reset: must change
    at = site.app("temp.newcomer")
    assert "须先修改密码" in at.info[0].value
    next(b for b in at.button if b.label == "退出登录（换一个账户）").click().run()
    assert not at.exception and at.title[0].value == "执法知库 · 登录"


def test_idle_session_expires_with_a_message(site):
    import hashlib
    from datetime import timedelta

    from sqlalchemy import update

    from kb.records.models import SignIn, utcnow

    at = site.app("demo.officer1")
    digest = hashlib.sha256(at.session_state["zhifa_auth"]["token"].encode()).hexdigest()
    with site.session() as s:  # 31 minutes without a click, in this tab or any other of the browser
        s.execute(update(SignIn).where(SignIn.token_hash == digest).values(last_seen=utcnow() - timedelta(minutes=31)))
        s.commit()
    at.run()
    assert at.title[0].value == "执法知库 · 登录"
    assert "登录已超时" in at.warning[0].value


def test_changing_ones_password_signs_out_the_other_browsers_and_keeps_this_one(site):
    from kb.records.demo import DEMO_PASSWORD

    office = site.app("demo.officer4", "views/account.py")
    home = site.app("demo.officer4")
    assert home.title[0].value == "智能问答"
    office.text_input[0].set_value(DEMO_PASSWORD)
    office.text_input[1].set_value("Xinmima2026ok")
    office.text_input[2].set_value("Xinmima2026ok")
    office.button[0].click().run()
    assert not office.exception and "其他设备和窗口上的登录已全部退出" in office.success[0].value
    office.switch_page("views/ask.py").run()
    assert office.title[0].value == "智能问答", "this browser stays signed in, with a new token"
    home.run()
    assert home.title[0].value == "执法知库 · 登录" and "密码已修改" in home.warning[0].value


def test_a_page_typed_by_url_is_refused_by_the_core(site):
    at = site.app("demo.officer1", file="views/admin.py")
    assert not at.exception
    assert "无权访问此页面" in at.error[0].value
    from sqlalchemy import select

    from kb.records.models import AuditEntry

    with site.session() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused",
                                                     AuditEntry.action == "documents.manage")).all()
    assert refused, "the refusal is audited"


def test_signed_out_page_asks_to_sign_in(site):
    at = site.app(file="views/study.py")
    assert "请先登录" in at.warning[0].value


def test_ask_page_answers_with_citations(site):
    at = site.app("demo.officer1")
    assert at.title[0].value == "智能问答"
    at.chat_input[0].set_value("罚款决定与罚款收缴分离实施办法第三条").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "[1]" in shown and "第三条" in " ".join(e.label for e in at.expander)
    at.chat_input[0].set_value("护照怎么办理").run()
    assert "知识库中未找到相关依据" in " ".join(m.value for m in at.markdown)
    assert any("回答方式：未作答" in c.value for c in at.caption)


def test_with_a_background_an_abstention_names_the_law_first(site, background_dir, monkeypatch):
    """The note that names a law we do not hold comes before the merely related provisions."""
    from app.resources import close_all

    close_all()  # the configuration changes: the next page run opens a new answerer
    monkeypatch.setenv("KB_BACKGROUND_DIR", str(background_dir))
    try:
        at = site.app("demo.officer1")
        at.chat_input[0].set_value("快递企业违规收寄禁寄物品怎么处罚").run()
        assert not at.exception
        assert "知识库中未找到相关依据" in " ".join(m.value for m in at.markdown)
        assert any("《快递暂行条例》" in i.value for i in at.info)
        kinds = [type(e).__name__ for e in at.main if type(e).__name__ in ("Info", "Expander")]
        assert kinds and kinds[0] == "Info", kinds
    finally:
        close_all()


def test_ask_page_says_how_a_follow_up_was_read_and_ignores_blank_input(site):
    at = site.app("demo.officer1")
    at.chat_input[0].set_value("行政处罚的听证程序是怎样的").run()
    at.chat_input[0].set_value("那听证要提前几天通知？").run()
    assert not at.exception
    read_as = "已结合上一个问题理解为：「行政处罚的听证程序是怎样的 那听证要提前几天通知?」"
    assert any(read_as in c.value for c in at.caption)
    asked = len(at.chat_message)
    at.chat_input[0].set_value("   ").run()
    assert len(at.chat_message) == asked  # no empty bubble, no answer
    assert "请输入要查询的问题。" in [i.value for i in at.info]
    at.chat_input[0].set_value("刑法第二十条规定了什么").run()
    assert "知识库中没有名为《刑法》的文件" in " ".join(m.value for m in at.markdown)


def test_library_page_searches(site):
    at = site.app("demo.officer1", "views/library.py")
    assert not at.exception and at.title[0].value == "法规库"
    at.text_input[0].set_value("罚款收缴").run()
    assert any("罚款决定与罚款收缴分离实施办法" in m.value for m in at.markdown)


def test_library_browses_a_document_by_structure(site):
    at = site.app("demo.officer1", "views/library.py")
    docs = at.selectbox(key="library_doc")
    docs.set_value("行政处罚法@2021-01-22").run()
    assert not at.exception
    at.button(key="library_go_第三十三条").click().run()
    heading = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert "《中华人民共和国行政处罚法》第三十三条" in heading[0]
    assert "违法行为轻微并及时改正" in " ".join(t.value for t in at.text)
    at.button(key="library_next").click().run()
    assert any("第三十四条" in m.value for m in at.markdown if m.value.startswith("#### "))
    assert "以本条为依据的题目" in " ".join(m.value for m in at.markdown)


def test_feedback_on_an_answer_is_stored_for_trainers(site):
    from sqlalchemy import select

    from kb.records.models import AnswerFeedback

    at = site.app("demo.officer2")
    at.chat_input[0].set_value("罚款决定与罚款收缴分离实施办法第三条").run()
    at.feedback(key="ask_vote_0").set_value(0).run()  # 0 is 👎
    at.text_input(key="ask_comment_0").set_value("引用正确，但希望附上罚款收缴流程")
    at.button(key="ask_send_0").click().run()
    assert not at.exception
    assert "已收到您的评价" in " ".join(c.value for c in at.caption)
    with site.session() as s:
        rows = s.scalars(select(AnswerFeedback).where(AnswerFeedback.comment.like("%罚款收缴流程%"))).all()
    assert len(rows) == 1 and rows[0].vote == -1 and rows[0].citations


def _sso_app(site, claims: dict):
    from streamlit.testing.v1 import AppTest

    from tests.app_site import MAIN

    at = AppTest.from_file(MAIN, default_timeout=120)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "zhifakb", "client_secret": "s",
                          "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at.user = claims
    return at.run()


def test_single_sign_on_maps_the_identity_to_an_existing_account(site):
    at = _sso_app(site, {"is_logged_in": False})
    assert any(b.label == "单点登录（统一身份认证）" for b in at.button)
    at = _sso_app(site, {"is_logged_in": True, "preferred_username": "demo.officer1", "email": "z@example.gov.cn"})
    assert not at.exception and at.title[0].value == "智能问答"
    assert "张执法" in at.sidebar.markdown[0].value


def test_single_sign_on_never_creates_accounts(site):
    at = _sso_app(site, {"is_logged_in": True, "email": "stranger@example.gov.cn"})
    assert not at.exception and at.title[0].value == "执法知库 · 登录"
    assert "未在执法知库中登记" in at.error[0].value
