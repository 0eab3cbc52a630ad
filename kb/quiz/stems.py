"""How generated stems are written, in one place, so the generator and the validator agree
on where a blank is and where a judged statement begins."""

from __future__ import annotations

import hashlib
import re

from kb.citation import render_path

BLANK = "______"  # 填空: the officer writes the missing words
CHOICE = "（　）"  # 单选 / 多选: the officer picks options
JUDGE_OPTIONS = ["对", "错"]
LETTERS = "ABCDEFGH"
_JUDGE_PREFIX = re.compile(r"^根据《[^》]+》(?:[^，]{0,20})?的?规定，")


def cite(short_title: str, path: str) -> str:
    """《行政处罚法》第三十三条 — how stems and explanations name a provision."""
    rendered = render_path(path)
    return f"《{short_title}》{rendered}" if rendered and rendered != "序言" else f"《{short_title}》"


def slot_stem(short_title: str, path: str, quote: str, start: int, end: int, marker: str, lead: str = "") -> str:
    """「根据《X》第N条的规定，…______…。」: the quote with the span [start, end) blanked.
    An item of a list gets its list's ``lead`` first, else 「机动车行驶超过规定时速______的」
    has no subject."""
    context = f"{lead}：……" if lead else ""
    return f"根据{cite(short_title, path)}的规定，{context}{quote[:start]}{marker}{quote[end:]}。"


def judge_stem(short_title: str, statement: str) -> str:
    """「根据《X》的规定，<statement>。」 No article number: the officer should know the rule,
    not look it up by its number."""
    return f"根据《{short_title}》的规定，{statement}。"


def judge_statement(stem: str) -> str:
    """The statement being judged: the stem without its 「根据《X》的规定，」 frame."""
    return _JUDGE_PREFIX.sub("", stem, count=1).rstrip("。")


def letter(index: int) -> str:
    return LETTERS[index]


def option_index(answer_letter: str) -> int:
    return LETTERS.index(answer_letter)


def question_id(qtype: str, chunk_key: str, stem: str) -> str:
    """Stable across runs: the same question from the same provision keeps its id, so the
    records database can match it after a re-generation."""
    digest = hashlib.sha256(f"{qtype}\x1f{chunk_key}\x1f{stem}".encode()).hexdigest()
    return f"q-{digest[:16]}"


def text_hash(text: str) -> str:
    """What a SourceRef pins: sha256 of the chunk text the question was made from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
