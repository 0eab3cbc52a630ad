"""The single changes that turn a true sentence of the law into a false one.

Only the modal that carries the rule may be swapped: in 「…的，应当在五日内进行审查」 the
应当 is the rule, but in 「自知道或者应当知道…之日起」 or 「对应当通过劳动争议处理程序解决
的事项」 it is part of a fixed phrase or of a noun phrase, and swapping it gives a statement
that is not clearly false. The generator plants changes only where :func:`swap_positions`
allows, and the validator accepts only those, so both follow one rule.
"""

from __future__ import annotations

import re

PLANTED_SWAPS: tuple[tuple[str, str], ...] = (
    ("不得", "可以"), ("应当", "可以"), ("可以", "应当"), ("必须", "可以"), ("有权", "无权"), ("不予", "给予"),
)
_FIXED_AFTER = ("知道", "预见", "预料")  # 应当知道: a standard of knowledge, not a duty
_NOUN_PHRASE = re.compile(r"的(?:事项|情形|人员|行为|单位|案件|财物|内容|材料|证据|期间|期限|理由|决定|通知)")
_CLAUSE_END = "，；。：,;"
_GRANTABLE = ("行政处罚", "处罚", "赔偿", "补偿", "奖励")  # what 给予 can take


def _clause(text: str, start: int, end: int) -> tuple[str, str]:
    """The parts of the comma-clause before and after the span [start, end)."""
    left = max(text.rfind(ch, 0, start) for ch in _CLAUSE_END) + 1
    ends = [i for i in (text.find(ch, end) for ch in _CLAUSE_END) if i >= 0]
    right = min(ends) if ends else len(text)
    return text[left:start], text[end:right]


def swap_positions(text: str) -> list[tuple[str, str, int]]:
    """(original, planted, offset) for every modal in ``text`` that states the rule."""
    out: list[tuple[str, str, int]] = []
    for old, new in PLANTED_SWAPS:
        start = text.find(old)
        while start >= 0:
            before, after = _clause(text, start, start + len(old))
            # 可以（从轻、减轻或者）不予 → 给予 is still true (discretion both ways); 不予受理决定 is a name
            # of a document, and 给予受理 is no statement at all.
            wrong_negation = old == "不予" and ("可以" in before or not after.startswith(_GRANTABLE))
            # 有权机关 / 有权更正的行政机关 / 有权必有责 name a body or a maxim, not a right.
            not_a_right = old == "有权" and (after.startswith(("机关", "部门", "单位", "必")) or "的" in after)
            if not (wrong_negation or not_a_right or before.endswith(("不", "对", "将", "把"))
                    or after.startswith(_FIXED_AFTER) or after.endswith("的") or _NOUN_PHRASE.search(after)):
                out.append((old, new, start))
            start = text.find(old, start + 1)
    return out
