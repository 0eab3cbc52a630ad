"""kb.metadata: what a header block says, filled in only where the front matter is silent."""

from __future__ import annotations

import pytest

from ingest.loaders import load
from kb.metadata import guess_doc_type, infer_metadata, short_title
from tests.conftest import national, sample

LAW = "\n".join([
    "中华人民共和国行政处罚法",
    "1996年3月17日 第八届全国人民代表大会第四次会议通过",
    "2009年8月27日 第十一届全国人民代表大会常务委员会第十次会议《关于修改部分法律的决定》第一次修正",
    "2017年9月1日 第十二届全国人民代表大会常务委员会第二十九次会议"
    "《关于修改〈中华人民共和国法官法〉等八部法律的决定》第二次修正",
    "2021年1月22日 第十三届全国人民代表大会常务委员会第二十五次会议修订",
    "第一章 总则",
    "第一条 为了规范行政处罚的设定和实施，根据宪法，制定本法。",
    "第八十六条 本法自2021年7月15日起施行。",
])


def test_law_header_block():
    meta = infer_metadata(LAW, {}, "行政法/行政处罚法(2021-01-22).md")
    assert meta["title"] == "中华人民共和国行政处罚法"
    assert meta["short_title"] == "行政处罚法"
    assert meta["revisions"] == [
        "1996-03-17 第八届全国人民代表大会第四次会议通过",
        "2009-08-27 第十一届全国人民代表大会常务委员会第十次会议《关于修改部分法律的决定》第一次修正",
        "2017-09-01 第十二届全国人民代表大会常务委员会第二十九次会议"
        "《关于修改〈中华人民共和国法官法〉等八部法律的决定》第二次修正",
        "2021-01-22 第十三届全国人民代表大会常务委员会第二十五次会议修订",
    ]
    assert meta["promulgated"] == "2021-01-22"
    assert meta["effective"] == "2021-07-15"
    assert meta["version"] == "2021-01-22"
    assert meta["issuer"] == "全国人民代表大会常务委员会"
    assert meta["doc_type"] == "law"
    assert meta["status"] == "current"


def test_declared_values_win_and_are_not_overwritten():
    declared = {"title": "自定义标题", "promulgated": "2020-01-01", "status": "amended", "doc_type": "rule",
                "revisions": ["2020-01-01 x"], "issuer": "某部"}
    meta = infer_metadata(LAW, declared, "x.md")
    for key, value in declared.items():
        assert meta[key] == value
    assert meta["effective"] == "2021-07-15"  # not declared: inferred
    assert declared == {"title": "自定义标题", "promulgated": "2020-01-01", "status": "amended",
                        "doc_type": "rule", "revisions": ["2020-01-01 x"], "issuer": "某部"}


def test_amended_text_keeps_the_original_effective_date_apart():
    text = """中华人民共和国某某法
1990年9月7日 第七届全国人民代表大会常务委员会第十五次会议通过
2010年2月26日 第十一届全国人民代表大会常务委员会第十三次会议《关于修改〈中华人民共和国某某法〉的决定》第一次修正
第一条 为了规范某某，制定本法。
第六十条 本法自1991年6月1日起施行。"""
    meta = infer_metadata(text, {}, "某某法(2010-02-26).md")
    assert meta["promulgated"] == "2010-02-26"
    assert "effective" not in meta
    assert meta["first_effective"] == "1991-06-01"


def test_effective_on_promulgation():
    text = ("某某条例\n2019年4月3日 中华人民共和国国务院令第711号公布\n"
            "第一条 为了规范某某，制定本条例。\n第二条 本条例自公布之日起施行。")
    meta = infer_metadata(text, {}, "x.md")
    assert meta["promulgated"] == meta["effective"] == "2019-04-03"
    assert meta["doc_number"] == "国务院令第711号"
    assert meta["issuer"] == "国务院"
    assert meta["doc_type"] == "regulation"


def test_header_effective_line_and_ministry_order():
    text = ("市场监督管理行政处罚信息公示规定\n2021年7月30日 国家市场监督管理总局令第45号公布\n2021年9月1日 施行\n"
            "第一条 为了加快构建新型市场监管机制，制定本规定。")
    meta = infer_metadata(text, {}, "x.md")
    assert meta["effective"] == "2021-09-01"
    assert meta["revisions"] == ["2021-07-30 国家市场监督管理总局令第45号公布"]
    assert meta["doc_number"] == "国家市场监督管理总局令第45号"
    assert meta["issuer"] == "国家市场监督管理总局"
    assert meta["doc_type"] == "rule"


def test_one_line_history_in_brackets():
    text = ("市场监督管理行政处罚程序规定\n（2018年12月21日国家市场监督管理总局令第2号公布 "
            "根据2021年7月2日国家市场监督管理总局令第42号第一次修正 "
            "根据2022年9月29日国家市场监督管理总局令第61号第二次修正）\n第一章 总则")
    meta = infer_metadata(text, {}, "x.md")
    assert meta["revisions"] == [
        "2018-12-21 国家市场监督管理总局令第2号公布",
        "2021-07-02 国家市场监督管理总局令第42号第一次修正",
        "2022-09-29 国家市场监督管理总局令第61号第二次修正",
    ]
    assert meta["promulgated"] == meta["version"] == "2022-09-29"
    assert meta["doc_number"] == "国家市场监督管理总局令第2号"


def test_two_bodies_adopting_one_interpretation():
    text = ("最高人民法院、最高人民检察院关于办理环境污染刑事案件适用法律若干问题的解释\n"
            "2023年3月27日 最高人民法院审判委员会第1882次会议、"
            "2023年7月27日最高人民检察院第十四届检察委员会第十次会议通过\n"
            "2023年8月15日 施行\n第一条 实施刑法规定的行为，应当认定为“严重污染环境”。")
    meta = infer_metadata(text, {}, "x.md")
    assert meta["revisions"] == [
        "2023-03-27 最高人民法院审判委员会第1882次会议通过",
        "2023-07-27 最高人民检察院第十四届检察委员会第十次会议通过",
    ]
    assert meta["issuer"] == "最高人民法院、最高人民检察院"
    assert meta["doc_type"] == "interpretation"
    assert meta["effective"] == "2023-08-15"


def test_red_header_document():
    text = """某某市人民政府办公厅文件
某政办发〔2023〕7号
某某市人民政府办公厅关于印发 《某某市行政执法 三年行动方案》的通知
各区人民政府，市政府各部门：
《某某市行政执法三年行动方案》已经市政府同意，现印发给你们，请认真贯彻落实。
某某市人民政府办公厅
二〇二三年十二月十日
（此件公开发布）
一、总体要求"""
    meta = infer_metadata(text, {}, "notice.docx")
    assert meta["title"] == "某某市行政执法三年行动方案"
    assert meta["doc_number"] == "某政办发〔2023〕7号"
    assert meta["promulgated"] == "2023-12-10"
    assert meta["issuer"] == "某某市人民政府办公厅"
    assert meta["doc_type"] == "plan"
    assert meta["status"] == "unknown"
    assert "revisions" not in meta


def test_signature_at_the_end_and_number_in_the_title():
    text = ("国发〔2019〕18号国务院关于加强和规范事中事后监管的指导意见\n各省、自治区、直辖市人民政府：\n"
            "一、总体要求\n（一）指导思想。坚持依法监管。\n国务院\n2019年9月6日")
    meta = infer_metadata(text, {}, "x.html")
    assert meta["title"] == "国务院关于加强和规范事中事后监管的指导意见"
    assert meta["doc_number"] == "国发〔2019〕18号"
    assert meta["promulgated"] == "2019-09-06"
    assert meta["issuer"] == "国务院"
    assert meta["doc_type"] == "policy"


def test_title_falls_back_to_the_file_name():
    text = "（此件公开发布）\n第一条　为了规范执法，制定本办法。"
    meta = infer_metadata(text, {}, "/x/某某县执法办法(2020-05-01).txt")
    assert meta["title"] == "某某县执法办法"
    assert meta["version"] == meta["promulgated"] == "2020-05-01"


@pytest.mark.parametrize(
    ("title", "issuer", "expected"),
    [
        ("中华人民共和国行政处罚法", "", "law"),
        ("中华人民共和国刑法修正案（十一）", "", "law"),
        ("全国人民代表大会常务委员会关于修改部分法律的决定", "全国人民代表大会常务委员会", "law"),
        ("优化营商环境条例", "", "regulation"),
        ("罚款决定与罚款收缴分离实施办法", "国务院", "regulation"),
        ("国务院关于鼓励台湾同胞投资的规定", "", "regulation"),
        ("市场监督管理行政处罚程序规定", "国家市场监督管理总局", "rule"),
        ("公安机关办理行政案件程序规定", "公安部", "rule"),
        ("最高人民法院关于适用《中华人民共和国行政诉讼法》的解释", "", "interpretation"),
        ("最高人民法院、最高人民检察院关于办理环境污染刑事案件适用法律若干问题的解释", "", "interpretation"),
        ("关于审理行政协议案件若干问题的规定", "最高人民法院", "interpretation"),
        ("辽宁省提升行政执法质量三年行动实施方案（2023—2025年）", "", "plan"),
        ("提升行政执法质量三年行动计划（2023—2025年）", "", "plan"),
        ("法治政府建设实施纲要（2021－2025年）", "", "policy"),
        ("国务院办公厅关于进一步规范行政裁量权基准制定和管理工作的意见", "国务院办公厅", "policy"),
        ("关于做好行政执法工作的通知", "", "policy"),
        ("中山市某房地产发展有限公司诉广东省中山市自然资源局要求解除行政协议案", "最高人民法院", "case"),
        ("某国际有限公司诉湖北省人民政府解除特许权协议及行政复议一案", "", "case"),
    ],
)
def test_doc_type_from_title_and_issuer(title, issuer, expected):
    assert guess_doc_type(title, issuer) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("national/行政法规/某某规定(2001-01-01).md", "regulation"),
        ("national/司法解释/人民检察院刑事诉讼规则(2019-12-02).md", "interpretation"),
        ("national/部门规章/公安部/交通警察道路执勤执法工作规范(2018-01-25).md", "rule"),
        ("national/案例/民法典/无偿搭乘亲友出事故 依法减轻赔偿责任.md", "case"),
        ("national/民法典/人格权编.md", "law"),
        ("sample/plan_liaozhengbanfa-2023-18.md", "plan"),
        ("sample/reg_laodong-baozhang-jiancha-tiaoli_2004.md", "regulation"),
    ],
)
def test_doc_type_from_collection_folders(path, expected):
    assert guess_doc_type("某某", "", path) == expected


@pytest.mark.parametrize(
    ("title", "short"),
    [("中华人民共和国行政处罚法", "行政处罚法"), ("《中华人民共和国行政许可法》", "行政许可法"),
     ("优化营商环境条例", "优化营商环境条例"), ("中华人民共和国", "中华人民共和国")],
)
def test_short_title(title, short):
    assert short_title(title) == short


# ── real corpus files: inference alone recovers what the front matter declares ───


def _text(path):
    return load(path).text


def test_real_law_matches_its_front_matter():
    path = sample("law_xingzheng-chufa-fa_2021.md")
    declared = load(path).meta
    inferred = infer_metadata(_text(path), {}, path)
    for key in ("title", "doc_type", "issuer", "promulgated", "effective"):
        assert inferred[key] == declared[key], key
    assert inferred["revisions"][-1] == "2021-01-22 第十三届全国人民代表大会常务委员会第二十五次会议修订"


@pytest.mark.parametrize(
    "name",
    [
        "plan_liaozhengbanfa-2023-18_tisheng-xingzheng-zhifa-zhiliang.md",
        "policy_guobanfa-2018-118_xingzheng-zhifa-sanxiang-zhidu.md",
        "policy_guobanfa-2022-27_xingzheng-cailiangquan-jizhun.md",
        "reg_laodong-baozhang-jiancha-tiaoli_2004.md",
        "rule_shichang-jianguan-xingzheng-chufa-xinxi-gongshi-guiding_2021.md",
    ],
)
def test_real_documents_match_their_front_matter(name):
    path = sample(name)
    declared = load(path).meta
    bare = path.with_name("document" + path.suffix)  # no file-name hints
    inferred = infer_metadata(_text(path), {}, bare)
    for key in ("title", "doc_type", "issuer", "doc_number", "promulgated", "effective"):
        if key in declared and key in inferred:
            assert inferred[key] == declared[key], key
    assert inferred["title"] == declared["title"]
    assert inferred["doc_type"] == declared["doc_type"]


def test_national_file_name_gives_the_version():
    meta = load(national("行政法/行政处罚法(2021-01-22).md")).meta
    assert meta["version"] == "2021-01-22"
    assert meta["title"] == "中华人民共和国行政处罚法"
    assert meta["doc_type"] == "law"
    assert meta["effective"] == "2021-07-15"


def test_national_case_collection():
    meta = load(national("案例/消费购物/齐某某诉罗某某网络信息购物合同纠纷案.md")).meta
    assert meta["doc_type"] == "case"
    assert meta["issuer"] == "最高人民法院"
    assert meta["promulgated"] == "2022-03-15"
