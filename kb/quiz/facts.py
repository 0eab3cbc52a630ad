"""The facts an officer must get exactly right: deadlines, amounts, multiples, head counts,
the deciding body, the procedure.

A fact is a span of a sentence with a *kind* and a *shape*. Distractors are drawn from
facts of the same kind and shape elsewhere in the knowledge base (a deadline in days for a
deadline in days, a fine range for a fine range), so a wrong option is never absurd on its
face. ``equivalent`` catches spellings of the same value (两名 / 二名), which would make a
"distractor" correct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.numerals import cn_to_int

# A numeral starts with a digit or 十 (「百年大计」 is not a duration).
_N = "[一二三四五六七八九十两][〇零一二三四五六七八九十百千两]*"  # counts and durations
_A = "[一二三四五六七八九十两][〇零一二三四五六七八九十百千万两]*"  # money may run to 万
_DAY = rf"{_N}(?:个工作日|个月|工作日|日|天|小时|年)"

# Order matters: ranges before their single ends, so 「十日以上十五日以下」 is one fact.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("percent", re.compile(rf"百分之{_N}(?:以上百分之{_N}以下|至百分之{_N})|百分之{_N}(?:以上|以下)?")),
    ("multiple", re.compile(rf"{_N}倍以上{_N}倍以下|{_N}倍(?:以上|以下)?")),
    ("amount", re.compile(rf"{_A}元以上{_A}元以下|{_A}元(?:以上|以下)?")),
    ("deadline", re.compile(rf"(?<![第上每])(?:{_DAY}以上{_DAY}以下|{_DAY}(?:内|以内|以上|以下)?)")),
    ("count", re.compile(rf"(?<![第每])(?:{_N}至)?{_N}(?:名|人)(?:以上|以下)?")),
    ("body", re.compile(r"国务院|(?:省、自治区、直辖市|设区的市级以上|设区的市级|县级以上|县级|乡、镇|乡镇)"
                        r"(?:地方)?人民政府")),
    ("procedure", re.compile(r"简易程序|普通程序|听证程序|一般程序")),
]
KIND_ZH = {"percent": "比例", "multiple": "倍数", "amount": "金额", "deadline": "期限",
           "count": "人数", "body": "机关", "procedure": "程序"}
_NUMERAL_RUN = re.compile(_A)


@dataclass(frozen=True)
class Fact:
    kind: str
    shape: str  # facts with the same kind and shape can stand in for each other
    value: str  # verbatim
    start: int  # offsets in the sentence
    end: int


def _shape(kind: str, value: str) -> str:
    if kind in {"body", "procedure"}:
        return kind
    ranged = "range" if ("以上" in value and "以下" in value) or "至" in value else ""
    bound = "" if ranged else next((b for b in ("以内", "内", "以上", "以下") if value.endswith(b)), "")
    unit = ""
    if kind == "deadline":
        unit = next(u for u in ("个工作日", "个月", "工作日", "日", "天", "小时", "年") if u in value)
        unit = {"天": "日", "工作日": "个工作日"}.get(unit, unit)
        bound = {"以内": "内"}.get(bound, bound)
    elif kind == "amount":
        unit = "万元" if "万元" in value else "元"
    elif kind == "count":
        unit = "名" if "名" in value else "人"
    return f"{kind}:{unit}:{ranged or bound}"


def find_facts(sentence: str) -> list[Fact]:
    """Non-overlapping facts of ``sentence``, in order of appearance."""
    taken: list[tuple[int, int]] = []
    found: list[Fact] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(sentence):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            if kind == "count" and not _plausible_count(sentence, m):
                continue
            taken.append((m.start(), m.end()))
            found.append(Fact(kind, _shape(kind, m.group(0)), m.group(0), m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def _plausible_count(sentence: str, m: re.Match[str]) -> bool:
    """「一人」 is mostly 一人有限责任公司 or 每一人; a count worth asking names two or more."""
    value = m.group(0)
    if value.startswith("一") and "至" not in value:
        return False
    after = sentence[m.end():m.end() + 1]
    return after not in {"民", "次", "身", "大", "员"}


def fact_kind(value: str) -> tuple[str, str] | None:
    """(kind, shape) when the whole of ``value`` is one fact, else None."""
    facts = find_facts(value)
    if len(facts) == 1 and facts[0].value == value:
        return facts[0].kind, facts[0].shape
    return None


def canonical(value: str) -> str:
    """A spelling-independent form: numerals as integers, 地方/以内 dropped, 天→日."""

    def num(m: re.Match[str]) -> str:
        try:
            return str(cn_to_int(m.group(0)))
        except ValueError:
            return m.group(0)

    out = _NUMERAL_RUN.sub(num, value)
    return out.replace("地方", "").replace("以内", "内").replace("天", "日").replace("乡、镇", "乡镇")


def equivalent(a: str, b: str) -> bool:
    """Whether two fact values say the same thing (两名以上 / 二名以上)."""
    return canonical(a) == canonical(b)
