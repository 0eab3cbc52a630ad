"""Scenario drills: the loader's errors (file, line, field; all-or-nothing) and the shipped
drills in corpus/scenarios/ against a knowledge base of exactly the laws they cite."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest

from kb.errors import NotFoundError
from kb.model import Hit
from kb.numerals import canonical_label
from kb.quiz.drills import DrillError, load_drills
from kb.quiz.model import FIELDS, SKILLS
from kb.quiz.resolve import KBResolver
from kb.store import open_store
from tests.conftest import make_settings, sample

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "corpus" / "scenarios"
# The laws the shipped drills cite (checked by test_shipped_drills_cite_only_these_laws).
DRILL_LAWS = (
    "law_xingzheng-chufa-fa_2021.md", "law_xingzheng-qiangzhi-fa_2011.md", "law_shipin-anquan-fa_2021.md",
    "law_chengxiang-guihua-fa_2019.md", "law_anquan-shengchan-fa_2021.md", "law_daolu-jiaotong-anquan-fa_2021.md",
    "law_huanjing-baohu-fa_2014.md", "law_zhian-guanli-chufa-fa_2012.md",
)


class StubResolver:
    """Two provisions of 行政处罚法; anything else does not exist."""

    TEXT: ClassVar[dict[str, str]] = {
        "第五十六条": "第五十六条 …可以先行登记保存，并应当在七日内及时作出处理决定…",
        "第三十三条": "第三十三条 初次违法且危害后果轻微并及时改正的，可以不予行政处罚。"}

    def resolve(self, law: str, article: str) -> list[Hit]:
        article = canonical_label(article)
        if law not in {"行政处罚法", "处罚法"} or article not in self.TEXT:
            raise NotFoundError(f"《行政处罚法》 has no {article}")
        return [Hit(f"行政处罚法@2021-01-22/{article}", "行政处罚法@2021-01-22", article, "中华人民共和国行政处罚法",
                    "行政处罚法", "law", "current", "2021-01-22", "", self.TEXT[article], 1.0)]


GOOD = """\
id: {id}
title: 证据先行登记保存
领域: 市场监管
技能: [调查取证]
narrative: 店员想把过期商品搬走。
steps:
  - prompt: 怎么办？
    question:
      type: blank
      stem: 经批准先行登记保存的，应当在______内及时作出处理决定。
      answer: 七日
      explanation: 行政处罚法第五十六条。
    feedback: 七日内作出处理决定。
    provisions:
      - law: 处罚法
        article: 第五十六条
        quote: 并应当在七日内及时作出处理决定
  - prompt: 首违？
    question:
      type: judge
      stem: 初次违法且危害后果轻微并及时改正的，应当给予行政处罚。
      answer: 错
      explanation: 可以不予行政处罚。
    feedback: 首违可以不罚。
    provisions:
      - law: 行政处罚法
        article: 第33条
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(paths, resolver=None) -> list[str]:
    with pytest.raises(DrillError) as info:
        load_drills(paths, resolver or StubResolver())
    return [str(p) for p in info.value.problems]


def test_a_good_drill_loads_with_sources_and_tags(tmp_path):
    path = write(tmp_path, "a.yaml", GOOD.format(id="evidence"))
    [drill] = load_drills([tmp_path], StubResolver())
    assert (drill.id, drill.field, drill.skills, drill.source_file) == ("evidence", "市场监管", ["调查取证"], str(path))
    blank, judge = (s.question for s in drill.steps)
    assert (blank.qtype, blank.answer, blank.options) == ("blank", "七日", [])
    assert (judge.qtype, judge.answer, judge.options) == ("judge", "B", ["对", "错"])
    assert blank.sources[0].chunk_key == "行政处罚法@2021-01-22/第五十六条"
    assert blank.sources[0].quote == "并应当在七日内及时作出处理决定"
    assert judge.sources[0].path == "第三十三条" and judge.tags["法规"] == ["行政处罚法"]
    assert judge.id == "drill:evidence:2" and judge.state == "draft"


def test_a_missing_field_names_file_line_and_field(tmp_path):
    text = GOOD.format(id="x").replace("      explanation: 可以不予行政处罚。\n", "")
    path = write(tmp_path, "missing.yaml", text)
    assert problems_of([path]) == [f"{path}:20: steps[2].question.explanation: missing required field"]


def test_a_cited_provision_that_does_not_exist(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.format(id="x").replace("第33条", "第九百条"))
    [problem] = problems_of([path])
    assert problem.startswith(f"{path}:27: steps[2].provisions[1].article: cited provision not found:")
    assert "第九百条" in problem


def test_a_quote_not_in_the_article(tmp_path):
    path = write(tmp_path, "q.yaml", GOOD.format(id="x").replace("并应当在七日内", "并应当在五日内"))
    assert problems_of([path]) == [
        f"{path}:17: steps[1].provisions[1].quote: not found verbatim in 行政处罚法第五十六条"]


def test_malformed_yaml_gives_its_line(tmp_path):
    path = write(tmp_path, "broken.yaml", GOOD.format(id="x").replace("    feedback: 首违可以不罚。",
                                                                      "    feedback: [首违可以不罚。"))
    [problem] = problems_of([path])
    assert problem.startswith(f"{path}:") and "(yaml): malformed YAML" in problem
    line = int(problem.split(":")[1])
    assert 24 <= line <= 27


def test_unknown_fields_types_and_answers_are_reported_together(tmp_path):
    text = (GOOD.format(id="x").replace("领域: 市场监管", "领域: 海关")
            .replace("  - prompt: 怎么办？", "  - promt: 怎么办？").replace("answer: 错", "answer: 也许"))
    path = write(tmp_path, "many.yaml", text)
    found = problems_of([path])
    assert f"{path}:3: 领域: unknown field '海关' (expected one of: {', '.join(FIELDS)})" in found
    assert any(p.startswith(f"{path}:7: steps[1].promt: unknown field") for p in found)
    assert f"{path}:7: steps[1].prompt: missing required field" in found
    assert f"{path}:22: steps[2].question.answer: a judge answer is 对 or 错, not '也许'" in found


def test_duplicate_ids_across_files_and_nothing_is_partly_imported(tmp_path):
    first = write(tmp_path, "a.yaml", GOOD.format(id="same"))
    second = write(tmp_path, "b.yaml", GOOD.format(id="same"))
    write(tmp_path, "c.yaml", GOOD.format(id="fine"))
    assert problems_of([tmp_path]) == [f"{second}:1: id: duplicate id 'same' (also in {first}:1)"]
    second.unlink()
    assert [d.id for d in load_drills([tmp_path], StubResolver())] == ["same", "fine"]


def test_drill_ids_are_usable_as_question_ids(tmp_path):
    path = write(tmp_path, "id.yaml", GOOD.format(id="食品 检查"))
    [problem] = problems_of([path])
    assert problem.startswith(f"{path}:1: id: id '食品 检查' must be 1–64 ASCII letters")


def test_choice_answers_must_name_options(tmp_path):
    text = GOOD.format(id="x").replace(
        "      type: blank\n", "      type: single\n      options: [甲, 乙, 丙]\n").replace("answer: 七日", "answer: D")
    path = write(tmp_path, "letters.yaml", text)
    assert problems_of([path]) == [f"{path}:12: steps[1].question.answer: answer 'D' must name options A–C"]


# -- the shipped drills, against the laws they cite --------------------------------------
@pytest.fixture(scope="module")
def law_kb(tmp_path_factory):
    """Just the eight laws the drills cite (vectors from the shared test cache)."""
    from ingest.pipeline import Ingestor

    settings = make_settings(tmp_path_factory.mktemp("drill_laws"))
    ingestor = Ingestor(settings)
    report = ingestor.ingest([sample(n) for n in DRILL_LAWS])
    ingestor.close()
    assert not report.failed, report.failed
    store = open_store(settings)
    yield KBResolver(store)
    store.close()


def test_shipped_drills_validate_against_the_corpus(law_kb):
    drills = load_drills([SCENARIOS], law_kb)
    assert len(drills) >= 8
    assert {s for d in drills for s in d.skills} >= {"现场检查", "调查取证", "应急处置", "文书制作"}
    assert len({d.field for d in drills}) >= 4
    assert all(d.field in FIELDS and set(d.skills) <= set(SKILLS) for d in drills)
    for d in drills:
        for step in d.steps:
            q = step.question
            assert q.sources and all(ref.quote for ref in q.sources), (d.id, step.prompt)
            if q.qtype == "blank":
                assert any(q.answer in ref.quote for ref in q.sources)
    cited = {ref.doc_key for d in drills for s in d.steps for ref in s.question.sources}
    assert {k.split("@")[0] for k in cited} == {"行政处罚法", "行政强制法", "食品安全法", "城乡规划法", "安全生产法",
                                                 "道路交通安全法", "环境保护法", "治安管理处罚法"}


def test_a_shipped_drill_citing_a_missing_article_fails_clearly(law_kb, tmp_path):
    copy = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, copy)
    victim = copy / "04-seal-and-seize.yaml"
    text = victim.read_text(encoding="utf-8")
    victim.write_text(text.replace("article: 第二十五条", "article: 第二百五十条", 1), encoding="utf-8")
    line = text.splitlines().index("        article: 第二十五条") + 1
    with pytest.raises(DrillError) as info:
        load_drills([copy], law_kb)
    [problem] = info.value.problems
    assert (problem.file, problem.line) == (str(victim), line)
    assert re.fullmatch(r"steps\[\d\]\.provisions\[1\]\.article", problem.field)
    assert "行政强制法" in problem.message and "第二百五十条" in problem.message


def test_names_resolve_like_the_retriever(law_kb):
    assert law_kb.resolve("处罚法", "第56条")[0].chunk_key == "行政处罚法@2021-01-22/第五十六条"
    assert law_kb.resolve("《中华人民共和国行政强制法》", "第二十五条")[0].short_title == "行政强制法"
    with pytest.raises(NotFoundError):
        law_kb.resolve("海关法", "第一条")
