"""The question validator, on provisions parsed from the real sample laws (no store, no
model: ingest's own parse-and-chunk step gives the exact chunk texts the store would hold)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest

from kb.quiz.blanks import FactPool, window
from kb.quiz.facts import equivalent, find_facts
from kb.quiz.generate import generate_from_chunks
from kb.quiz.judge import judge_questions
from kb.quiz.model import Question
from kb.quiz.sentences import item_lists, sentences
from kb.quiz.source import SourceChunk, field_for
from kb.quiz.stems import BLANK, CHOICE, JUDGE_OPTIONS, judge_stem, question_id, slot_stem
from kb.quiz.validate import planted_change, slot_position, validate
from tests.conftest import sample


@cache
def law(name: str) -> tuple[SourceChunk, ...]:
    """The chunks of one sample file exactly as ingest makes them."""
    from ingest.loaders import load
    from ingest.pipeline import prepare

    doc, chunks, _style = prepare(load(sample(name)))
    return tuple(SourceChunk(doc.key, doc.title, doc.short_title, doc.doc_type, doc.version, c.path, c.part,
                             c.key, c.text, c.ordinal) for c in chunks)


CHUFA = "law_xingzheng-chufa-fa_2021.md"
FUYI = "law_xingzheng-fuyi-fa_2023.md"


def article(name: str, path: str) -> SourceChunk:
    return next(c for c in law(name) if c.path == path and c.part == 0)


def texts(name: str) -> dict[str, str]:
    return {c.chunk_key: c.text for c in law(name)}


def make(chunk: SourceChunk, qtype: str, stem: str, options: list[str], answer: str, quote: str) -> Question:
    """A question built by hand the way the generator builds one."""
    return Question(question_id(qtype, chunk.chunk_key, stem), qtype, stem, options, answer,
                    f"依据：「{quote}」", [chunk.ref(quote)], tags={"法规": [chunk.short_title]})


def single(chunk: SourceChunk, quote: str, key: str, distractors: list[str]) -> Question:
    pos = quote.index(key)
    stem = slot_stem(chunk.short_title, chunk.path, quote, pos, pos + len(key), CHOICE)
    return make(chunk, "single", stem, [key, *distractors], "A", quote)


# -- blank / single ------------------------------------------------------------------------
def test_a_well_made_single_choice_passes():
    c = article(CHUFA, "第五十六条")
    q = single(c, "经行政机关负责人批准，可以先行登记保存，并应当在七日内及时作出处理决定", "七日内",
               ["三日内", "十五日内", "三十日内"])
    assert validate(q, texts(CHUFA)) == []


def test_a_distractor_that_is_also_correct_is_rejected():
    # 行政复议法: the 普通程序 answer is due in 十日内 (第四十八条), the 简易程序 one in 五日内
    # (第五十四条) with otherwise identical words. 五日内 planted as a distractor for the first
    # would make a true sentence of the same law.
    c = article(FUYI, "第四十八条")
    quote = next(s.text for s in sentences(c.text) if "十日内" in s.text)
    q = single(c, quote, "十日内", ["五日内", "三十日内", "六十日内"])
    problems = validate(q, texts(FUYI))
    assert problems == ["distractor 「五日内」 gives a sentence the document contains"]


def test_a_distractor_found_in_the_source_sentence_is_rejected():
    c = article(CHUFA, "第五十一条")  # 对公民处以二百元以下、对法人或者其他组织处以三千元以下罚款
    quote = next(s.text for s in sentences(c.text) if "二百元以下" in s.text)
    q = single(c, quote, "二百元以下", ["三千元以下", "五百元以下", "一千元以下"])
    assert "distractor 「三千元以下」 appears in the source sentence" in validate(q, texts(CHUFA))


def test_the_same_value_spelled_differently_is_not_a_distractor():
    assert equivalent("两名以上", "二名以上") and equivalent("县级以上人民政府", "县级以上地方人民政府")
    c = article("law_xingzheng-qiangzhi-fa_2011.md", "第十八条")
    quote = "由两名以上行政执法人员实施"
    q = single(c, quote, "两名", ["二名", "三名", "五名"])
    problems = validate(q, texts("law_xingzheng-qiangzhi-fa_2011.md"))
    assert "distractor 「二名」 is the answer spelled differently" in problems


def test_a_stem_containing_its_answer_is_rejected():
    c = article(CHUFA, "第三十六条")  # 违法行为在二年内未被发现的…前款规定的期限…
    quote = "违法行为在二年内未被发现的，不再给予行政处罚"
    stem = slot_stem(c.short_title, c.path, quote, quote.index("二年内"), quote.index("二年内") + 3, BLANK)
    leaky = make(c, "blank", stem + "（提示：二年内）", [], "二年内", quote)
    assert validate(leaky, texts(CHUFA)) == ["the answer appears in the stem"]


def test_a_blank_whose_answer_does_not_fill_the_quote_is_rejected():
    c = article(CHUFA, "第五十六条")
    quote = "并应当在七日内及时作出处理决定"
    stem = slot_stem(c.short_title, c.path, quote, quote.index("七日"), quote.index("七日") + 2, BLANK)
    assert validate(make(c, "blank", stem, [], "七日", quote), texts(CHUFA)) == []
    assert validate(make(c, "blank", stem, [], "五日", quote), texts(CHUFA)) == [
        "the answer does not fill the blank to give back the quoted sentence"]


def test_source_checks_hash_quote_and_id():
    c = article(CHUFA, "第五十六条")
    quote = "并应当在七日内及时作出处理决定"
    pos = quote.index("七日")
    q = make(c, "blank", slot_stem(c.short_title, c.path, quote, pos, pos + 2, BLANK), [], "七日", quote)
    stale = replace(q, sources=[replace(q.sources[0], text_hash="0" * 64)])
    assert validate(stale, texts(CHUFA)) == [f"source {c.chunk_key} changed since the question was made"]
    invented = replace(q, sources=[replace(q.sources[0], quote="并应当在五日内及时作出处理决定")],
                       explanation="「并应当在五日内及时作出处理决定」")
    assert f"quote is not verbatim in {c.chunk_key}" in validate(invented, texts(CHUFA))
    assert validate(replace(q, id="q-0"), texts(CHUFA)) == ["id is not the stable id of type + source + stem"]


# -- judge -----------------------------------------------------------------------------
def judge(chunk: SourceChunk, statement: str, quote: str, answer: str) -> Question:
    return make(chunk, "judge", judge_stem(chunk.short_title, statement), list(JUDGE_OPTIONS), answer, quote)


def test_judge_true_is_verbatim_and_false_is_one_planted_change():
    c = article(CHUFA, "第三十三条")
    quote = "初次违法且危害后果轻微并及时改正的，可以不予行政处罚"
    t = texts(CHUFA)
    assert validate(judge(c, quote, quote, "A"), t) == []
    assert validate(judge(c, quote.replace("可以", "应当"), quote, "B"), t) == []
    assert planted_change(quote, quote.replace("可以", "应当")) == ("可以", "应当")
    # 可以不予 → 可以给予 is still true (discretion both ways): never accepted as a false statement.
    assert "the false statement does not differ from the quote by one planted change" in validate(
        judge(c, quote.replace("不予", "给予"), quote, "B"), t)
    # Two changes at once are not "one meaningful change".
    two = quote.replace("可以", "应当").replace("初次", "再次")
    assert validate(judge(c, two, quote, "B"), t) == [
        "the false statement does not differ from the quote by one planted change"]


def test_a_false_statement_that_the_law_contains_is_rejected():
    c = article(CHUFA, "第三十三条")
    true_elsewhere = "违法行为轻微并及时改正，没有造成危害后果的，不予行政处罚"
    assert validate(judge(c, true_elsewhere, "初次违法且危害后果轻微并及时改正的，可以不予行政处罚", "B"),
                    texts(CHUFA)) == ["the false statement is found in the document"]


def test_a_deadline_change_is_a_planted_change():
    quote = "行政机关应当在举行听证的七日前，通知当事人及有关人员听证的时间、地点"
    assert planted_change(quote, quote.replace("七日", "五日")) == ("七日", "五日")
    assert planted_change(quote, quote.replace("七日", "七天")) is None  # same value, not false


def test_modals_inside_fixed_phrases_are_never_swapped():
    quote = ("公民、法人或者其他组织认为行政行为侵犯其合法权益的，"
             "可以自知道或者应当知道该行政行为之日起六十日内提出行政复议申请")
    assert planted_change(quote, quote.replace("应当知道", "可以知道")) is None


# -- multiple ----------------------------------------------------------------------------
def test_multiple_keys_only_items_of_the_source_list():
    c = article(CHUFA, "第五十九条")
    lst = item_lists(c.text)[0]
    stem = f"根据《行政处罚法》第五十九条的规定，{lst.lead}。下列选项中，属于该条所列的有{CHOICE}。"
    good = ["当事人的姓名或者名称、地址", "行政处罚的种类和依据", "警告、通报批评", "行政拘留"]
    q = make(c, "multiple", stem, good, "AB", lst.block)
    assert validate(q, texts(CHUFA)) == []
    wrong_key = make(c, "multiple", stem, good, "AC", lst.block)
    assert validate(wrong_key, texts(CHUFA)) == ["distractor 「行政处罚的种类和依据」 is in the source provision",
                                                 "keyed option 「警告、通报批评」 is not an item of the source list"]
    true_distractor = make(c, "multiple", stem, [*good[:3], "行政处罚的履行方式和期限"], "AB", lst.block)
    assert validate(true_distractor, texts(CHUFA)) == [
        "distractor 「行政处罚的履行方式和期限」 is in the source provision"]


# -- generator building blocks -----------------------------------------------------------
def test_facts_of_enforcement():
    values = [(f.kind, f.value) for f in find_facts("处十日以上十五日以下拘留，可以并处一千元以下罚款")]
    assert values == [("deadline", "十日以上十五日以下"), ("amount", "一千元以下")]
    assert [(f.kind, f.value) for f in find_facts("由两名以上行政执法人员实施")] == [("count", "两名以上")]
    assert [f.kind for f in find_facts("并处货值金额十倍以上二十倍以下罚款")] == ["multiple"]
    body = find_facts("由县级以上地方人民政府城乡规划主管部门责令停止建设")
    assert [f.value for f in body] == ["县级以上地方人民政府"]
    assert find_facts("十年树木，百年大计") == [find_facts("十年树木")[0]]  # 百年 is not a duration


def test_window_keeps_the_clauses_around_a_fact():
    text = "甲" * 60 + "，" + "乙" * 30 + "，在七日内作出决定，" + "丙" * 60
    fact = next(f for f in find_facts(text) if f.value == "七日内")
    quote, pos = window(text, fact)
    assert quote[pos:pos + 3] == "七日内" and quote in text and len(quote) <= 110


def test_judge_skips_sentences_that_lean_on_their_neighbours():
    pool = FactPool()
    for c in law(CHUFA):
        pool.add_chunk(c)
    for c in law(CHUFA):
        for q in judge_questions(c, pool):
            assert not q.sources[0].quote.startswith(("前款", "上述", "依照前")), q.stem


def test_fields_by_law():
    assert field_for("食品安全法") == "市场监管" and field_for("道路交通安全法") == "交通运输"
    assert field_for("市场监督管理行政处罚程序规定", "市场监督管理行政处罚程序规定") == "市场监管"
    assert field_for("行政处罚法") == "综合"


def test_generation_from_parsed_laws_is_stable_and_deduplicated():
    chunks = [*law(CHUFA), *law(FUYI)]
    first = generate_from_chunks(chunks)
    again = generate_from_chunks(chunks)
    assert [q.id for q in first.questions] == [q.id for q in again.questions]
    assert set(first.by_type) == {"single", "multiple", "judge", "blank"}
    assert len({q.id for q in first.questions}) == len(first.questions)
    assert all(q.state == "draft" and q.author == "generator" for q in first.questions)
    nothing_new = generate_from_chunks(chunks, existing=first.questions)
    assert nothing_new.questions == []
    assert {r.problems[0] for r in nothing_new.rejected} >= {"duplicate of an existing question (same stem)"}
    capped = generate_from_chunks(chunks, limit_per_type=5)
    assert all(n <= 5 for n in capped.by_type.values())
    assert {q.sources[0].doc_key for q in capped.questions if q.qtype == "judge"} == {
        law(CHUFA)[0].doc_key, law(FUYI)[0].doc_key}  # round-robin across documents


@pytest.mark.parametrize("qtype", ["blank", "single"])
def test_blank_and_single_stems_hide_exactly_the_keyed_span(qtype):
    report = generate_from_chunks(law(CHUFA))
    for q in (q for q in report.questions if q.qtype == qtype):
        key = q.answer if qtype == "blank" else q.options["ABCD".index(q.answer)]
        marker = BLANK if qtype == "blank" else CHOICE
        assert slot_position(q.stem, q.sources[0].quote, key, marker) is not None, q.stem
        assert q.stem.count(marker) == 1
