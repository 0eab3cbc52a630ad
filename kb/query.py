"""Query analysis: find explicit references before any vector search.

「处罚法第三十三条」「行诉法33条」「《行政许可法》第四十二条第二款」「安法第94条」 name one
provision; looking it up directly is exact where a similarity search is only likely.
Names come from the library (titles, short titles, aliases), numbers may be Chinese,
Arabic or full-width.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import jieba.posseg

from kb.numerals import CN_NUMERAL, cn_to_int, int_to_cn

MAX_QUERY_CHARS = 500
_NUM = f"[{CN_NUMERAL}0-9]+"
_ARTICLE = re.compile(rf"第?\s*({_NUM})\s*条(?:之\s*({_NUM}))?(?:\s*第?\s*({_NUM})\s*款)?")


@dataclass(frozen=True)
class Reference:
    """An explicit pointer: a document name and optionally an article (and 款)."""

    name: str  # as matched in the query (an alias, short or full title)
    article: str | None  # canonical 第三十三条 / 第二十条之一
    paragraph: int | None
    span: tuple[int, int]


def normalize_query(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), collapse white space, cap the length.

    A 5,000-character paste is cut, not rejected: the opening usually holds the question.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_QUERY_CHARS]


@lru_cache(maxsize=1)
def _jargon() -> list[tuple[str, str]]:
    """(name, statute wording) from ``resources/jargon.tsv``, longest name first."""
    text = resources.files("kb.resources").joinpath("jargon.tsv").read_text(encoding="utf-8")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            names, wording, *_ = line.split("\t")
            pairs.extend((n.strip(), wording.strip()) for n in names.split(",") if n.strip())
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def jargon_in(question: str) -> list[tuple[str, str]]:
    """The officers' names for rules (首违不罚) in ``question``, each with the statute's own
    wording for it: e5 and the word index know the wording, not the name."""
    found: list[tuple[str, str]] = []
    for name, wording in _jargon():
        if name in question and wording not in question and all(name not in n for n, _ in found):
            found.append((name, wording))
    return found


def with_jargon(question: str) -> str:
    """``question`` with the statute's wording added for each officers' name it uses."""
    return " ".join([question, *dict.fromkeys(w for _, w in jargon_in(question))])


def find_references(query: str, names: list[str]) -> list[Reference]:
    """References in ``query`` to any of ``names`` (longest names tried first)."""
    if not names:
        return []
    alternation = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    pattern = re.compile(rf"《?({alternation})》?\s*(?:的\s*)?")
    refs: list[Reference] = []
    pos = 0
    while True:
        m = pattern.search(query, pos)
        if not m:
            break
        run = _CJK_RUN.search(query, 0, m.start())
        if run and not m.group(0).startswith("《") and not _names_the_same_law(
                _name_words(run.group() + m.group(1)), m.group(1)):
            pos = m.end()  # 诉讼法 inside 刑事诉讼法: another law, not this one
            continue
        art = _ARTICLE.match(query, m.end())
        if art:
            number = cn_to_int(art.group(1))
            label = f"第{int_to_cn(number)}条"
            if art.group(2):
                label += f"之{int_to_cn(cn_to_int(art.group(2)))}"
            paragraph = cn_to_int(art.group(3)) if art.group(3) else None
            refs.append(Reference(m.group(1), label, paragraph, (m.start(), art.end())))
            pos = art.end()
        else:
            refs.append(Reference(m.group(1), None, None, (m.start(), m.end())))
            pos = m.end()
    return refs


_LAW_KINDS = ("法", "法典", "条例", "规定", "办法", "细则", "规则", "决定", "解释")
_KIND = "|".join(_LAW_KINDS)
_CITED_ARTICLE = re.compile(
    rf"《([^》]{{2,40}})》\s*(?:的\s*)?第?\s*{_NUM}\s*条"
    rf"|([\u4e00-\u9fff]+?(?:{_KIND}))\s*(?:的\s*)?(?:第\s*{_NUM}|[0-9]+)\s*条")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+$")
_PRONOUN = re.compile(rf"(本|该|此|其|上述|前述|这个|这部|那部|上位|下位)({_KIND})")
_NAME_PREFIXES = ("中华人民共和国", "修订后的", "现行", "新", "原")
# Parts of speech a law's name is made of (刑事诉讼法 n, 道路 n 运输 vn 条例 n, 海上 s, 刑事 b; x for
# the names the knowledge base taught jieba, which carry no tag), and the verbs that occur inside
# names (复议法实施条例); anything else (请问, 根据, 违反, 新) ends a name.
_NAME_POS = ("n", "vn", "b", "s", "j", "l", "an", "eng", "x")
_NAME_VERBS = {"实施", "暂行", "试行", "管理", "保护", "促进", "保障", "监督", "执行"}


def _name_words(text: str) -> list[tuple[str, str]]:
    """The words (and parts of speech) of the law name ``text`` ends with."""
    words = [(w.word, w.flag) for w in jieba.posseg.cut(text)]
    start = len(words)
    while start > 0 and (words[start - 1][1].startswith(_NAME_POS) or words[start - 1][0] in _NAME_VERBS
                         or words[start - 1][0] in _LAW_KINDS):
        start -= 1
    return words[start:]


def _bare(name: str) -> str:
    """Without 中华人民共和国/新/原 in front or a （2021修订） behind: the name as the library lists it."""
    name = re.sub(r"[（(][^）)]*[）)]$", "", name.strip())
    for prefix in _NAME_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) + 1:
            return name[len(prefix):]
    return name


def _names_the_same_law(words: list[tuple[str, str]], name: str) -> bool:
    """Whether a held ``name`` found at the end of ``words`` is the law cited there: the whole
    name (「行政诉讼法」), or after words that are not part of a name's substance
    (「咨询行政处罚法」); not when it is the tail of another law's name (诉讼法 in 刑事诉讼法,
    交通安全法 in 海上交通安全法)."""
    text = "".join(w for w, _ in words)
    if text == name or _bare(text) == name:
        return True
    at = 0
    for i, (word, _flag) in enumerate(words):
        if text[at:] == name:
            return all(flag.startswith("v") for _w, flag in words[:i])
        at += len(word)
    return False


def _possibly_held(name: str, held: set[str]) -> bool:
    """A short form we do not list (营商条例 for 优化营商环境条例): its characters in order in a
    held name. Such a name is searched for as before, not reported as missing."""
    def inside(short: str, long: str) -> bool:
        chars = iter(long)
        return all(c in chars for c in short)

    return len(name) >= 3 and any(inside(name, h) for h in held if h.endswith(_LAW_KINDS))


def unheld_references(query: str, names: list[str]) -> list[str]:
    """Names of laws cited with an article that no document in the library answers to
    (「刑法第二十条」 when no 刑法 is held). Without this the article number alone would
    find the 第二十条 of whatever laws are held, and that reads like an answer."""
    held = set(names)
    out: list[str] = []
    for m in _CITED_ARTICLE.finditer(query):
        if m.group(1):
            name = _bare(m.group(1))
            known = name in held or m.group(1).strip() in held
        else:
            words = _name_words(m.group(2))
            name = "".join(w for w, _ in words)
            known = any(_names_the_same_law(words, h) for h in held if name.endswith(h))
        if (known or not name or name in _LAW_KINDS or _PRONOUN.fullmatch(name) or name in out
                or _bare(name.removesuffix("规定").removesuffix("的")) in held or _possibly_held(name, held)):
            continue
        out.append(name)
    return out


def remainder(query: str, refs: list[Reference]) -> str:
    """The query without its references: what is left to search for."""
    out, last = [], 0
    for ref in refs:
        out.append(query[last:ref.span[0]])
        last = ref.span[1]
    out.append(query[last:])
    return re.sub(r"\s+", " ", "".join(out)).strip(" ，,。？?的")
