import pytest

from kb.numerals import canonical_label, cn_to_int, int_to_cn, label_number


@pytest.mark.parametrize(("text", "value"), [
    ("一", 1), ("十", 10), ("十五", 15), ("二十", 20), ("三十三", 33), ("一百", 100), ("一百〇五", 105),
    ("一百零五", 105), ("一百一十", 110), ("一千二百六十", 1260), ("一千零五", 1005), ("二〇二三", 2023),
    ("33", 33), ("３３", 33), ("两", 2),
])
def test_cn_to_int(text, value):
    assert cn_to_int(text) == value


@pytest.mark.parametrize("n", [1, 9, 10, 11, 19, 20, 21, 99, 100, 101, 105, 110, 111, 120, 999, 1000, 1001, 1010,
                               1100, 1259, 1260, 10000, 10001])
def test_round_trip(n):
    assert cn_to_int(int_to_cn(n)) == n


def test_statute_spelling():
    assert int_to_cn(110) == "一百一十"
    assert int_to_cn(1260) == "一千二百六十"
    assert int_to_cn(15) == "十五"


def test_not_a_numeral():
    with pytest.raises(ValueError):
        cn_to_int("规定")
    with pytest.raises(ValueError):
        cn_to_int("")


def test_canonical_label():
    assert canonical_label("第33条") == "第三十三条"
    assert canonical_label("第一百〇五条之一") == "第一百零五条之一"
    assert canonical_label("第３款") == "第三款"
    assert canonical_label("总则") == "总则"
    assert label_number("第二十条之一") == (20, 1)
    assert label_number("序言") is None
