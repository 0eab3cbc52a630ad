"""The metric helpers of eval/answers.py on hand-built answers (no store, no model): a metric
that miscounts would report a broken system as healthy."""

from __future__ import annotations

from eval.answers import (
    Outcome,
    PlantScore,
    build_reply,
    cites_gold,
    figures,
    gold_targets,
    must_contain,
    subset,
    verbatim_counts,
)
from eval.gold import GoldAnswer, GoldQuestion
from eval.llm_server import provisions_in_prompt
from kb.answer import Answer, Citation
from kb.answer.prompt import build_messages
from kb.answer.verify import verify_generated

ART68 = ("依照本法第五十一条、第五十七条的规定当场作出行政处罚决定，有下列情形之一，执法人员可以当场收缴罚款：\n"
         "（一）依法给予一百元以下罚款的；\n（二）不当场收缴事后难以执行的。")
ART64 = "当事人要求听证的，应当在行政机关告知后五日内提出；行政机关应当在举行听证的七日前，通知当事人。"


def cite(n: int, path: str, chunk: str, quote: str | None = None, doc_key: str = "行政处罚法@2021-01-22") -> Citation:
    return Citation(n=n, doc_key=doc_key, title="中华人民共和国行政处罚法", version="2021-01-22", status="current",
                    path=path, label=path, quote=chunk if quote is None else quote, chunk_key=f"{doc_key}/{path}",
                    chunk_text=chunk, doc_type="law")


def test_gold_matching_follows_retrieval_eval():
    q = GoldQuestion("s1", "当场收缴", "short", (GoldAnswer("law.md", "第六十八条"), GoldAnswer("gone.md", "第一条")))
    targets = gold_targets(q, {"law.md": "行政处罚法@2021-01-22"})
    assert targets == [("行政处罚法@2021-01-22", "第六十八条")]  # a document not indexed is skipped
    inside = Answer("q", "…[1]", [cite(1, "第六十八条/2", ART68)])  # a part of the gold article counts
    assert cites_gold(inside, targets)
    assert not cites_gold(Answer("q", "…[1]", [cite(1, "第六十八", ART68)]), targets)  # a prefix is not a path
    assert not cites_gold(Answer("q", "…[1]", [cite(1, "第六十八条", ART68, doc_key="其他法@2020")]), targets)
    assert not cites_gold(Answer("q", "知识库中未找到相关依据。", abstained=True,
                                 related=[cite(1, "第六十八条", ART68)]), targets)  # related is not cited


def test_verbatim_counts_every_shown_quote():
    good = Answer("q", "…[1]", [cite(1, "第六十四条", ART64, quote="应当在行政机关告知后五日内提出")],
                  related=[cite(2, "第六十八条", ART68, quote="依法给予一百元以下罚款的")])
    assert verbatim_counts(good) == (2, 2)
    off = Answer("q", "…[1]", [cite(1, "第六十四条", ART64, quote="应当在行政机关告知后三日内提出")])
    assert verbatim_counts(off) == (0, 1)


def test_verbatim_counts_checks_quotes_in_generated_text_against_their_markers():
    c1, c2 = cite(1, "第六十四条", ART64), cite(2, "第六十八条", ART68)
    text = ("听证应「在行政机关告知后五日内提出」[1]。\n"
            "「依法给予一百元以下罚款的」可以当场收缴[1]。\n"  # verbatim, but in [2], not the cited [1]
            "「当事人要求听证的……五日内提出」[1]。\n"  # ellipsis: each piece verbatim, in order
            "此外「不当场收缴事后难以执行的」。")  # no marker: cites nothing
    a = Answer("q", text, [c1, c2], mode="llm")
    assert verbatim_counts(a) == (2 + 2, 2 + 4)  # two whole-chunk citations, four text quotes
    assert verbatim_counts(Answer("q", text, [c1, c2], mode="extractive")) == (2, 2)  # text is theirs


def test_must_contain_normalises_both_sides():
    assert must_contain("应当在五日内提出，罚款２００元以下", ["五日内", "200元", "七日内"]) == [True, True, False]
    assert must_contain("ABC（一）", ["ＡＢＣ(一)"]) == [True]


def test_figures_count_abstentions_and_answered_only():
    outs = [Outcome("s1", "short", True, False, gold=True, verbatim=3, spans=3, must=[True, False]),
            Outcome("s2", "short", True, True, gold=False, verbatim=2, spans=2),
            Outcome("s3", "case", True, False, gold=False, verbatim=1, spans=1, must=[True]),
            Outcome("o1", "out_of_scope", False, True, verbatim=3, spans=3),
            Outcome("o2", "out_of_scope", False, False, verbatim=1, spans=2)]
    f = figures(outs)
    assert f["gold provision cited (all in-scope)"] == "0.333 (1/3)"
    assert f["gold provision cited (answered only)"] == "0.500 (1/2)"
    assert f["quoted spans verbatim"] == "0.909 (10/11)"
    assert f["out-of-scope abstention"] == "0.500 (1/2)"
    assert f["in-scope false abstention"] == "0.333 (1/3)"
    assert f["must_contain strings found"] == "0.667 (2/3)"
    assert f["must_contain questions fully met"] == "0.500 (1/2)"


def test_planted_reply_round_trips_through_the_prompt_and_the_verifier_catches_every_error():
    cites = [cite(1, "第六十四条", ART64), cite(2, "第六十八条", ART68)]
    provisions = provisions_in_prompt(build_messages("听证期限", cites))
    assert provisions == {1: ART64, 2: ART68}
    reply, planted = build_reply(provisions)
    assert planted.good == "当事人要求听证的，应当在行政机关告知后五日内提出" and set(planted.errors) == {
        "unsupplied marker", "altered quote", "no marker"}
    assert "[3]" in planted.errors["unsupplied marker"]
    altered = planted.errors["altered quote"].strip("「」")
    second = "行政机关应当在举行听证的七日前，通知当事人"  # the altered quote is built from the last sentence
    assert altered not in ART64 and len(altered) == len(second)
    assert sum(a != b for a, b in zip(altered, second, strict=True)) == 1
    v = verify_generated(reply, cites)
    assert v.kept == 1 and len(v.dropped) == 3 and v.used == [1]
    assert sorted(r.split(" ")[0] for _, r in v.dropped) == ["marker", "no", "quote"]


def test_plant_score_counts_what_reaches_the_reader():
    cites = [cite(1, "第六十四条", ART64)]
    reply, planted = build_reply({1: ART64})
    v = verify_generated(reply, cites)
    score = PlantScore()
    score.add(Answer("q", v.text, cites, mode="llm", notes=["已删除 3 句无法在所引条文中核验的内容。"]), planted)
    score.add(Answer("q", reply, cites, mode="llm"), planted)  # a verifier that let everything through
    score.add(Answer("q", "摘录[1]", cites, mode="extractive"), planted)  # fell back
    assert (score.replies, score.planted, score.caught, score.verifier_dropped) == (3, 9, 3 + 0 + 3, 3)
    assert (score.good_kept, score.fell_back) == (2, 1)


def test_subset_spreads_over_the_set():
    qs = [GoldQuestion(f"s{i}", "q", "short" if i < 50 else "case", ()) for i in range(100)]
    picked = subset(qs, 10)
    assert len(picked) == 10 and {q.kind for q in picked} == {"short", "case"}
    assert subset(qs[:5], 10) == qs[:5]
