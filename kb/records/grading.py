"""Grading one answer: normalising what an officer typed or clicked, and scoring it.

Pure functions, no database. Choice questions (单选, 多选, 判断, and 情景 with options) are
answered with option letters; 填空 (and 情景 without options) with text.

- 单选/判断: one letter; 判断 also takes 对/错, 正确/错误, √/×, T/F (对 is A, 错 is B).
- 多选: letters in any order and case, with or without separators (``A,C`` ``ca`` ``A、C``).
  ``all_or_nothing``: the full points only for exactly the keyed set. ``partial``: no credit
  if any chosen option is wrong; otherwise points × chosen keyed options ÷ all keyed options.
- 填空: compared after NFKC (full-width → half-width), with whitespace and a trailing
  full stop removed, and numbers compared by value: 「十五日」「15日」「１５日」 are one answer,
  as are 「二千元」 and 「2000元」 (statutes write numbers in Chinese, officers type digits);
  otherwise exact.

An empty response is "not answered" and earns nothing. A response naming an option that does
not exist, or several letters for a one-letter question, is refused with ValidationError
rather than silently scored zero: it is a client bug or tampering, not an answer.
"""

from __future__ import annotations

import re
import unicodedata

from kb.numerals import CN_NUMERAL_RE, cn_to_int
from kb.records.errors import ValidationError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
JUDGE_WORDS = {"对": "A", "正确": "A", "√": "A", "T": "A", "TRUE": "A", "是": "A",
               "错": "B", "错误": "B", "×": "B", "F": "B", "FALSE": "B", "否": "B"}
_SEPARATORS = re.compile(r"[\s,，、;；/|]+")
_SPACE = re.compile(r"\s+")
_CN_NUMBER = re.compile(CN_NUMERAL_RE)
MAX_RESPONSE = 2000


def is_choice(qtype: str, options: list[str]) -> bool:
    """Whether the question is answered with option letters."""
    return qtype in {"single", "multiple", "judge"} or (qtype == "scenario" and bool(options))


def is_multi(qtype: str, answer: str) -> bool:
    """多选, or a 情景 question keyed with more than one option."""
    return qtype == "multiple" or (qtype == "scenario" and len(letters_of(answer)) > 1)


def letters_of(value: str) -> str:
    """Option letters of a keyed answer or a response, upper case, sorted, each once."""
    raw = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or "")).upper()
    return "".join(sorted(set(raw)))


def normalize(qtype: str, options: list[str], answer: str, response: str | None) -> str:
    """The canonical form of ``response`` for this question ("" when unanswered)."""
    text = unicodedata.normalize("NFKC", response or "").strip()
    if len(text) > MAX_RESPONSE:
        raise ValidationError(f"答案过长（最多 {MAX_RESPONSE} 字）/ an answer is longer than {MAX_RESPONSE} characters")
    if any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in "\t\n" for ch in text):
        raise ValidationError("答案含有控制字符 / an answer contains control characters")
    if not text:
        return ""
    if not is_choice(qtype, options):
        return _SPACE.sub("", text).rstrip("。.")
    if qtype == "judge" and text.upper() in JUDGE_WORDS:
        return JUDGE_WORDS[text.upper()]
    chosen = letters_of(text)
    allowed = LETTERS[:len(options)]
    if not chosen or any(ch not in allowed for ch in chosen):
        raise ValidationError(f"答案 {text[:20]!r} 不是有效选项（{allowed[:1]}–{allowed[-1:]}）/ answer "
                              f"{text[:20]!r} does not name options {allowed[:1]}–{allowed[-1:]}")
    if len(chosen) > 1 and not is_multi(qtype, answer):
        raise ValidationError(f"此题只能选一项 / one option only, not {chosen}")
    return chosen


def _numbers_as_digits(text: str) -> str:
    """Every Chinese numeral in ``text`` written in digits (三十日 → 30日); a run that is not a
    number (a lone 万 in a word) is left as it is."""
    def digits(m: re.Match[str]) -> str:
        try:
            return str(cn_to_int(m.group()))
        except ValueError:
            return m.group()

    return _CN_NUMBER.sub(digits, text)


def score(qtype: str, options: list[str], answer: str, response: str, points: int, scoring: str) -> float:
    """Points earned by a normalised ``response`` (see the module docstring for the rules)."""
    if not response:
        return 0.0
    if not is_choice(qtype, options):
        key = _SPACE.sub("", unicodedata.normalize("NFKC", answer)).rstrip("。.")
        return float(points) if response == key or _numbers_as_digits(response) == _numbers_as_digits(key) else 0.0
    key, chosen = set(letters_of(answer)), set(response)
    if chosen == key:
        return float(points)
    if scoring == "partial" and is_multi(qtype, answer) and chosen < key:
        return round(points * len(chosen) / len(key), 4)
    return 0.0
