"""The 学习与考试 page in AppTest over the populated demo site: my hours, taking a quiz to the
result with explanations and sources, a failed attempt, a second tab submitting the same
attempt, an attempt whose time ran out, a 情景演练's narrative, and another officer's attempt
refused by the core. Each test uses its own officer or quiz (the site is shared by the module)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from kb.records import grading, ledger
from kb.records.models import Attempt, AttemptAnswer, AuditEntry, LedgerEntry, Quiz, QuizItem, User, utcnow

pytest_plugins = ["tests.app_site"]
PAGE = "views/study.py"


def _user(s, username: str) -> User:
    return s.scalar(select(User).where(User.username == username))


def _quiz(site, code: str, **rules) -> Quiz:
    """A quiz made by the demo trainer from the approved bank: up to two questions of each type."""
    from kb.records.quizzes import QuizSpec, create_quiz, eligible

    with site.session() as s:
        by_type: dict[str, list[str]] = {}
        for q in eligible(s, QuizSpec(code, code)):
            by_type.setdefault(q.qtype, []).append(q.key)
        keys = [k for ks in by_type.values() for k in ks[:2]]
        return create_quiz(s, _user(s, "demo.trainer"), QuizSpec(code, f"页面测验 {code}", question_keys=keys, **rules))


def _hours(site, username: str) -> Decimal:
    with site.session() as s:
        return ledger.total_hours(s, _user(s, username).id, ledger.local_date(utcnow()).year)


def _ledger_lines(site, username: str) -> int:
    with site.session() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id ==
                                                                             _user(s, username).id))


def _fill(at, site, attempt_id: int, *, right: bool) -> None:
    """Answer every question of the paper on screen: the key, or a wrong option / text."""
    with site.session() as s:
        items = s.scalars(select(QuizItem).join(Attempt, Attempt.quiz_id == QuizItem.quiz_id)
                          .where(Attempt.id == attempt_id).order_by(QuizItem.position)).all()
    for item in items:
        key = f"study_q{attempt_id}_{item.position}"
        if not grading.is_choice(item.qtype, item.options):
            at.text_input(key=key).set_value(item.answer if right else "不知道")
            continue
        keyed = grading.letters_of(item.answer)
        letters = keyed if right else next(x for x in grading.LETTERS[:len(item.options)] if x not in keyed)
        if grading.is_multi(item.qtype, item.answer):
            at.multiselect(key=key).set_value(list(letters))
        else:
            at.radio(key=key).set_value(letters)


def _start(site, username: str, code: str):
    """The page signed in as ``username``, with the quiz ``code`` started; (AppTest, attempt id)."""
    at = site.app(username, PAGE)
    at.button(key=f"study_start_{code}").click().run()
    assert not at.exception, at.exception
    return at, at.session_state["study_attempt"]


def _texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander])


def test_an_officer_sees_their_hours_quizzes_and_history(site):
    at = site.app("demo.officer1", PAGE)
    assert not at.exception and at.title[0].value == "学习与考试"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["已获学时"] == "18.00" and metrics["年度目标"] == "60"
    lines = at.dataframe[0].value  # 学时明细, then 答题记录
    assert sorted(lines["学时"]) == ["16.00", "2.00"] and set(lines["类型"]) == {"线下培训", "在线测验"}
    shown = _texts(at)
    assert "行政执法基础知识测验" in shown and "本年度已获得该测验学时 2.00" in shown
    assert "本年度最好成绩：100%（通过）" in shown
    history = at.dataframe[1].value
    assert list(history["结果"]) == ["通过"] and list(history["正确率"]) == ["100%"]


def test_taking_a_quiz_right_credits_the_hours_and_explains_every_answer(site):
    quiz = _quiz(site, "STUDY-PASS", credit_hours=3, time_limit_minutes=30)
    before = _hours(site, "demo.officer3")
    at, aid = _start(site, "demo.officer3", "STUDY-PASS")
    assert "剩余时间" in at.info[0].value  # the countdown to the deadline
    assert at.get("progress")[0].proto.text == f"已保存作答 0 / {len(quiz.items)} 题"
    _fill(at, site, aid, right=True)
    at.button(key="study_save").click().run()
    assert not at.exception and "已保存" in at.success[0].value
    assert at.get("progress")[0].proto.text == f"已保存作答 {len(quiz.items)} / {len(quiz.items)} 题"
    with site.session() as s:
        assert s.scalar(select(func.count()).select_from(AttemptAnswer).where(AttemptAnswer.attempt_id == aid)) == len(
            quiz.items)
    at.button(key="study_submit").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["计入学时"] == "3.00"
    assert any(s.value.startswith("通过") for s in at.success)
    shown = _texts(at)
    assert shown.count("**解析**") == len(quiz.items) and "依据：《" in shown and "❌" not in shown
    assert _hours(site, "demo.officer3") == before + 3
    at.button(key="study_back").click().run()
    assert {m.label: m.value for m in at.metric}["已获学时"] == f"{before + 3:.2f}"


def test_a_failed_attempt_shows_failed_and_credits_nothing(site):
    _quiz(site, "STUDY-FAIL", credit_hours=2)
    before = _ledger_lines(site, "demo.officer4")
    at, aid = _start(site, "demo.officer4", "STUDY-FAIL")
    _fill(at, site, aid, right=False)
    at.button(key="study_submit").click().run()
    assert not at.exception
    assert any(e.value.startswith("未通过") for e in at.error)
    assert {m.label: m.value for m in at.metric}["计入学时"] == "0"
    assert "❌ 错误" in _texts(at) and "**正确答案**" in _texts(at)
    assert _ledger_lines(site, "demo.officer4") == before


def test_a_malformed_answer_is_refused_in_chinese_and_the_paper_stays_as_typed(site):
    quiz = _quiz(site, "STUDY-BAD")
    blank = next(i for i in quiz.items if not grading.is_choice(i.qtype, i.options))
    at, aid = _start(site, "demo.officer2", "STUDY-BAD")
    _fill(at, site, aid, right=True)
    at.text_input(key=f"study_q{aid}_{blank.position}").set_value("十五\x07日")  # a control character
    at.button(key="study_submit").click().run()
    assert not at.exception
    assert "答案含有控制字符" in at.error[0].value and "答案未保存" in at.error[0].value
    assert at.text_input(key=f"study_q{aid}_{blank.position}").value == "十五\x07日"  # still as typed
    assert at.session_state["study_attempt"] == aid
    with site.session() as s:
        assert s.get(Attempt, aid).status == "open"
        assert s.scalar(select(func.count()).select_from(AttemptAnswer).where(AttemptAnswer.attempt_id == aid)) == 0


def test_submitting_again_from_a_second_tab_shows_the_result_and_credits_nothing_more(site):
    _quiz(site, "STUDY-TWICE", credit_hours=1)
    first, aid = _start(site, "demo.officer5", "STUDY-TWICE")
    second, same = _start(site, "demo.officer5", "STUDY-TWICE")  # another tab resumes the attempt
    assert same == aid
    _fill(first, site, aid, right=True)
    first.button(key="study_submit").click().run()
    assert any(s.value.startswith("通过") for s in first.success)
    lines = _ledger_lines(site, "demo.officer5")
    _fill(second, site, aid, right=False)
    second.button(key="study_submit").click().run()
    assert not second.exception
    assert "已经提交" in second.warning[0].value and "不会重复计入" in second.warning[0].value
    assert any(s.value.startswith("通过") for s in second.success)  # the submitted result, not these answers
    assert _ledger_lines(site, "demo.officer5") == lines


def test_an_attempt_whose_time_ran_out_is_graded_on_what_was_saved(site):
    from kb.records.attempts import save_answers, start_attempt

    quiz = _quiz(site, "STUDY-LATE", time_limit_minutes=10, credit_hours="1.5")
    started = utcnow() - timedelta(minutes=20)
    with site.session() as s:
        me = _user(s, "demo.officer2")
        aid = start_attempt(s, me, quiz.code, clock=lambda: started).id
        first = s.scalars(select(QuizItem).where(QuizItem.quiz_id == quiz.id).order_by(QuizItem.position)).first()
        save_answers(s, me, aid, {first.key: first.answer}, clock=lambda: started + timedelta(minutes=1))
    at = site.app("demo.officer2")
    at.session_state["study_attempt"] = aid  # the tab left open on the paper
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "超时未提交" in _texts(at) and "✅ 正确" in _texts(at)
    with site.session() as s:
        done = s.get(Attempt, aid)
        assert done.status == "expired" and done.score == 1.0


def test_a_drill_shows_its_case_narrative_above_the_questions(site):
    quiz = _quiz(site, "STUDY-DRILL")
    with site.session() as s:  # what drill publishing records on its quiz
        narrative = "某超市销售过期食品，执法人员接到举报。"
        s.get(Quiz, quiz.id).selection = {**quiz.selection, "drill": "D1", "narrative": narrative}
        s.commit()
    at = site.app("demo.officer1", PAGE)
    assert "**情景演练 · 页面测验 STUDY\\-DRILL**" in _texts(at)  # its title, Markdown-escaped
    with site.session() as s:  # a published drill's own title: 「情景演练：…」, not said twice
        s.get(Quiz, quiz.id).title = "情景演练：社区超市过期食品"
        s.commit()
    assert "**情景演练：社区超市过期食品**" in _texts(site.app("demo.officer1", PAGE))
    at.button(key="study_start_STUDY-DRILL").click().run()
    assert not at.exception
    shown = _texts(at)
    assert "**案情**" in shown and shown.index("某超市销售过期食品") < shown.index("**第 1 题**")


def test_another_officers_attempt_is_refused_by_the_core(site):
    with site.session() as s:
        theirs = s.scalar(select(Attempt.id).where(Attempt.user_id == _user(s, "demo.officer1").id,
                                                   Attempt.status == "submitted"))
    for view in ("study_result", "study_attempt"):
        at = site.app("demo.officer4")
        at.session_state[view] = theirs
        at.switch_page(PAGE).run()
        assert not at.exception
        assert "无权执行此操作" in at.error[0].value
        assert "**解析**" not in _texts(at) and "study_q" not in " ".join(str(k) for k in at.session_state)
    with site.session() as s:
        refused = s.scalars(select(AuditEntry.action).where(AuditEntry.outcome == "refused",
                                                            AuditEntry.target == f"attempt:{theirs}")).all()
    assert sorted(refused) == ["attempts.view", "users.view"]
