"""The structure parser on real texts (read by path) and on the tricky cases they contain."""

from __future__ import annotations

import pytest

from ingest.loaders import load
from kb.model import Provision
from kb.structure import parse_structure, walk
from tests.conftest import national, sample


def articles(roots: list[Provision]) -> list[Provision]:
    return [n for n in walk(roots) if n.kind == "article"]


def test_law_articles_chapters_and_paragraphs():
    src = load(sample("law_xingzheng-chufa-fa_2021.md"))
    parsed = parse_structure(src.text, "law")
    assert parsed.style == "law"
    arts = articles(parsed.roots)
    assert [a.label for a in arts] == [f"第{n}条" for n in _cn_range(1, 86)]
    chapters = [n for n in parsed.roots if n.kind == "chapter"]
    assert chapters[0].label == "第一章" and chapters[0].title == "总则"
    art33 = next(a for a in arts if a.label == "第三十三条")
    # 第三十三条 has three 款: 首违不罚, 无主观过错, 教育
    assert [p.label for p in art33.children] == ["第一款", "第二款", "第三款"]
    assert src.text[art33.start:art33.end].startswith("第三十三条")
    # 第九条 lists the kinds of penalty as 项 under its single 款
    art9 = next(a for a in arts if a.label == "第九条")
    assert len(art9.children[0].children) == 6
    assert src.text[art9.children[0].children[0].start:].startswith("（一）警告、通报批评")


def test_sections_nest_under_chapters():
    src = load(sample("law_xingzheng-chufa-fa_2021.md"))
    parsed = parse_structure(src.text, "law")
    ch5 = next(n for n in parsed.roots if n.label == "第五章")
    assert [s.label for s in ch5.children if s.kind == "section"] == ["第一节", "第二节", "第三节", "第四节"]
    assert any(a.label == "第六十四条" for a in articles(ch5.children))


def test_cross_reference_at_line_start_is_not_an_article():
    text = "\n".join([
        "某某条例", "第一条 为了规范管理，制定本条例。",
        "第二条 本条例适用于本市。",
        "第二条规定的单位，应当建立制度。",  # a 款 of 第二条 that starts with a reference
        "第三条 违反本条例第二条规定的，责令改正。",
        "第三十条之一的规定适用于本条。",
    ])
    parsed = parse_structure(text, "regulation")
    arts = articles(parsed.roots)
    assert [a.label for a in arts] == ["第一条", "第二条", "第三条"]
    assert [p.label for p in arts[1].children] == ["第一款", "第二款"]
    assert len(arts[2].children) == 2


def test_article_without_space_accepted_only_in_sequence():
    text = "某法\n第一条为了规范，制定本法。\n第二条本法适用于全国。\n第三条规定的事项另行规定。\n第三条国家建立制度。"
    arts = articles(parse_structure(text, "law").roots)
    assert [a.label for a in arts] == ["第一条", "第二条", "第三条"]
    assert "第三条规定的事项" in text[arts[1].start:arts[1].end]


def test_revision_line_that_starts_like_an_article_stays_in_header():
    src = load(national("行政法/文物保护法(2017-11-04).md"))
    arts = articles(parse_structure(src.text, "law").roots)
    assert arts[0].label == "第一条"
    assert _contiguous(arts)


def test_article_zhi_yi_and_thousands():
    crim = articles(parse_structure(load(national("刑法/刑法.md")).text, "law").roots)
    labels = [a.label for a in crim]
    assert "第十七条之一" in labels and "第一百二十条之一" in labels
    civil = articles(parse_structure(load(national("民法典/附则.md")).text, "law").roots)
    assert [a.label for a in civil] == ["第一千二百五十九条", "第一千二百六十条"]


def test_table_of_contents_is_skipped():
    text = "\n".join([
        "某某法", "目录", "第一章 总则", "第二章 管理", "第三章 附则",
        "第一章 总则", "第一条 为了规范，制定本法。", "第二章 管理", "第二条 管理制度。",
        "第三章 附则", "第三条 本法自公布之日起施行。",
    ])
    parsed = parse_structure(text, "law")
    chapters = [n for n in parsed.roots if n.kind == "chapter"]
    assert [c.label for c in chapters] == ["第一章", "第二章", "第三章"]
    assert all(len(articles([c])) == 1 for c in chapters)


def test_plan_outline_with_tasks_and_duties():
    src = load(sample("plan_liaozhengbanfa-2023-18_tisheng-xingzheng-zhifa-zhiliang.md"))
    parsed = parse_structure(src.text, "plan")
    assert parsed.style == "outline"
    top = [n.label for n in parsed.roots if n.kind == "heading"]
    assert top == ["一", "二", "三"]
    two = next(n for n in parsed.roots if n.label == "二")
    group1 = two.children[0]
    assert group1.label == "（一）" and group1.title == "全面提升行政执法人员能力素质"
    task2 = group1.children[1]
    assert task2.label == "2" and task2.title == "着力抓好业务培训"
    assert "不少于60学时" in src.text[task2.start:task2.end]
    assert task2.attrs["责任单位"] == "省司法厅、省直各行政执法部门"
    assert task2.attrs["完成时限"].startswith("2024年6月底前")
    # nested parentheses inside the duty units
    task11 = next(n for n in walk(parsed.roots) if n.label == "11")
    assert task11.attrs["责任单位"].startswith("省营商局（省大数据局）")


def test_policy_in_article_form_uses_law_grammar():
    src = load(sample("policy_fazhi-zhengfu-jianshe-yu-zeren-luoshi-ducha-guiding_2019.md"))
    parsed = parse_structure(src.text, "policy")
    assert parsed.style == "law"
    assert _contiguous(articles(parsed.roots))


def test_case_sections():
    src = load(sample("case_spc-xingzheng-xieyi-dianxing-anli-pi2_01-zhongshan.md"))
    parsed = parse_structure(src.text, "case")
    labels = [n.label for n in parsed.roots]
    assert labels[1:] == ["基本案情", "裁判结果", "典型意义"]


@pytest.mark.parametrize("text", ["", "只有一句话，没有任何结构。", "一、\n（一）"])
def test_odd_input_never_raises(text):
    parse_structure(text, "policy")


def _contiguous(arts: list[Provision]) -> bool:
    from kb.numerals import label_number

    numbers = [label_number(a.label) for a in arts]
    main = [n for n, sub in numbers if sub == 0]
    return main == list(range(1, len(main) + 1))


def _cn_range(a: int, b: int) -> list[str]:
    from kb.numerals import int_to_cn

    return [int_to_cn(n) for n in range(a, b + 1)]


def test_source_typos_and_run_on_articles_are_repaired():
    """Real defects in the national corpus: 「第一百二十八 条」, 「笫五十四条」, and articles
    run together on one line (「…制定本规则。 第二条 凡…」)."""
    for rel in ("诉讼与非诉讼程序法/刑事诉讼法(2018-10-26).md", "民法商法/农民专业合作社法(2017-12-27).md",
                "行政法规/飞行基本规则(2007-10-18).md"):
        src = load(national(rel))
        arts = articles(parse_structure(src.text, "law").roots)
        assert _contiguous(arts), rel
        for a in arts:  # every article still starts at its own label
            assert src.text[a.start:a.end].lstrip("笫第").strip()


def test_run_on_split_keeps_offsets():
    text = "某规则\n第一条 为了规范，制定本规则。 第二条 凡在境内的，遵守本规则。\n第三条 本规则自公布之日起施行。"
    arts = articles(parse_structure(text, "rule").roots)
    assert [a.label for a in arts] == ["第一条", "第二条", "第三条"]
    assert text[arts[1].start:arts[1].end] == "第二条 凡在境内的，遵守本规则。"
    assert text[arts[0].start:arts[0].end] == "第一条 为了规范，制定本规则。"


@pytest.mark.parametrize(("rel", "cause"), [
    ("民法商法/公司法(2023-12-29).md", "\u200b\n"),  # a line of only U+200B around every heading
    # a heading wrapped onto two lines
    ("诉讼与非诉讼程序法/刑事诉讼法(2018-10-26).md", "死亡案件\n违法所得的没收程序"),
])
def test_lines_between_a_heading_and_its_first_article_do_not_stretch_the_preamble(rel, cause):
    """A line after a heading and before its first article once extended the 序言 up to
    that line, so the preamble covered the whole law and every article was indexed twice
    (once as 「序言」). Seen in 35 files of the national corpus."""
    src = load(national(rel))
    assert cause in src.text
    roots = parse_structure(src.text, "law").roots
    first_article = next(n for n in walk(roots) if n.kind == "article")
    preamble = [n for n in roots if n.kind == "preamble"]
    assert first_article.label == "第一条"
    assert all(p.end <= first_article.start for p in preamble)
    assert "第一条" not in "".join(src.text[p.start:p.end] for p in preamble)


def test_text_under_a_heading_before_its_first_article_stays_with_the_heading():
    text = ("某某条例\n第一章 总则\n本章说明性文字，不是条文。\n"
            "第一条 为了规范管理，制定本条例。\n第二条 本条例自公布之日起施行。\n")
    roots = parse_structure(text, "law").roots
    assert [n.kind for n in roots] == ["preamble", "chapter"]
    preamble, chapter = roots
    assert text[preamble.start:preamble.end] == "某某条例"
    assert "本章说明性文字" in text[chapter.start:chapter.end]
    assert [a.label for a in chapter.children] == ["第一条", "第二条"]
