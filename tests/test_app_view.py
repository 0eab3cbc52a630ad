"""The display helpers that turn core messages into what a page shows."""

from __future__ import annotations

import pytest

from app.view import headings_and_body, standing, zh


@pytest.mark.parametrize(("message", "shown"), [
    ("无权执行此操作 / not allowed: users.manage (role officer lacks users.manage)", "无权执行此操作"),
    ("证明材料 / evidence note 不能为空 / evidence note is required", "证明材料 不能为空"),
    ("答题时间已到（截止 10:00） / the time limit ended at 10:00", "答题时间已到（截止 10:00）"),
    ("该行有 3 个单元格，表头有 5 列 / has 3 cells, the header has 5", "该行有 3 个单元格，表头有 5 列"),
    ("an English-only message", "an English-only message"),
])
def test_zh_shows_the_chinese_half(message, shown):
    assert zh(Exception(message)) == shown


def test_a_case_is_labelled_a_case_not_in_force():
    assert standing("law", "current", "2021-01-22") == "2021-01-22 · 现行有效"
    assert standing("law", "amended", "2017-09-01") == "2017-09-01 · 已被修订"
    assert standing("case", "current", "") == "典型案例"  # no 「现行有效」, no empty version


@pytest.mark.parametrize(("breadcrumb", "path", "text", "headings", "body"), [
    # a law: the chapter is news, the article number is already in the citation
    ("《行政处罚法》 第四章 行政处罚的管辖和适用 第三十三条", "第三十三条", "第三十三条 违法行为轻微……",
     "第四章 行政处罚的管辖和适用", "第三十三条 违法行为轻微……"),
    # a case: 「裁判结果」 is in the citation; neither the breadcrumb nor the text repeats it
    ("《某停车管理有限责任公司诉……案》 裁判结果", "裁判结果", "裁判结果\n北京市门头沟区人民法院一审认为……",
     "", "北京市门头沟区人民法院一审认为……"),
    # a plan: the citation says only 二、, so the heading line stays in the text (once)
    ("《……指导意见》 二、全面推行行政执法公示制度", "二", "二、全面推行行政执法公示制度\n行政执法公示是……",
     "", "二、全面推行行政执法公示制度\n行政执法公示是……"),
    ("《……指导意见》", "序言", "国办发〔2018〕118号……", "", "国办发〔2018〕118号……"),
])
def test_a_provision_shows_only_the_headings_its_citation_does_not_say(breadcrumb, path, text, headings, body):
    assert headings_and_body(breadcrumb, path, text) == (headings, body)
