from kb.aliases import aliases_for
from kb.query import find_references, jargon_in, normalize_query, remainder, unheld_references, with_jargon

NAMES = [
    name
    for short in ("行政处罚法", "行政诉讼法", "安全生产法", "治安管理处罚法")
    for name in aliases_for(f"中华人民共和国{short}", short)
]


def refs(q):
    q = normalize_query(q)
    return [(r.name, r.article, r.paragraph) for r in find_references(q, NAMES)]


def test_explicit_references():
    assert refs("处罚法第三十三条") == [("处罚法", "第三十三条", None)]
    assert refs("行诉法33条") == [("行诉法", "第三十三条", None)]
    assert refs("《中华人民共和国行政处罚法》第六十四条第二款规定了什么") == [
        ("中华人民共和国行政处罚法", "第六十四条", 2)]
    assert refs("安法第９４条") == [("安法", "第九十四条", None)]
    assert refs("治安管理处罚法第一百零四条") == [("治安管理处罚法", "第一百零四条", None)]


def test_name_without_article_and_remainder():
    q = normalize_query("处罚法 听证")
    found = find_references(q, NAMES)
    assert [(r.name, r.article) for r in found] == [("处罚法", None)]
    assert remainder(q, found) == "听证"


def test_no_reference():
    assert refs("当场收缴罚款的情形") == []


def test_normalize_caps_and_folds():
    assert normalize_query("  ＡＢＣ　１２３ ") == "ABC 123"
    assert len(normalize_query("字" * 5000)) == 500
    assert normalize_query("   ") == ""


def test_laws_cited_by_article_that_the_library_does_not_hold():
    def unheld(q):
        return unheld_references(normalize_query(q), NAMES)

    assert unheld("刑法第二十条规定了什么") == ["刑法"]
    assert unheld("请问刑法第２０条") == ["刑法"]  # lead-in words and full-width digits
    assert unheld("根据道路运输条例第十条") == ["道路运输条例"]
    assert unheld("《消防法》第十六条") == ["消防法"]
    assert unheld("劳动合同法的第八十二条") == ["劳动合同法"]
    assert unheld("民法典第一千一百六十五条怎么理解") == ["民法典"]
    assert unheld("公司法第三条和行政处罚法第三十三条") == ["公司法"]
    assert unheld("醉驾适用刑法第一百三十三条之一吗") == ["刑法"]  # verbs before a name are not the name
    # held names (also behind a prefix), pronouns, bare kinds and articles without a law stay out
    for q in ("行政处罚法第三十三条", "新行政处罚法第三十三条", "《中华人民共和国行政处罚法》第六十四条",
              "处罚法第33条", "本法第二十条", "该条例第三条", "按照规定第三条", "第二十条规定了什么",
              "刑法怎么规定正当防卫", "违反本法第十条", "上位法第十条", "《行政处罚法（2021修订）》第三十三条"):
        assert unheld(q) == [], q


def test_a_held_short_name_inside_another_laws_name_is_not_that_law():
    """诉讼法 (an alias of 行政诉讼法) inside 刑事诉讼法 names another law: no reference to
    行政诉讼法第十条, and the cited law is reported as not held."""
    q = normalize_query("刑事诉讼法第十条")
    assert "诉讼法" in NAMES
    assert find_references(q, NAMES) == []
    assert unheld_references(q, NAMES) == ["刑事诉讼法"]
    for held in ("违反治安管理处罚法第十条", "按照行政诉讼法第三十三条", "新行政处罚法第三十三条"):
        assert [r.article for r in find_references(normalize_query(held), NAMES)] != [], held


def test_officers_names_for_rules_get_the_statutes_wording_once():
    first = "初次违法且危害后果轻微并及时改正的，可以不予行政处罚"
    assert with_jargon("首违不罚是什么意思") == f"首违不罚是什么意思 {first}"
    assert [n for n, _ in jargon_in("首违免罚和一事不再罚")] == ["一事不再罚", "首违免罚"]
    assert with_jargon("无主观过错不罚") == "无主观过错不罚 当事人有证据足以证明没有主观过错的，不予行政处罚"
    assert with_jargon("今天天气怎么样") == "今天天气怎么样"  # nothing else is touched
    worded = "初次违法且危害后果轻微并及时改正的，可以不予行政处罚，首违不罚"
    assert with_jargon(worded) == worded  # already in the statute's words


def test_every_glossary_wording_is_the_statutes_own():
    """The wording added for a name must be text of the law it names (so what is searched is
    what the statute says), not our paraphrase."""
    import re
    from importlib import resources

    import pytest

    from tests.conftest import SAMPLE

    if not SAMPLE.is_dir():
        pytest.skip(f"sample corpus not found at {SAMPLE}")
    laws = {f.read_text(encoding="utf-8")[:400]: re.sub(r"\s+", "", f.read_text(encoding="utf-8"))
            for f in SAMPLE.glob("law_*.md")}
    rows = [line.split("\t") for line in resources.files("kb.resources").joinpath("jargon.tsv")
            .read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    assert len(rows) >= 10
    for _names, wording, source in rows:
        law = source.split()[0]
        assert any(law in head and wording in text for head, text in laws.items()), (wording, law)
