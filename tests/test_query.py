from kb.aliases import aliases_for
from kb.query import find_references, normalize_query, remainder

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
