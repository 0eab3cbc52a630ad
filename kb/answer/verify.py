"""Check a generated answer against the provisions it was given, sentence by sentence.

A language model paraphrases, misnumbers articles and invents quotations; an officer who
copies such a sentence into a 决定书 is exposed. So every sentence of a generated answer must
carry [n] markers that point at supplied provisions, every quoted span must be a verbatim slice
of a provision that sentence cites, and every 第X条 or 《title》 it names must belong to what it
cites. A sentence that fails is dropped (with the reason), never repaired: in doubt, drop.

Pure functions, no I/O, so the rules are testable without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.answer.model import Citation
from kb.answer.prompt import NO_ANSWER
from kb.numerals import CN_NUMERAL, canonical_label

# [1] [1,2] [1，2] [1、2] [1-3] 【1】 ［1］ ［１］ — but not a document number like [2023]18号.
_LOOSE_MARKER = re.compile(
    r"[\[［【]\s*([0-9０-９]+(?:\s*(?:[,，、;；]|[-–—~～至])\s*[0-9０-９]+)*)\s*[\]］】](?![0-9０-９号])"
)
MARKER = re.compile(r"\[(\d+)\](?![0-9号])")
_TRAILING_MARKERS = re.compile(r"(?:\s*\[\d+\](?![0-9号]))+")
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_MAX_RANGE = 20

_TERMINATORS = "。！？；!?;"
_OPEN_CLOSE = {"「": "」", "“": "”"}
_QUOTE_RES = (re.compile(r"「([^「」]*)」"), re.compile(r"“([^“”]*)”"), re.compile(r"\"([^\"\n]*)\""))
_UNCLOSED = re.compile(r"(?:「([^」]*)|“([^”]*))$")
_ELLIPSIS = re.compile(r"…+|\.{3,}|⋯+")
_ARTICLE = re.compile(rf"第[{CN_NUMERAL}0-9０-９]+条(?:之[{CN_NUMERAL}0-9]+)?")
_TITLE = re.compile(r"《([^《》\n]{2,80})》")
_DIGIT = re.compile(r"[0-9０-９]")
_DECOR = re.compile(r"^[\s#>*\-•·+]+|[\s*]+$")
_PUNCT = "：:，,。.！!？?；;、 \t*"

# Lead-ins that carry no claim of their own; anything else without a marker is dropped.
CONNECTIVES = frozenset({
    "综上", "综上所述", "因此", "所以", "总之", "总结", "结论", "答复", "回答", "简要回答", "简答",
    "分析", "具体如下", "具体而言", "依据如下", "分析如下", "答复如下", "规定如下", "法律依据",
    "相关规定", "相关条文", "依据", "需要注意", "注意事项", "此外", "另外", "同时", "首先", "其次",
    "最后", "例如", "说明", "详细说明",
})
_POLITE = ("很抱歉", "抱歉", "对不起")
_VERSION_WORDS = ("版本", "修订前", "修正前", "修改前", "已修改", "已被修改", "已修订", "已被修订", "已废止",
                  "废止", "失效", "旧版", "原版")


@dataclass
class VerifiedText:
    """What survived verification.

    ``text`` keeps the supplied numbering (no renumbering), markers normalised to ``[1][2]``.
    ``used`` are the citation numbers the kept sentences point at; ``dropped`` the removed
    sentences with the reason; ``flagged`` counts kept sentences that cite an amended or
    repealed provision without saying which version (the composer should add a version
    note); ``abstained`` is true when the model said 「知识库中未找到相关依据」 and nothing else
    survived; ``kept`` counts the kept sentences that carry markers.
    """

    text: str
    used: list[int] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    flagged: int = 0
    abstained: bool = False
    kept: int = 0


def quote_is_verbatim(quote: str, chunk_text: str) -> bool:
    """True when ``quote`` (surrounding whitespace stripped) occurs exactly in ``chunk_text``.

    Never fuzzy: an officer must find these exact characters in the provision. An empty quote
    points at nothing and is not verbatim.
    """
    q = quote.strip()
    return bool(q) and q in chunk_text


def normalize_markers(text: str) -> str:
    """[1,2] / [1-3] / 【1】 / ［１］ → [1][2] / [1][2][3] / [1] / [1], so one pattern finds them."""

    def expand(m: re.Match[str]) -> str:
        numbers: list[int] = []
        for part in re.split(r"\s*[,，、;；]\s*", m.group(1).translate(_FULLWIDTH)):
            bounds = re.split(r"\s*[-–—~～至]\s*", part)
            if len(bounds) == 1:
                numbers.append(int(bounds[0]))
                continue
            lo, hi = int(bounds[0]), int(bounds[-1])
            if len(bounds) != 2 or not 0 <= hi - lo < _MAX_RANGE:
                return m.group(0)  # not a plausible range: leave it, it will not count as a marker
            numbers.extend(range(lo, hi + 1))
        return "".join(f"[{n}]" for n in numbers)

    return _LOOSE_MARKER.sub(expand, text)


def split_sentences(line: str) -> list[str]:
    """Split one line at 。！？； (outside quotations), keeping trailing [n] markers attached.

    A terminator inside 「…」 or “…” does not end the sentence, so a quoted provision with
    several sentences stays one quotation; markers written after the terminator (…处罚。[1])
    belong to the sentence they follow.
    """
    out: list[str] = []
    start, i, stack, in_ascii = 0, 0, [], False
    while i < len(line):
        ch = line[i]
        if ch in _OPEN_CLOSE:
            stack.append(_OPEN_CLOSE[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
        elif ch == '"':
            in_ascii = not in_ascii
        elif ch in _TERMINATORS and not stack and not in_ascii:
            trailing = _TRAILING_MARKERS.match(line, i + 1)
            j = trailing.end() if trailing else i + 1
            out.append(line[start:j])
            start, i = j, j
            continue
        i += 1
    if line[start:].strip():
        out.append(line[start:])
    return [s.strip() for s in out if s.strip()]


def verify_generated(text: str, citations: list[Citation]) -> VerifiedText:
    """Keep the sentences whose markers, quotes, article numbers and titles check out."""
    by_n = {c.n: c for c in citations}
    kept_lines: list[str] = []
    dropped: list[tuple[str, str]] = []
    used: set[int] = set()
    flagged = kept = 0
    said_no_answer = False
    for line in normalize_markers(text).split("\n"):
        if not line.strip():
            if kept_lines and kept_lines[-1]:
                kept_lines.append("")
            continue
        kept_here: list[str] = []
        for sentence in split_sentences(line):
            core = _core(sentence)
            if not core:
                continue  # pure formatting (---, **), nothing to check or show
            numbers = [int(n) for n in MARKER.findall(sentence)]
            if not numbers:
                if _is_no_answer(core):
                    said_no_answer = True
                    kept_here.append(sentence)
                elif _is_connective(sentence, core, line):
                    kept_here.append(sentence)
                else:
                    dropped.append((sentence, "no citation marker"))
                continue
            reason = _check(sentence, numbers, by_n)
            if reason:
                dropped.append((sentence, reason))
                continue
            kept_here.append(sentence)
            kept += 1
            used.update(numbers)
            flagged += _unversioned(sentence, [by_n[n] for n in dict.fromkeys(numbers)])
        if kept_here:
            kept_lines.append("".join(kept_here))
    abstained = said_no_answer and kept == 0
    body = NO_ANSWER if abstained else "\n".join(kept_lines).strip()
    if kept == 0 and not abstained:
        body = ""  # connectives alone say nothing
    return VerifiedText(body, sorted(used), dropped, flagged, abstained, kept)


def _check(sentence: str, numbers: list[int], by_n: dict[int, Citation]) -> str:
    """The first reason this cited sentence cannot be trusted, or "" when it checks out."""
    for n in numbers:
        if n not in by_n:
            return f"marker [{n}] points at no supplied provision"
    cited = [by_n[n] for n in dict.fromkeys(numbers)]
    marks = "".join(f"[{c.n}]" for c in cited)
    for quote in _quotes(sentence):
        if not quote:
            return f"empty quotation cites {marks}"
        if not any(_quote_found(quote, c.chunk_text) for c in cited):
            return f"quote not found verbatim in {marks}: 「{quote}」"
    known = {canonical_label(a) for c in cited for a in _ARTICLE.findall(f"{c.label} {c.path} {c.chunk_text}")}
    for article in _ARTICLE.findall(MARKER.sub("", sentence)):
        if canonical_label(article) not in known:
            return f"{article} is not in the provisions it cites {marks}"
    for title in _TITLE.findall(sentence):
        if not any(_title_matches(title, c) for c in cited):
            return f"《{title}》 is not the source of the provisions it cites {marks}"
    return ""


def _quotes(sentence: str) -> list[str]:
    """Every quoted span, markers removed; an unclosed 「 quotes to the end of the sentence."""
    spans = [m.group(1) for rx in _QUOTE_RES for m in rx.finditer(sentence)]
    body = MARKER.sub("", sentence).rstrip().rstrip(_TERMINATORS).rstrip()
    tail = _UNCLOSED.search(body)
    if tail:
        spans.append(tail.group(1) if tail.group(1) is not None else tail.group(2))
    return [MARKER.sub("", s).strip() for s in spans]


def _quote_found(quote: str, chunk_text: str) -> bool:
    """Verbatim, or verbatim pieces in order around an ellipsis (「违法行为轻微……不予行政处罚」)."""
    if quote_is_verbatim(quote, chunk_text):
        return True
    pieces = [p.strip() for p in _ELLIPSIS.split(quote) if p.strip()]
    if len(pieces) < 2:
        return False
    pos = 0
    for piece in pieces:
        found = chunk_text.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def _title_matches(title: str, citation: Citation) -> bool:
    """《行政处罚法》 names 中华人民共和国行政处罚法; a title quoted in the provision counts too."""
    t = _bare_title(title)
    return bool(t) and (t in _bare_title(citation.title) or t in citation.chunk_text)


def _bare_title(title: str) -> str:
    return re.sub(r"\s+", "", title).removeprefix("中华人民共和国")


def _core(sentence: str) -> str:
    """The words of a sentence without markdown decoration, markers and edge punctuation."""
    return _DECOR.sub("", MARKER.sub("", sentence)).strip(_PUNCT + "「」“”\"")


def _is_no_answer(core: str) -> bool:
    for polite in _POLITE:
        core = core.removeprefix(polite).lstrip(_PUNCT)
    return core == NO_ANSWER


def _is_connective(sentence: str, core: str, line: str) -> bool:
    """A short lead-in or heading (综上所述： / ## 法律依据) — conservative, in doubt False."""
    if len(core) > 12 or _DIGIT.search(sentence) or any(q in sentence for q in "「」“”\"《》"):
        return False
    stripped = sentence.rstrip().rstrip("*").rstrip()
    return stripped.endswith(("：", ":")) or core in CONNECTIVES or line.lstrip().startswith("#")


def _unversioned(sentence: str, cited: list[Citation]) -> int:
    """1 when the sentence cites an amended/repealed provision and does not say which version."""
    for c in cited:
        if c.status in {"amended", "repealed"}:
            year = c.version[:4]
            named = (c.version and c.version in sentence) or (year and f"{year}年" in sentence)
            if not named and not any(w in sentence for w in _VERSION_WORDS):
                return 1
    return 0
