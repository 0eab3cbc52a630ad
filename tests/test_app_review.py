"""题库审核 in AppTest over the populated site (its demo questions are approved): batch
approve / retire / back to draft, an edit checked against the source, a flagged question
shown beside the text in force and re-pinned, answer feedback marked handled, and officers
refused the page."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from kb.quiz.stems import text_hash
from kb.records.feedback import record_feedback
from kb.records.ledger import LOCAL_TZ
from kb.records.models import AnswerFeedback, AuditEntry, User
from kb.records.questions import get_question, list_questions, save_questions, to_model

pytest_plugins = ["tests.app_site"]


def state_of(site, key: str) -> str:
    with site.session() as s:
        return get_question(s, key).state


def keys(site, state: str, qtype: str | None = None) -> list[str]:
    with site.session() as s:
        return [q.key for q in list_questions(s, state=state) if qtype is None or q.qtype == qtype]


def trainer(s):
    return s.scalar(select(User).where(User.username == "demo.trainer"))


def test_an_officer_typing_the_page_address_is_refused(site):
    at = site.app("demo.officer1", file="views/review.py")
    assert not at.exception
    assert "无权访问此页面" in at.error[0].value
    with site.session() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused",
                                                     AuditEntry.action == "content.manage")).all()
    assert refused


def test_states_with_counts_and_the_questions_shown_with_key_and_source(site):
    approved = keys(site, "approved")
    at = site.app("demo.trainer", "views/review.py")
    assert not at.exception and at.title[0].value == "题库审核"
    radio = at.radio(key="review_state")
    assert radio.value == "approved"  # no drafts on the site: it opens on the first state that has some
    assert f"已通过（{len(approved)}）" in radio.options
    radio.set_value("approved").run()
    shown = " ".join(c.label for c in at.checkbox if c.key and c.key.startswith("review_pick_"))
    assert approved[0] in shown
    text = " ".join(m.value for m in at.markdown)
    assert "**答案：**" in text and "**出处：** 《" in text and "<mark>" in text
    at.multiselect(key="review_types").set_value(["judge"]).run()
    picks = [c.key for c in at.checkbox if c.key and c.key.startswith("review_pick_")]
    assert picks and all(get_kind(site, k.removeprefix("review_pick_")) == "judge" for k in picks)


def get_kind(site, key: str) -> str:
    with site.session() as s:
        return get_question(s, key).qtype


def test_retire_back_to_draft_and_approve_several_at_once(site):
    first, second = keys(site, "approved")[:2]
    at = site.app("demo.trainer", "views/review.py")
    at.radio(key="review_state").set_value("approved").run()
    at.checkbox(key=f"review_pick_{first}").check()
    at.checkbox(key=f"review_pick_{second}").check()
    at.button(key="review_retire").click().run()
    assert not at.exception and "已将 2 道题设为「已停用」" in at.success[0].value
    assert (state_of(site, first), state_of(site, second)) == ("retired", "retired")

    at.radio(key="review_state").set_value("retired").run()
    at.checkbox(key=f"review_pick_{first}").check()
    at.button(key="review_to_draft").click().run()
    assert (state_of(site, first), state_of(site, second)) == ("draft", "retired")

    at.radio(key="review_state").set_value("draft").run()
    at.button(key="review_approve").click().run()
    assert "请先勾选" in at.warning[0].value and state_of(site, first) == "draft"
    at.checkbox(key=f"review_pick_{first}").check()
    at.button(key="review_approve").click().run()
    assert state_of(site, first) == "approved"
    with site.session() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "questions.approve",
                                                 AuditEntry.target == f"question:{first}")) is not None


def test_an_edit_is_checked_against_the_source_and_goes_back_to_draft(site):
    key = keys(site, "approved")[0]
    with site.session() as s:
        before = get_question(s, key)
        explanation, quote = before.explanation, before.sources[0]["quote"]
    at = site.app("demo.trainer", "views/review.py")
    at.radio(key="review_state").set_value("approved").run()
    at.button(key=f"review_edit_{key}").click().run()
    assert at.text_area(key="review_edit_explanation").value == explanation

    at.text_area(key="review_edit_explanation").set_value("见行政处罚法相关规定。").run()
    at.button(key="review_edit_save").click().run()
    assert "修改未保存" in at.error[0].value and "解析中须保留出处引文原文" in at.error[0].value
    assert state_of(site, key) == "approved"

    at.text_area(key="review_edit_explanation").set_value(explanation + "\n教员补充：注意适用条件。").run()
    at.button(key="review_edit_save").click().run()
    assert not at.exception and "已回到「待审核」" in at.success[0].value
    with site.session() as s:
        after = get_question(s, key)
        assert after.state == "draft" and after.explanation.endswith("教员补充：注意适用条件。")
        assert after.sources[0]["quote"] == quote


def test_a_flagged_question_shows_both_texts_and_can_be_repinned_and_approved(site):
    key = keys(site, "approved")[-1]
    with site.session() as s:
        q = to_model(get_question(s, key))
        old = dataclasses.replace(q.sources[0], text_hash=text_hash("旧版本的条文"))
        save_questions(s, trainer(s), [dataclasses.replace(q, sources=[old], flagged=True)], source="test")
    at = site.app("demo.trainer", "views/review.py")
    assert not at.exception
    assert any(t.label.startswith("来源变更（1）") for t in at.tabs)
    text = " ".join(m.value for m in at.markdown)
    assert "**出题时依据的条文**" in text and "**现行条文**" in text
    assert any("出题时引用的原文" in c.value for c in at.caption)
    assert any("仍在现行条文中" in i.value for i in at.info)
    at.button(key=f"review_repin_{key}").click().run()
    assert not at.exception and "已按现行条文更新出处并通过审核" in at.success[0].value
    with site.session() as s:
        row = get_question(s, key)
        assert (row.state, row.flagged) == ("approved", False)
        assert row.sources[0]["text_hash"] != old.text_hash


def test_answer_feedback_is_listed_and_marked_handled(site):
    with site.session() as s:
        officer = s.scalar(select(User).where(User.username == "demo.officer2"))
        row = record_feedback(s, officer, "先行登记保存多少天内处理？", "应当在七日内及时作出处理决定。", "extractive",
                              ["《行政处罚法》第五十六条"], -1, "没有说明谁批准")
        fid = row.id
    at = site.app("demo.trainer", "views/review.py")
    text = " ".join(m.value for m in at.markdown)
    assert "👎 **先行登记保存多少天内处理？**" in text and "没有说明谁批准" in text
    assert "《行政处罚法》第五十六条" in text and "应当在七日内及时作出处理决定。" in text
    caption = next(c.value for c in at.caption if "回答方式" in c.value)
    assert "回答方式：条文摘录" in caption  # the mode in Chinese, not its code
    with site.session() as s:
        at_utc = s.get(AnswerFeedback, fid).at
    assert at_utc.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") in caption  # UTC+8, as on every page
    at.button(key=f"review_fb_done_{fid}").click().run()
    assert not at.exception and "已标记为已处理" in at.success[0].value
    with site.session() as s:
        assert s.get(AnswerFeedback, fid).reviewed
    assert not any(b.key == f"review_fb_done_{fid}" for b in at.button)
