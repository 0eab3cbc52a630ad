"""Document metadata inferred from a text's header block, for what its front matter omits.

Officers cite a document by title, 文号 and date, and the knowledge base keeps versions apart
by date, so every document needs them even when nobody wrote front matter. Chinese legal texts
state them in a predictable header: the title line, a 文号 (辽政办发〔2023〕18号,
国务院令第711号), and for laws a revision history, one line per step
(「2021年1月22日 第十三届全国人民代表大会常务委员会第二十五次会议修订」). LawRefBook file names
carry the version date: ``行政处罚法(2021-01-22).md``.

Declared values always win; inference only fills gaps. Detecting that a version has been
superseded needs the other versions, so that is left to the caller.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import Any

HEADER_LINES = 30
LAW_LIKE = ("law", "regulation", "rule", "interpretation")

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN_NUM = "〇零一二三四五六七八九十"
DATE = re.compile(
    rf"(\d{{4}}|[{_CN_NUM}]{{4}})\s*年\s*(\d{{1,2}}|[{_CN_NUM}]{{1,3}})\s*月"
    rf"\s*(\d{{1,2}}|[{_CN_NUM}]{{1,3}})\s*日"
)
ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_LINE_DATE = re.compile(r"^[（(]?\s*" + DATE.pattern)
DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,10}[〔［\[]\s*\d{4}\s*[〕］\]]\s*第?\s*\d+\s*号")
ORDER_NUMBER = re.compile(r"(?:中华人民共和国)?([\u4e00-\u9fff]{2,24}?令)\s*第\s*(\d+)\s*号")
_BODY_START = re.compile(
    rf"^(?:第[{_CN_NUM}百千两\d]+[编章节条]|[一二三四五六七八九十]+、|序言$|基本案情|简要案情|案情)"
)
_ACTIONS = ("通过", "公布", "发布", "修正", "修订", "批准", "施行", "实施", "印发")
_EFFECTIVE_WORDS = ("施行", "实施", "生效")
_ORG_END = ("院", "部", "局", "委员会", "委", "厅", "政府", "署", "行", "会", "中央", "办公室",
            "总局", "政协")
_ISSUER_BY_NUMBER = (
    ("国办", "国务院办公厅"), ("国发", "国务院"), ("国函", "国务院"), ("法释", "最高人民法院"),
    ("法发", "最高人民法院"), ("高检", "最高人民检察院"),
)
_COURT = "最高人民法院"
_PROCURATORATE = "最高人民检察院"
_PATH_TYPES = {
    "宪法": "law", "宪法相关法": "law", "民法典": "law", "民法商法": "law", "行政法": "law",
    "经济法": "law", "社会法": "law", "刑法": "law", "诉讼与非诉讼程序法": "law",
    "行政法规": "regulation", "部门规章": "rule", "司法解释": "interpretation", "案例": "case",
    "地方性法规": "regulation",
}
_PREFIX_TYPES = {
    "law": "law", "reg": "regulation", "regulation": "regulation", "rule": "rule",
    "interp": "interpretation", "interpretation": "interpretation", "policy": "policy",
    "plan": "plan", "case": "case", "scenario": "scenario",
}
_VERSION_IN_NAME = re.compile(r"[（(](\d{4}-\d{2}-\d{2})[）)]\s*$")
_TRAILING_PAREN = re.compile(r"[（(][^（()）]*[）)]\s*$")
_SPACE_IN_CJK = re.compile(r"(?<=[^\x00-\x7f])[ \t\u3000]+(?=[^\x00-\x7f])")


# ── small parsers ──────────────────────────────────────────────────────────────


def _cn_number(token: str) -> int:
    """「十二」→12, 「二十五」→25, 「一九九六」→1996, 「12」→12."""
    if token.isdigit():
        return int(token)
    if "十" not in token:
        return int("".join(str(_CN_DIGITS[ch]) for ch in token))
    tens, _, ones = token.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def iso_date(match: re.Match[str]) -> str | None:
    """A :data:`DATE` (or ISO) match as ``YYYY-MM-DD``; None when not a calendar date."""
    try:
        year, month, day = (_cn_number(match.group(i)) for i in (1, 2, 3))
    except (KeyError, ValueError):
        return None
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def short_title(title: str) -> str:
    """The title as officers say it: 中华人民共和国行政处罚法 → 行政处罚法."""
    title = title.strip().strip("《》")
    if title.startswith("中华人民共和国") and len(title) > len("中华人民共和国"):
        return title[len("中华人民共和国") :]
    return title


def _tidy_title(line: str) -> str:
    """Drop a leading 文号, spaces that wrapped a long title, and a 关于印发《X》的通知 wrapper."""
    line = re.sub(r"^[\u4e00-\u9fff]{1,10}[〔［\[]\d{4}[〕］\]]\d+号\s*", "", line.strip())
    line = re.sub(rf"({_COURT})\s+({_PROCURATORATE})", r"\1、\2", line)
    line = _SPACE_IN_CJK.sub("", line)
    wrapped = re.fullmatch(r".*关于印发《(.+)》的通知", line)
    return wrapped.group(1) if wrapped else line


# ── header block ──────────────────────────────────────────────────────────────


def header_block(lines: list[str]) -> list[str]:
    """The lines before the body starts (first 章/条/一、/case section), at most 30."""
    block: list[str] = []
    for line in lines[:HEADER_LINES]:
        if block and _BODY_START.match(line):
            break
        block.append(line)
    return block


def _line_date(line: str) -> str:
    """The date of a line that is only a date (possibly after a 文号): a signature or issue
    date such as 「2023年12月10日」 or 「国办发〔2022〕27号  2022年7月29日」; else ""."""
    rest = DOC_NUMBER.sub("", line).strip(" \u3000（）()")
    found = DATE.fullmatch(rest) or ISO_DATE.fullmatch(rest)
    return (iso_date(found) or "") if found else ""


def _is_date_line(line: str) -> bool:
    return bool(_line_date(line))


def infer_title(header: list[str], path: str | Path) -> str:
    """First header line that reads as a title; the file name when none does."""
    for line in header:
        if (
            re.fullmatch(r".{2,30}文件", line)
            or DOC_NUMBER.fullmatch(line)
            or _LINE_DATE.match(line)
            or _is_date_line(line)
            or line.startswith(("（", "(", "新华社"))
            or line.endswith(("：", ":", "。", "；"))
            or len(line) > 120
        ):
            continue
        return _tidy_title(line)
    stem = _VERSION_IN_NAME.sub("", Path(path).stem)
    return _tidy_title(stem)


def _doc_number(header: list[str]) -> str:
    for line in header:
        found = DOC_NUMBER.search(line)
        if found:
            return re.sub(r"\s+", "", found.group(0))
    for line in header:
        found = ORDER_NUMBER.search(DATE.sub(" ", line))
        if found:
            return f"{found.group(1)}第{found.group(2)}号"
    return ""


def _segments(line: str) -> list[tuple[str, str]]:
    """Split a history line into (date, description) steps; 「根据」 links steps."""
    found = [m for m in DATE.finditer(line)]
    steps: list[tuple[str, str]] = []
    for i, match in enumerate(found):
        date = iso_date(match)
        end = found[i + 1].start() if i + 1 < len(found) else len(line)
        desc = line[match.end() : end]
        desc = re.sub(r"[\s\u3000]*(?:根据)?[\s\u3000（(]*$", "", desc).strip()
        desc = desc.rstrip("）)").strip(" \u3000，,；;")
        if date:
            steps.append((date, desc))
    # 「…审判委员会第1882次会议、2023年7月27日…检察委员会…通过」: the first step takes the
    # second step's action word.
    for i, (date, desc) in enumerate(steps[:-1]):
        if not desc.endswith(_ACTIONS) and desc.endswith(("、", "和", "及")):
            action = next((a for a in _ACTIONS if steps[i + 1][1].endswith(a)), "")
            steps[i] = (date, desc.rstrip("、和及") + action)
    return steps


def history(header: list[str]) -> tuple[list[str], str]:
    """Revision steps (``"YYYY-MM-DD 说明"``) and the effective date the header states."""
    revisions: list[str] = []
    effective = ""
    for line in header:
        if not _LINE_DATE.match(line):
            continue
        for date, desc in _segments(line):
            if desc in _EFFECTIVE_WORDS or re.fullmatch(r"(?:起|自)?(?:施行|实施|生效)", desc):
                effective = effective or date
            elif desc.endswith(_ACTIONS) or "修正" in desc or "修订" in desc:
                revisions.append(f"{date} {desc}")
    return revisions, effective


def _effective_from_text(lines: list[str], promulgated: str, revisions: list[str]) -> str:
    """「本法自2021年7月15日起施行」, or 「自公布之日起施行」 meaning the promulgation date."""
    text = "\n".join(lines)
    own = list(re.finditer(r"本[\u4e00-\u9fff]{1,8}自\s*(" + DATE.pattern + r")\s*起\s*(?:施行|实施|生效|执行)", text))
    if not own:
        tail = "\n".join(lines[-10:])
        own = list(re.finditer(r"自\s*(" + DATE.pattern + r")\s*起\s*(?:施行|实施|生效)", tail))
    if own:
        inner = DATE.search(own[-1].group(1))
        return (iso_date(inner) if inner else None) or ""
    if re.search(r"自(?:公布|发布|印发)之日起(?:施行|实施|生效)", "\n".join(lines[-10:])):
        # The article dates from the step that last rewrote the whole text: a 修订 adopted by
        # a session does; a 修正, or a 修订 through a 《关于修改…的决定》, leaves the original
        # article (and so the original date) in place.
        steps = sorted(revisions)
        rewrites = [r for r in steps if "修订" in r and "决定" not in r]
        if rewrites:
            return rewrites[-1].split(" ", 1)[0]
        return steps[0].split(" ", 1)[0] if steps else promulgated
    return ""


def _signature_date(header: list[str], lines: list[str]) -> str:
    for line in [*header, *reversed(lines[-8:])]:
        date = _line_date(line)
        if date:
            return date
    return ""


# ── issuer and type ───────────────────────────────────────────────────────────


def _plain_org(name: str) -> str:
    """中华人民共和国人事部 → 人事部 (the prefix is implied for central bodies)."""
    rest = name.removeprefix("中华人民共和国")
    return rest if len(rest) >= 2 else name


def _issuer_from_step(step: str) -> str:
    court, proc = _COURT in step, _PROCURATORATE in step
    if court and proc:
        return f"{_COURT}、{_PROCURATORATE}"
    if court or proc:
        return _COURT if court else _PROCURATORATE
    if "全国人民代表大会常务委员会" in step:
        return "全国人民代表大会常务委员会"
    if "全国人民代表大会" in step:
        return "全国人民代表大会"
    if re.search(r"国务院令|国务院第\d+次常务会议|国务院(?:发布|批准|公布)|^《?国务院关于", step):
        return "国务院"
    order = ORDER_NUMBER.search(step)
    return _plain_org(order.group(1)[:-1]) if order else ""


def infer_issuer(title: str, header: list[str], revisions: list[str], doc_number: str) -> str:
    """Who issued the document: title prefix, adopting body, signature line, or 文号."""
    prefix = re.match(r"^(.{2,40}?)关于", title)
    if prefix:
        orgs = [o for o in re.split(r"[、\s]+", prefix.group(1)) if o]
        if orgs and all(o.endswith(_ORG_END) for o in orgs):
            return "、".join(_plain_org(o) for o in orgs)
    for step in reversed(revisions):
        issuer = _issuer_from_step(step.split(" ", 1)[-1])
        if issuer:
            return issuer
    for before, line in pairwise(header):
        if _is_date_line(line) and len(before) <= 30 and before.endswith(_ORG_END):
            return _plain_org(before)
    for line in header:
        published = re.fullmatch(r"(.{2,30}?)(?:发布|公布|印发)", line)
        if published and published.group(1).endswith(_ORG_END):
            return _plain_org(published.group(1))
    for code, issuer in _ISSUER_BY_NUMBER:
        if doc_number.startswith(code):
            return issuer
    return ""


def _path_type(path: Path) -> str:
    """LawRefBook's category folders (案例 wins over the subject folder beneath it), or the
    sample corpus's file-name prefix (``law_``, ``reg_``, ``plan_``...)."""
    folders = path.parts[:-1]
    if "案例" in folders:
        return "case"
    for part in folders:
        if part in _PATH_TYPES:
            return _PATH_TYPES[part]
    prefix = path.stem.split("_", 1)[0].lower() if "_" in path.stem else ""
    return _PREFIX_TYPES.get(prefix, "")


def guess_doc_type(title: str, issuer: str, path: str | Path = "") -> str:
    """law | regulation | rule | interpretation | policy | plan | case, from title and issuer."""
    by_path = _path_type(Path(path)) if path else ""
    if by_path:
        return by_path
    core = title.strip()
    while _TRAILING_PAREN.search(core):
        core = _TRAILING_PAREN.sub("", core).strip()
    judicial = issuer.startswith((_COURT, _PROCURATORATE)) or core.startswith((_COURT, _PROCURATORATE))
    if core.endswith(("修正案", "草案")):
        return "law"
    if core.endswith(("方案", "预案", "计划", "规划", "工作要点")):
        return "plan"
    if core.endswith("案"):
        return "case"
    if judicial:
        return "interpretation"
    if "全国人民代表大会" in issuer or (core.endswith("法") and not core.endswith("办法")):
        return "law"
    if core.endswith(("纲要", "意见", "通知", "批复", "通告", "公告", "函", "指引", "指南")):
        return "policy"
    normative = core.endswith(("条例", "规定", "办法", "细则", "规则", "决定"))
    if normative and (issuer == "国务院" or core.startswith("国务院")):
        return "regulation"
    if core.endswith("条例"):
        return "regulation"
    if normative and core.endswith("决定"):
        return "policy"
    if normative:
        return "rule"
    if core.endswith("解释"):
        return "interpretation"
    return "policy"


# ── entry point ───────────────────────────────────────────────────────────────


def infer_metadata(text: str, declared: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """``declared`` completed from the text: title, doc_number, issuer, doc_type, dates,
    revisions, version, status. Keys the front matter set are never overwritten."""
    meta = dict(declared)
    lines = [ln for ln in text.split("\n") if ln.strip()]
    header = header_block(lines)
    path = Path(path)

    title = str(meta.get("title") or infer_title(header, path))
    if not meta.get("title"):
        meta["title"] = title
    doc_number = str(meta.get("doc_number") or _doc_number(header))
    if doc_number:
        meta.setdefault("doc_number", doc_number)

    revisions, header_effective = history(header)
    if revisions and not meta.get("revisions"):
        meta["revisions"] = revisions
    name_version = _VERSION_IN_NAME.search(path.stem)

    if not meta.get("promulgated"):
        # The latest step, or the file name's version date when LawRefBook's header omits it.
        dates = sorted(r.split(" ", 1)[0] for r in revisions)
        if name_version:
            dates = sorted([*dates, name_version.group(1)])
        promulgated = dates[-1] if dates else _signature_date(header, lines)
        if promulgated:
            meta["promulgated"] = promulgated
    if not meta.get("effective"):
        effective = header_effective or _effective_from_text(
            lines, str(meta.get("promulgated", "")), revisions
        )
        if effective and effective >= str(meta.get("promulgated", "")):
            meta["effective"] = effective
        elif effective:
            meta["first_effective"] = effective  # the original text's date, not this version's

    issuer = str(meta.get("issuer") or infer_issuer(meta["title"], header, revisions, doc_number))
    if issuer and not meta.get("issuer"):
        meta["issuer"] = issuer
    if not meta.get("doc_type"):
        meta["doc_type"] = guess_doc_type(meta["title"], issuer, path)
    if not meta.get("version"):
        latest = max((r.split(" ", 1)[0] for r in revisions), default="")
        version = name_version.group(1) if name_version else latest or str(meta.get("promulgated", ""))
        if version:
            meta["version"] = version
    if not meta.get("status"):
        meta["status"] = "current" if meta["doc_type"] in LAW_LIKE else "unknown"
    meta["short_title"] = meta.get("short_title") or short_title(meta["title"])
    return meta
