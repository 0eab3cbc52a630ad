"""The display helpers that turn core messages into what a page shows."""

from __future__ import annotations

import pytest

from app.view import standing, zh


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
