"""情景演练编辑 in AppTest over the populated site: a trainer writes a drill citing
行政处罚法, sees a non-verbatim quote reported in Chinese by step, fixes it, inserts a
provision found by search, previews it as an officer would and publishes it as a quiz of
approved questions; retiring closes the quiz; officers are refused the page."""

from __future__ import annotations

from sqlalchemy import select

from kb.records.models import DrillRecord, Question, Quiz

pytest_plugins = ["tests.app_site"]

CODE = "spot-check-evidence"
GOOD_QUOTE = "quote: 可以先行登记保存，并应当在七日内及时作出处理决定"
BAD_QUOTE = "quote: 可以先行登记保存，并应当在五日内及时作出处理决定"
DRILL = f"""\
id: {CODE}
title: 超市过期食品检查中的证据保全
领域: 市场监管
技能: [现场检查, 调查取证]
narrative: |
  执法人员在超市冷柜发现一批过期酸奶，店长招呼理货员把酸奶搬回仓库。
steps:
  - prompt: 证据可能被转移，执法人员决定采取证据保全措施。
    question:
      type: blank
      stem: 经行政机关负责人批准先行登记保存的，应当在______内及时作出处理决定。
      answer: 七日
      explanation: 行政处罚法第五十六条：可以先行登记保存，并应当在七日内及时作出处理决定。
    feedback: 先行登记保存须经负责人批准，七日内作出处理决定。
    provisions:
      - law: 行政处罚法
        article: 第五十六条
        {GOOD_QUOTE}
  - prompt: 店长表示这是第一次出问题，已当场下架。
    question:
      type: judge
      stem: 初次违法且危害后果轻微并及时改正的，应当给予行政处罚。
      answer: 错
      explanation: 第三十三条：初次违法且危害后果轻微并及时改正的，可以不予行政处罚。
    feedback: 首违可以不罚，但要教育。
    provisions:
      - law: 处罚法
        article: 第33条
        quote: 初次违法且危害后果轻微并及时改正的，可以不予行政处罚
"""


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def markdown(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_an_officer_typing_the_page_address_is_refused(site):
    at = site.app("demo.officer1", file="views/drill_editor.py")
    assert not at.exception
    assert "无权访问此页面" in at.error[0].value


def test_the_editor_starts_from_a_commented_template(site):
    at = site.app("demo.trainer", "views/drill_editor.py")
    assert not at.exception and at.title[0].value == "情景演练编辑"
    assert at.text_area(key="drill_source").value.startswith("id: my-drill")
    # the template parses and its provision resolves, but its example texts are not a drill
    assert "标题：仍是模板的示例文字「演练标题」，请改写为本演练的内容" in errors(at)
    assert "第 1 步 · 题目 · 选项 1：仍是模板的示例文字「选项一」，请改写为本演练的内容" in errors(at)
    assert not any("校验通过" in s.value for s in at.success)  # so 发布 refuses it


def test_write_fix_preview_and_publish_a_drill(site):
    at = site.app("demo.trainer", "views/drill_editor.py")
    at.text_area(key="drill_source").set_value(DRILL.replace(GOOD_QUOTE, BAD_QUOTE)).run()
    assert not at.exception
    assert "第 18 行 · 第 1 步 · 依据条文 1 · 原文摘录：与行政处罚法第五十六条的条文不一致" in errors(at)
    assert "预览" not in " ".join(h.value for h in at.subheader)

    at.button(key="drill_publish").click().run()
    assert "校验未通过，未发布" in errors(at)
    with site.session() as s:
        record = s.scalar(select(DrillRecord).where(DrillRecord.code == CODE))
        assert record.state == "draft" and record.quiz_id is None and "五日内" in record.source

    at.text_area(key="drill_source").set_value(DRILL).run()
    assert not errors(at) and "校验通过：2 个步骤" in " ".join(s.value for s in at.success)
    shown = markdown(at)
    assert "执法人员在超市冷柜发现一批过期酸奶" in shown and "证据可能被转移" in shown
    assert "经行政机关负责人批准先行登记保存的" in shown and "七日" not in shown.split("证据可能被转移")[1]

    at.button(key="drill_publish").click().run()
    assert not at.exception and "已发布" in at.success[0].value
    with site.session() as s:
        record = s.scalar(select(DrillRecord).where(DrillRecord.code == CODE))
        assert record.state == "published" and record.quiz is not None
        quiz = record.quiz
        assert quiz.selection["drill"] == CODE and quiz.selection["narrative"].startswith("执法人员在超市冷柜")
        assert [i.key for i in quiz.items] == [f"drill:{CODE}:1", f"drill:{CODE}:2"]
        assert quiz.items[0].stem.startswith("证据可能被转移")
        states = s.scalars(select(Question.state).where(Question.key.in_([i.key for i in quiz.items]))).all()
        assert states == ["approved", "approved"]
    assert at.selectbox(key="drill_pick").value == CODE


def test_search_inserts_a_provision_into_the_chosen_step(site):
    at = site.app("demo.trainer", "views/drill_editor.py")
    at.selectbox(key="drill_pick").set_value(CODE).run()
    assert at.text_area(key="drill_source").value.startswith(f"id: {CODE}")
    at.selectbox(key="drill_step").set_value(2).run()
    at.text_input(key="drill_search").set_value("处罚法第五条").run()
    assert not at.exception
    assert any("第五条" in m.value for m in at.markdown)
    [quote] = [t for t in at.text_input if t.key and t.key.startswith("drill_quote_0_")]
    quote.set_value("公正、公开").run()
    at.button(key="drill_insert_0").click().run()
    source = at.text_area(key="drill_source").value
    assert "article: 第五条\n        quote: 公正、公开\n" in source
    assert source.index("article: 第五条") > source.index("首违可以不罚")  # in step 2, not step 1
    assert "校验通过" in " ".join(s.value for s in at.success)


def test_republish_then_retire(site):
    at = site.app("demo.trainer", "views/drill_editor.py")
    at.selectbox(key="drill_pick").set_value(CODE).run()
    edited = at.text_area(key="drill_source").value.replace("店长表示这是第一次出问题", "店长说这是第一次出问题")
    at.text_area(key="drill_source").set_value(edited).run()
    at.button(key="drill_publish").click().run()
    assert not at.exception and "已发布" in at.success[0].value
    with site.session() as s:
        record = s.scalar(select(DrillRecord).where(DrillRecord.code == CODE))
        versions = s.scalars(select(Quiz).where(Quiz.code.like(f"drill-{record.id}-v%")).order_by(Quiz.id)).all()
        assert [q.active for q in versions] == [False, True] and record.quiz_id == versions[-1].id
    at.button(key="drill_retire").click().run()
    assert not at.exception and "已停用" in at.success[0].value
    with site.session() as s:
        record = s.scalar(select(DrillRecord).where(DrillRecord.code == CODE))
        assert record.state == "retired" and not record.quiz.active
