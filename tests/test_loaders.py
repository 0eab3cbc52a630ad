"""ingest.loaders: every format, every bad input, and the rejoin rule on the real corpora.

Documents are generated into tmp_path at test time (tests/fixtures_build.py); corpus files are
read where they are, by path.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document

from ingest.loaders import load
from ingest.loaders.decoding import decode_text, plausible
from ingest.loaders.markup import to_paras
from ingest.loaders.rejoin import Para, rejoin, should_join
from kb.errors import LoadError
from kb.model import SourceText
from tests.conftest import NATIONAL, SAMPLE, national, sample
from tests.fixtures_build import (
    docx_bytes,
    encrypt_pdf,
    paginate,
    pdf_bytes,
    scanned_pdf_bytes,
    wrap,
)

PLAN = "plan_liaozhengbanfa-2023-18_tisheng-xingzheng-zhifa-zhiliang.md"

TITLE = "测试市行政执法监督办法"
ARTICLES = [
    "第一条　为了规范本市行政执法行为，保障和监督行政机关有效实施行政管理，维护公共利益和社会秩序，"
    "保护公民、法人或者其他组织的合法权益，根据有关法律、法规，结合本市实际，制定本办法。",
    "第二条　本市行政区域内的行政执法及其监督活动，适用本办法。法律、法规另有规定的，从其规定。",
    "第三条　市人民政府统一领导全市行政执法监督工作，县级以上司法行政部门具体负责本行政区域内的"
    "行政执法监督工作，有关部门按照各自职责做好相关工作，乡镇人民政府和街道办事处予以配合。",
    "第四条　行政执法机关应当建立健全行政执法公示制度、执法全过程记录制度和重大执法决定法制审核"
    "制度，并将落实情况纳入年度法治政府建设考核。",
    "行政执法人员应当持证上岗，每人每年接受不少于六十学时的公共法律知识、业务知识和行政执法技能培训"
    "，培训情况记入执法档案。",
    "第五条　本办法自2024年1月1日起施行。",
]


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def reason(path: Path) -> str:
    with pytest.raises(LoadError) as info:
        load(path)
    assert info.type is LoadError
    assert "\n" not in str(info.value)
    return info.value.reason


def law_pdf(footer=lambda n, total: f"- {n} -", lines_per_page: int = 7) -> bytes:
    pages = paginate([TITLE, *ARTICLES], width=30, lines_per_page=lines_per_page)
    return pdf_bytes(pages, header=f"{TITLE}（征求意见稿）", footer=footer)


# ── plain text: decoding and normalisation ────────────────────────────────────

BODY = "# 测试办法\n\n第一条　为了规范行政执法，制定本办法。\n\n第二条　本办法自公布之日起施行。\n"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.txt", BODY.encode("utf-8")),
        ("utf8_bom.md", b"\xef\xbb\xbf" + BODY.encode("utf-8")),
        ("gb18030.txt", BODY.encode("gb18030")),
        ("utf16_bom.txt", BODY.encode("utf-16")),
        ("utf16le.txt", BODY.encode("utf-16-le")),
        ("utf16be.txt", BODY.encode("utf-16-be")),
        ("utf16le_no_ascii.txt", "行政执法监督办法规定".encode("utf-16-le") * 5),
        ("crlf.md", BODY.replace("\n", "\r\n").encode("utf-8")),
    ],
)
def test_text_encodings_decode_to_the_same_text(tmp_path, name, data):
    src = load(write(tmp_path, name, data))
    if "no_ascii" in name:
        assert src.text == "行政执法监督办法规定" * 5
        return
    assert src.text == "测试办法\n第一条　为了规范行政执法，制定本办法。\n第二条　本办法自公布之日起施行。"
    assert src.content_hash == hashlib.sha256(data).hexdigest()
    assert src.fmt == ("md" if name.endswith(".md") else "txt")
    assert isinstance(src, SourceText)


def test_sourcetext_fields(tmp_path):
    path = write(tmp_path, "a.md", BODY)
    src = load(path)
    assert src.path == str(path)
    assert src.meta["title"] == "测试办法"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "file is empty"),
        (b"  \n\r\n\t ", "file is empty"),
        ("\u3000\u3000\n\n\u3000".encode(), "file is empty"),
        ("\ufeff\n\n".encode(), "file is empty"),
        ("\n \n".encode("utf-16"), "file is empty"),
        (b"---\ntitle: x\n---\n\n<!-- INFO END -->\n", "file is empty: no text left after front matter and markup"),
    ],
)
def test_empty_files(tmp_path, data, expected):
    assert reason(write(tmp_path, "empty.md", data)) == expected


def test_binary_junk(tmp_path):
    junk = random.Random(7).randbytes(4096)
    assert reason(write(tmp_path, "junk.txt", junk)) == "binary file, not a document"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + junk[:200]
    assert reason(write(tmp_path, "image.md", png)) == "binary file, not a document"


@pytest.mark.parametrize(
    ("magic", "hint"),
    [(b"%PDF-1.7\n", ".pdf"), (b"PK\x03\x04", ".docx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".docx")],
)
def test_documents_with_the_wrong_extension_say_so(tmp_path, magic, hint):
    message = reason(write(tmp_path, "misnamed.txt", magic + b"\x00\x01" * 50))
    assert message.startswith("binary file, not a document") and hint in message


@pytest.mark.parametrize(
    "data",
    [
        "第一條　為了規範行政處罰的設定和實施，保障和監督行政機關有效實施行政管理，制定本法。".encode("big5") * 3,
        "日本語のテキストです。これは行政手続のテストです。".encode("shift_jis") * 4,
        "Ceci est un texte français très simple, déjà vu à l'été.".encode("latin-1") * 3,
    ],
)
def test_unknown_encodings_are_refused(tmp_path, data):
    assert reason(write(tmp_path, "legacy.txt", data)) == (
        "cannot decode: not UTF-8, GB18030 or UTF-16; save it as UTF-8"
    )


def test_plausibility_check():
    assert plausible("第一条　为了规范行政执法。Article 1.")
    assert not plausible("\x01\x02\x03\x04\x05 abc")
    assert not plausible("ÐÐÐÐÐÐÐÐÐÐÐÐ")  # Latin-1 read of GBK bytes: not CJK, not ASCII
    with pytest.raises(LoadError, match="save it as UTF-8"):
        decode_text("你好".encode() + b"\xff\xfe\xfa" + "世界".encode("gbk"), "mixed.txt")


def test_markdown_markup_is_removed_and_text_kept_verbatim(tmp_path):
    text = (
        "---\n"
        "title: 测试办法\n"
        "promulgated: 2021-01-22\n"
        "effective: '2021-07-15'\n"
        "revisions:\n  - 2021-01-22 修订\n"
        "custom: {nested: 2020-05-01}\n"
        "---\n\n"
        "# 测试办法 #\n\n"
        "2021年1月22日 第十三届全国人民代表大会常务委员会第二十五次会议修订\n\n"
        "<!-- INFO END -->\n\n"
        "## 第一章　总则\n\n"
        "　　第一条　为了**规范**行政执法，*保障*公民的合法权益，制定本办法。   \n\n\n"
        "第二条 本办法所称[行政执法](https://example.org/a)，是指__行政机关__依法实施的行为。\n"
        "***\n"
        "第三条 计算公式为2*3*4，填写第____条。\n"
        "<!-- a comment\nspanning lines -->\n"
        "| 事项 | 时限 |\n|---|---|\n| 公示 | 7日 |\n"
    )
    src = load(write(tmp_path, "law.md", text))
    assert src.text.split("\n") == [
        "测试办法",
        "2021年1月22日 第十三届全国人民代表大会常务委员会第二十五次会议修订",
        "第一章　总则",
        "第一条　为了规范行政执法，保障公民的合法权益，制定本办法。",
        "第二条 本办法所称行政执法，是指行政机关依法实施的行为。",
        "第三条 计算公式为2*3*4，填写第____条。",
        "| 事项 | 时限 |",
        "|---|---|",
        "| 公示 | 7日 |",
    ]
    assert src.meta["promulgated"] == "2021-01-22"
    assert src.meta["effective"] == "2021-07-15"
    assert src.meta["revisions"] == ["2021-01-22 修订"]  # declared, not inferred
    assert src.meta["custom"] == {"nested": "2020-05-01"}
    assert "\n\n" not in src.text and not src.text.startswith("\n")


@pytest.mark.parametrize(
    ("front", "expected"),
    [("---\ntitle: [unclosed\n---\n正文。\n", "front matter is not valid YAML"),
     ("---\n- a\n- b\n---\n正文。\n", "front matter is not a YAML mapping")],
)
def test_bad_front_matter(tmp_path, front, expected):
    assert reason(write(tmp_path, "bad.md", front)).startswith(expected)


def test_a_lone_thematic_break_is_not_front_matter(tmp_path):
    src = load(write(tmp_path, "hr.md", "---\n第一条　为了规范执法，制定本办法。\n"))
    assert src.text == "第一条　为了规范执法，制定本办法。"


def test_force_break_keeps_paragraphs_apart():
    paras = to_paras(
        "这是一段足够长的正文内容，用来测试强制分段的标记是否生效，不应当被合并\n"
        "<!-- FORCE BREAK -->\n"
        "下一段落从这里开始，内容继续。\n"
    )
    assert paras[1].break_before
    assert rejoin(paras) == [
        "这是一段足够长的正文内容，用来测试强制分段的标记是否生效，不应当被合并",
        "下一段落从这里开始，内容继续。",
    ]


# ── the rejoin rule ───────────────────────────────────────────────────────────

LONG = "各级行政执法部门要把加强党的政治建设放在首位，推进行政执法队伍革命化、正规化、专业化、职业化建"


@pytest.mark.parametrize(
    ("a", "b", "joined"),
    [
        (LONG, "设，持续提升能力、素养和本领。", True),
        (LONG, "第五条　行政执法机关应当……", False),
        (LONG, "二、重点任务", False),
        (LONG, "（三）强化培训宣传。", False),
        (LONG, "(三) 强化培训宣传。", False),
        (LONG, "3. 开展行政执法岗位练兵。", False),
        (LONG, "3．开展行政执法岗位练兵。", False),
        (LONG, "（1）现场检查。", False),
        (LONG, "第二章　行政执法主体", False),
        (LONG, "典型意义", False),
        (LONG, "附件：行政执法事项清单", False),
        (LONG, "2023年12月10日", False),
        (LONG, "国办发〔2018〕118号", False),
        (LONG, "| 事项 | 时限 |", False),
        ("行政执法人员每人每年接受不少于60学时的培训。", "培训情况记入执法档案。", False),
        ("行政执法人员每人每年接受的培训情况由司法行政部门汇总并", "报送。", False),  # too short
        ("一、深入学习贯彻习近平法治思想，努力实现法治政府建设全面突破",
         "党的十八大以来，各地区各部门多措并举。", False),
        ("（一）用人单位依法安排劳动者在日法定标准工作时间以外延长工作时间的，",
         "按照不低于工资标准的150%支付。", True),
        ("辽宁省人民政府办公厅关于印发《辽宁省提升行政执法质量三年行动实施方案》的通知",
         "各市人民政府：", False),
        ("应纳税额＝应纳税所得额×适用税率－减免税额－抵免税额，按年计算",
         "公式中的减免税额，是指……", False),
        ("中华人民共和国香港特别行政区基本法附件一香港特别行政区行政长官的产生办法修正案",
         "（2010年8月28日批准）", False),
        ("2017年12月27日 第十二届全国人民代表大会常务委员会第三十一次会议《关于修改〈中华人民共和国招标投标法〉",
         "〈中华人民共和国计量法〉的决定》修正", True),
        ("1991年6月29日 第七届全国人民代表大会常务委员会第二十次会议《关于修改〈中华人民共和国文物保护法〉第三十条",
         "第三十一条的决定》第一次修正", True),
        ("2017年12月27日 第十二届全国人民代表大会常务委员会第三十一次会议通过", "2018年1月1日 施行", False),
        ("签发单位：辽宁省人民政府办公厅，联系人：张三，日期：2023年12月10日", "（此件公开发布）", False),
        ("意见，但须对有可能出现的后遗症加以说明，必要时应进行复检并予以补充鉴定。 [1]",
         "疑难、复杂的损伤，在伤情稳定后进行鉴定。", False),
    ],
)
def test_should_join(a, b, joined):
    assert should_join(Para(a), Para(b)) is joined


def test_markup_flags_block_joins():
    assert not should_join(Para(LONG, fixed=True), Para("设，持续提升。"))
    assert not should_join(Para(LONG), Para("设，持续提升。", fixed=True))
    assert not should_join(Para(LONG), Para("设，持续提升。", break_before=True))


def test_latin_words_keep_a_space_when_joined():
    start = "The administrative penalty law of China, as revised"
    lines = rejoin([Para(f"{start} in the year"), Para("2021, applies here.")])
    assert lines == [f"{start} in the year2021, applies here."]
    lines = rejoin([Para(f"{start}, applies to the"), Para("whole country.")])
    assert lines == [f"{start}, applies to the whole country."]


# ── real corpus ───────────────────────────────────────────────────────────────


def test_plan_split_sentences_come_back_joined():
    src = load(sample(PLAN))
    lines = src.text.split("\n")
    assert any("全面贯彻党的二十大精神，认真贯彻落实习近平总书记关于东北" in ln for ln in lines)
    assert any("职业化建设，持续提升能力、素养和本领" in ln for ln in lines)
    assert any("依法予以暂扣或收缴行政执法证件并进行离岗培训" in ln for ln in lines)
    assert any("同级司法行政部门和营商环境建设部门。省营商局要统筹" in ln for ln in lines)
    assert any(ln.startswith("(二) 强化督查考评。") and "责任分工、完成时限" in ln for ln in lines)
    for stray in ("贯彻落实习近平总书记", "或收缴行政执法证件", "门。省营商局"):
        assert not any(ln.startswith(stray) for ln in lines)
    assert "<!--" not in src.text and "\n\n" not in src.text
    assert lines[0] == "辽宁省人民政府办公厅文件"
    assert "一、总体要求" in lines and "二、重点任务" in lines


UNIT_START = re.compile(
    r"^(?:第[一二三四五六七八九十百千零〇\d]+[编章节条]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]"
    r"|\d+[.．]|[（(]\d+[）)])"
)


def _unit_lines(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    if raw.startswith("---"):
        raw = raw.split("\n---", 1)[1]
    out = []
    for line in raw.splitlines():
        line = re.sub(r"^#+\s*", "", line.strip()).strip()
        if UNIT_START.match(line):
            out.append(line)
    return out


def _assert_no_unit_merged(paths: list[Path], *, article_space_only: bool = False) -> int:
    """Every unit line of the original still starts an output line (it may have had its own
    wrapped continuation appended, never been appended to another line)."""
    checked = 0
    for path in paths:
        by_head: dict[str, list[str]] = {}
        for out in load(path).text.split("\n"):
            by_head.setdefault(out[:6], []).append(out)
        for line in _unit_lines(path):
            if article_space_only and not re.match(r"^第[^条]{1,8}条[\s\u3000]", line) and "条" in line[:10]:
                continue  # 「第三十一条的决定》…」 continues a wrapped header title, not an article
            candidates = by_head.get(line[:6], [])
            assert any(out.startswith(line) for out in candidates), f"{path.name}: merged {line[:30]!r}"
            checked += 1
    return checked


def test_no_heading_or_item_is_merged_in_the_sample_corpus():
    sample(PLAN)  # skips when the corpus is absent
    paths = sorted(p for p in SAMPLE.glob("*.md"))
    assert len(paths) >= 30
    assert _assert_no_unit_merged(paths) > 3000


@pytest.mark.slow
def test_no_heading_or_item_is_merged_in_the_national_corpus():
    national("行政法/行政处罚法(2021-01-22).md")
    paths = sorted(p for p in NATIONAL.rglob("*.md") if p.name != "_index.md")
    assert _assert_no_unit_merged(paths, article_space_only=True) > 100_000


def test_sample_corpus_loads_with_front_matter_meta():
    for path in sorted(SAMPLE.glob("*.md")) if SAMPLE.exists() else []:
        src = load(path)
        assert src.meta["title"] and src.meta["doc_type"]
        assert not src.text.startswith("---")


# ── PDF ───────────────────────────────────────────────────────────────────────


def test_pdf_fixture_really_splits_a_sentence_across_a_page_break():
    pages = paginate([TITLE, *ARTICLES], width=30, lines_per_page=7)
    last_lines = [page[-1] for page in pages[:-1]]
    assert any(not ln.endswith(("。", "，")) for ln in last_lines)
    for para in ARTICLES:  # mid-paragraph visual lines never end a sentence by accident
        assert not any(ln.endswith("。") for ln in wrap(para, 30)[:-1])


@pytest.mark.parametrize(
    "footer",
    [
        lambda n, total: f"- {n} -",
        lambda n, total: f"第 {n} 页 共 {total} 页",
        lambda n, total: f"{n}/{total}",
        lambda n, total: str(n),
    ],
    ids=["dash", "di-ye", "slash", "bare"],
)
def test_pdf_rejoins_lines_and_drops_running_headers_and_page_numbers(tmp_path, footer):
    src = load(write(tmp_path, "measures.pdf", law_pdf(footer)))
    assert src.fmt == "pdf"
    assert src.text.split("\n") == [TITLE, *ARTICLES]
    assert src.meta["title"] == TITLE
    assert src.meta["effective"] == "2024-01-01"


def test_pdf_with_one_page_keeps_its_lines(tmp_path):
    lines = ["第一条　为了规范执法，制定本办法。", "第二条　本办法自公布之日起施行。"]
    assert load(write(tmp_path, "one.pdf", pdf_bytes([lines]))).text.split("\n") == lines


def test_encrypted_pdf(tmp_path):
    locked = encrypt_pdf(law_pdf(), user_password="secret")
    assert reason(write(tmp_path, "locked.pdf", locked)) == "PDF is encrypted; remove the password and ingest again"


def test_pdf_with_only_an_owner_password_opens(tmp_path):
    opened = encrypt_pdf(law_pdf(), user_password="")
    assert load(write(tmp_path, "owner.pdf", opened)).text.split("\n") == [TITLE, *ARTICLES]


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9, 0.995])
def test_truncated_pdf_is_corrupt(tmp_path, cut):
    data = law_pdf()
    message = reason(write(tmp_path, "cut.pdf", data[: int(len(data) * cut)]))
    assert message.startswith("PDF is corrupt or truncated; export or download it again")


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\n" + random.Random(3).randbytes(3000) + b"\n%%EOF\n", b"not a pdf at all, just words\n", b"%PDF-"],
)
def test_garbage_pdf_is_corrupt(tmp_path, data):
    assert reason(write(tmp_path, "junk.pdf", data)).startswith("PDF is corrupt or truncated")


def test_scanned_pdf_needs_ocr(tmp_path):
    message = reason(write(tmp_path, "scan.pdf", scanned_pdf_bytes()))
    assert "no text layer" in message and "OCR" in message


def test_pdf_of_page_furniture_only_needs_ocr(tmp_path):
    data = pdf_bytes([[], [], []], header="某某市人民政府文件", footer=lambda n, total: f"- {n} -")
    assert "OCR" in reason(write(tmp_path, "furniture.pdf", data))


def test_pdf_text_layer_of_junk_needs_ocr(tmp_path, monkeypatch):
    import ingest.loaders.pdf_text as pdf_text

    junk = [["\ue000\ue001\x07\x08" * 10, "ÐÑÒÓÔÕ" * 8]] * 2
    monkeypatch.setattr(pdf_text, "read_pages", lambda data, path: junk)
    assert "not readable text" in reason(write(tmp_path, "cid.pdf", law_pdf()))


def test_long_repeated_edge_lines_are_body_text_not_headers():
    from ingest.loaders.pdf_text import strip_furniture

    long_line = "本页所列事项均应当依照本办法的规定执行，行政机关不得擅自变更或者增加许可条件和程序要求。"
    pages = [[long_line, f"第{n}项正文内容。", f"- {i} -"] for i, n in enumerate("一二三", 1)]
    assert strip_furniture(pages) == [[long_line, f"第{n}项正文内容。"] for n in "一二三"]


def test_empty_pdf_file(tmp_path):
    assert reason(write(tmp_path, "empty.pdf", b"")) == "file is empty"


# ── DOCX ──────────────────────────────────────────────────────────────────────


def test_docx_paragraphs_headings_and_tables(tmp_path):
    data = docx_bytes(
        TITLE,
        [ARTICLES[0], ARTICLES[1], "　　第三条　各级行政执法机关应当依法履职。　"],
        table=[["任务", "责任单位"], ["落实三项制度", "省司法厅"]],
        page_header="内部资料 注意保存",
    )
    src = load(write(tmp_path, "measures.docx", data))
    assert src.fmt == "docx"
    assert src.text.split("\n") == [
        TITLE,
        ARTICLES[0],
        ARTICLES[1],
        "第三条　各级行政执法机关应当依法履职。",
        "| 任务 | 责任单位 |",
        "| 落实三项制度 | 省司法厅 |",
    ]
    assert "内部资料" not in src.text
    assert src.meta["title"] == TITLE


def test_docx_heading_is_never_joined(tmp_path):
    heading = "一、深入学习贯彻习近平法治思想，努力实现法治政府建设全面突破"
    data = docx_bytes(heading, ["党的十八大以来，各地区各部门多措并举、改革创新。"])
    assert load(write(tmp_path, "h.docx", data)).text.split("\n")[0] == heading


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04" + b"\x00" * 100, "DOCX is corrupt or not a Word document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "DOCX is password-protected"),
        (b"just some text", "DOCX is corrupt or not a Word document"),
    ],
)
def test_bad_docx(tmp_path, data, expected):
    assert reason(write(tmp_path, "bad.docx", data)).startswith(expected)


def test_truncated_and_foreign_zip_docx(tmp_path):
    good = docx_bytes(TITLE, [ARTICLES[0]])
    assert reason(write(tmp_path, "cut.docx", good[: len(good) // 2])).startswith("DOCX is corrupt")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    assert reason(write(tmp_path, "zip.docx", buf.getvalue())).startswith("DOCX is corrupt")


def test_docx_without_text_is_empty(tmp_path):
    buf = io.BytesIO()
    Document().save(buf)
    assert reason(write(tmp_path, "blank.docx", buf.getvalue())).startswith("file is empty")


# ── HTML ──────────────────────────────────────────────────────────────────────

HTML = """<!DOCTYPE html>
<html><head><meta charset="{charset}"><title>网站首页 - 某某政府网</title>
<style>p {{ color: red }}</style><script>var a = "第九条 脚本";</script></head>
<body>
<nav><a href="/">首页</a> | <a href="/zc">政策</a></nav>
<div class="article">
<h1>{title}</h1>
<!-- 正文开始 -->
<p>第一条　为了规范本市<span>行政执法</span>行为，<b>保障</b>和监督行政机关有效实施行政管理，
制定本办法。</p>
<p>第二条&nbsp;本办法适用于本市。<br>第三条　本办法自2024年1月1日起施行。</p>
<table><tr><th>事项</th><th>时限</th></tr><tr><td>公示</td><td>7日</td></tr></table>
<ul><li>附件1</li><li>附件2</li></ul>
</div>
<footer>版权所有</footer>
</body></html>"""


@pytest.mark.parametrize(("charset", "encoding"), [("utf-8", "utf-8"), ("gbk", "gb18030"), ("utf-16", "utf-16")])
@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_block_text(tmp_path, charset, encoding, suffix):
    data = HTML.format(charset=charset, title=TITLE).encode(encoding)
    src = load(write(tmp_path, "page" + suffix, data))
    assert src.fmt == "html"
    assert src.text.split("\n") == [
        TITLE,
        "第一条　为了规范本市行政执法行为，保障和监督行政机关有效实施行政管理，制定本办法。",
        "第二条\u00a0本办法适用于本市。",
        "第三条　本办法自2024年1月1日起施行。",
        "| 事项 | 时限 |",
        "| 公示 | 7日 |",
        "附件1",
        "附件2",
        "版权所有",
    ]
    assert src.meta["title"] == TITLE
    assert src.meta["effective"] == "2024-01-01"


def test_html_without_visible_text_is_empty(tmp_path):
    data = "<html><head><title>空</title><script>x=1</script></head><body> <!-- c --> </body></html>"
    assert reason(write(tmp_path, "blank.html", data)).startswith("file is empty")


# ── files that are not there or not supported ────────────────────────────────


@pytest.mark.parametrize("name", ["old.doc", "notes.rtf", "scan.jpg", "README", "data.xlsx"])
def test_unsupported_extensions(tmp_path, name):
    message = reason(write(tmp_path, name, "第一条　内容。"))
    assert message.startswith("unsupported file type") and ".docx" in message and ".pdf" in message


def test_missing_file_and_directory(tmp_path):
    assert reason(tmp_path / "nope.md") == "no such file or folder; check the path"
    assert reason(tmp_path / "no-such-folder") == "no such file or folder; check the path"  # not "unsupported type"
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert reason(folder).startswith("is a directory")


def test_unexpected_reader_failure_is_a_load_error(tmp_path, monkeypatch):
    import ingest.loaders as loaders

    def explode(data, path):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(loaders._TEXT_READERS, "html", explode)
    message = reason(write(tmp_path, "deep.html", "<p>x</p>"))
    assert message.startswith("cannot read this html file (RecursionError")
