"""Grading one answer (pure functions, no database): what officers type is normalised, then
scored; 多选 all-or-nothing or partial; malformed answers are refused, not scored zero."""

from __future__ import annotations

import pytest

from kb.records.errors import ValidationError
from kb.records.grading import letters_of, normalize, score

ABCD = ["甲", "乙", "丙", "丁"]


@pytest.mark.parametrize("qtype, options, answer, raw, expected", [
    ("single", ABCD, "B", " b ", "B"),
    ("single", ABCD, "B", "Ｂ", "B"),  # full-width, as a Chinese IME types it
    ("multiple", ABCD, "AC", "c,a", "AC"),
    ("multiple", ABCD, "AC", "A、C、A", "AC"),
    ("judge", ["对", "错"], "A", "对", "A"),
    ("judge", ["对", "错"], "A", "错误", "B"),
    ("judge", ["对", "错"], "A", "×", "B"),
    ("blank", [], "十五日", " 十五 日。", "十五日"),
    ("scenario", ["先取证", "先处罚"], "A", "a", "A"),
    ("scenario", [], "责令改正", "责令改正", "责令改正"),
    ("single", ABCD, "B", "", ""),
    ("single", ABCD, "B", None, ""),
])
def test_normalize(qtype, options, answer, raw, expected):
    assert normalize(qtype, options, answer, raw) == expected


@pytest.mark.parametrize("qtype, options, answer, raw, message", [
    ("single", ABCD, "B", "E", "does not name options A–D"),
    ("single", ABCD, "B", "AB", "one option only"),
    ("judge", ["对", "错"], "A", "C", "does not name options A–B"),
    ("multiple", ABCD, "AC", "'; DROP TABLE attempts;--", "does not name options"),
    ("blank", [], "十五日", "x" * 2001, "longer than"),
    ("blank", [], "十五日", "十五\x00日", "control characters"),
])
def test_malformed_answers_are_refused(qtype, options, answer, raw, message):
    with pytest.raises(ValidationError, match=message):
        normalize(qtype, options, answer, raw)


def test_scores():
    assert score("single", ABCD, "B", "B", 1, "all_or_nothing") == 1.0
    assert score("single", ABCD, "B", "C", 1, "partial") == 0.0
    assert score("single", ABCD, "B", "", 1, "partial") == 0.0
    assert score("judge", ["对", "错"], "B", "B", 2, "all_or_nothing") == 2.0
    assert score("blank", [], "十五日", "十五日", 1, "all_or_nothing") == 1.0
    assert score("blank", [], "十五日", "三十日", 1, "all_or_nothing") == 0.0
    # 多选: all or nothing
    assert score("multiple", ABCD, "ACD", "ACD", 1, "all_or_nothing") == 1.0
    assert score("multiple", ABCD, "ACD", "AC", 1, "all_or_nothing") == 0.0
    # 多选: partial, a fraction of the keyed options when nothing wrong is chosen
    assert score("multiple", ABCD, "ACD", "AC", 3, "partial") == 2.0
    assert score("multiple", ABCD, "ACD", "A", 1, "partial") == pytest.approx(1 / 3, abs=1e-4)
    assert score("multiple", ABCD, "ACD", "AB", 1, "partial") == 0.0  # one wrong option: nothing
    assert score("multiple", ABCD, "ACD", "ABCD", 1, "partial") == 0.0
    # a 情景 question keyed with several options is scored like 多选
    assert score("scenario", ABCD, "AB", "A", 2, "partial") == 1.0
    assert letters_of("c, a;A") == "AC"


@pytest.mark.parametrize(("key", "typed", "earned"), [
    ("十五日", "15日", 1.0),
    ("十五日", "１５日", 1.0),
    ("15日", "十五日", 1.0),
    ("二千元", "2000元", 1.0),
    ("一百零五", "105", 1.0),
    ("十五日", "十六日", 0.0),
    ("十五日", "150日", 0.0),
    ("统一", "统一", 1.0),
])
def test_blank_numbers_compare_by_value(key, typed, earned):
    response = normalize("blank", [], key, typed)
    assert score("blank", [], key, response, 1, "all_or_nothing") == earned
