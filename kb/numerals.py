"""Chinese numerals as they appear in legal numbering.

Article numbers are written 第一千二百六十条, 第一百〇五条, 第二十条之一, and officers type
33 or ３３ or 三十三. We convert both ways so a provision has one canonical label.
"""

from __future__ import annotations

import re

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_DIGITS = "零一二三四五六七八九"

CN_NUMERAL = "〇零一二三四五六七八九十百千万两"
CN_NUMERAL_RE = f"[{CN_NUMERAL}]+"
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def cn_to_int(text: str) -> int:
    """Parse 三十三 / 一百〇五 / 一千二百六十 / 十 / 33 / ３３ into an int.

    Raises ValueError for anything that is not a numeral, so callers can treat a failed
    parse as "not a heading" instead of guessing.
    """
    text = text.strip().translate(_FULLWIDTH)
    if not text:
        raise ValueError("empty numeral")
    if text.isdigit():
        return int(text)
    if any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    if all(ch in _DIGITS for ch in text) and len(text) > 1:
        # positional form: 二〇二三
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
            continue
        unit = _UNITS[ch]
        if unit == 10000:
            section = (section + (digit or 0)) * unit
            total += section
            section = 0
        else:
            section += (1 if digit is None else digit) * unit
        digit = None
    return total + section + (digit or 0)


def int_to_cn(n: int) -> str:
    """Format an int the way statutes number articles: 10→十, 15→十五, 105→一百零五.

    Statutes write 一百零五 and 一百〇五 both; we emit 零 and normalise 〇 to 零 when
    comparing labels (see :func:`canonical_label`).
    """
    if n < 0:
        raise ValueError("negative numeral")
    if n < 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + (_CN_DIGITS[n - 10] if n % 10 else "")
    parts: list[str] = []
    units = [(1000, "千"), (100, "百"), (10, "十")]
    remainder = n
    if n >= 10000:
        parts.append(int_to_cn(n // 10000) + "万")
        remainder = n % 10000
        if 0 < remainder < 1000:
            parts.append("零")
    pending_zero = False
    started = bool(parts)
    for value, name in units:
        d = remainder // value
        remainder %= value
        if d:
            if pending_zero:
                parts.append("零")
                pending_zero = False
            parts.append(_CN_DIGITS[d] + name)
            started = True
        elif started:
            pending_zero = True
    if remainder:
        if pending_zero:
            parts.append("零")
        parts.append(_CN_DIGITS[remainder])
    return "".join(parts)


_LABEL_RE = re.compile(rf"第([{CN_NUMERAL}0-9０-９]+)(条|款|项|章|节|编|目)(?:之([{CN_NUMERAL}0-9]+))?")


def canonical_label(label: str) -> str:
    """第33条 / 第三十三条 / 第一百〇五条之一 → 第三十三条 / 第一百零五条之一.

    The one spelling we store and compare, so 〇/零 and digits never split a key.
    """
    m = _LABEL_RE.fullmatch(label.strip())
    if not m:
        return label.strip()
    num, unit, sub = m.groups()
    out = f"第{int_to_cn(cn_to_int(num))}{unit}"
    if sub:
        out += f"之{int_to_cn(cn_to_int(sub))}"
    return out


def label_number(label: str) -> tuple[int, int] | None:
    """(33, 0) for 第三十三条, (20, 1) for 第二十条之一; None when not a numbered label."""
    m = _LABEL_RE.fullmatch(label.strip())
    if not m:
        return None
    num, _unit, sub = m.groups()
    return cn_to_int(num), (cn_to_int(sub) if sub else 0)
