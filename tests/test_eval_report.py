"""`kb eval report`: the regression gate must pass on the sample knowledge base as it is and
fail when retrieval is broken, and the pieces it is built from must count right (a gate over
a miscounting metric would guard nothing)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from eval.gate import BASELINE, GATED, compare, format_checks, load_baseline
from eval.gold import GoldAnswer, GoldQuestion
from eval.quiz_solver import judge, multiple, single
from eval.ragas_scores import WordCodes
from eval.report import main, ndcg
from kb.quiz.model import Question

ART64 = ("当事人要求听证的，应当在行政机关告知后五日内提出；"
         "行政机关应当在举行听证的七日前，通知当事人及有关人员听证的时间、地点。")
ART33 = "证据包括：\n（一）书证；\n（二）物证；\n（三）视听资料；\n（四）电子数据；\n（五）证人证言。"


def question(qtype: str, stem: str, options: list[str], answer: str) -> Question:
    return Question(id="q", qtype=qtype, stem=stem, options=options, answer=answer, explanation="", sources=[])


def test_gate_lists_every_regression_and_tolerates_noise():
    baseline = {
        "retrieval.hybrid.R@5": {"value": 0.87, "tolerance": 0.02, "higher_is_better": True},
        "answers.gold_cited": {"value": 0.80, "tolerance": 0.02, "higher_is_better": True},
        "answers.false_abstention": {"value": 0.04, "tolerance": 0.02, "higher_is_better": False},
        "answers.verbatim_precision": {"value": 1.0, "tolerance": 0.0, "higher_is_better": True},
        "quiz.sample.accuracy": {"value": 0.9, "tolerance": 0.05, "higher_is_better": True},
    }
    metrics = {"retrieval.hybrid.R@5": 0.855,  # within tolerance
               "answers.gold_cited": 0.70,  # dropped
               "answers.false_abstention": 0.10,  # rose: lower is better
               "answers.verbatim_precision": 0.999}  # an invariant: any drop fails
    checks = compare(metrics, baseline)  # quiz.sample.accuracy not measured: fails too
    assert [c.metric for c in checks if c.regressed] == [
        "answers.gold_cited", "answers.false_abstention", "answers.verbatim_precision", "quiz.sample.accuracy"]
    text = format_checks(checks)
    assert "gate FAILED: 4 of 5" in text
    assert "REGRESSION answers.false_abstention: 0.100 vs baseline 0.040" in text
    assert "not measured" in text
    better = compare({**metrics, "answers.gold_cited": 0.9, "answers.false_abstention": 0.0,
                      "answers.verbatim_precision": 1.0, "quiz.sample.accuracy": 0.9}, baseline)
    assert not any(c.regressed for c in better)
    assert "improved   answers.gold_cited" in format_checks(better)


def test_committed_baseline_covers_the_gated_metrics():
    entries = load_baseline(BASELINE)
    assert list(entries) == list(GATED)
    assert entries["answers.verbatim_precision"] == {"value": 1.0, "tolerance": 0.0, "higher_is_better": True}
    assert all(0 <= e["value"] <= 1 and 0 <= e["tolerance"] <= 0.05 for e in entries.values())


def test_ndcg_counts_each_gold_provision_once_at_its_first_rank():
    q = GoldQuestion("s1", "听证", "short", (GoldAnswer("law.md", "第六十四条"), GoldAnswer("rule.md", "第五十七条")))
    keys = {"law.md": "法@1", "rule.md": "规@1"}
    assert ndcg([("法@1", "第六十四条"), ("规@1", "第五十七条")], q, keys) == pytest.approx(1.0)
    # both found, one at rank 3; a second part of the same article adds nothing
    got = ndcg([("法@1", "第六十四条/1"), ("法@1", "第六十四条/2"), ("规@1", "第五十七条")], q, keys)
    assert got == pytest.approx((1 + 1 / 2) / (1 + 1 / 1.5849625007211562))
    assert ndcg([("法@1", "第六十五条")], q, keys) == 0.0


def test_word_codes_let_rouge_count_chinese_words():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    same = "当事人 要求 听证"
    assert scorer.score(same, same)["rougeL"].fmeasure == 0  # why the codes exist
    codes = WordCodes()
    ref, answer = codes.encode("当事人要求听证的，应当在告知后五日内提出"), codes.encode("当事人应当在告知后五日内提出")
    assert set(ref.replace(" ", "")) <= set("0123456789")
    f = scorer.score(ref, answer)["rougeL"].fmeasure
    assert 0.5 < f < 1.0
    assert codes.encode("五日内") == codes.encode("五日内")


def test_solver_picks_what_the_provision_text_supports():
    texts = ["无关的条文：应当在十日内作出决定。", ART64]
    assert judge(question("judge", "根据《行政处罚法》的规定，当事人要求听证的，应当在行政机关告知后五日内提出。",
                          ["对", "错"], "A"), texts) == "A"
    assert judge(question("judge", "根据《行政处罚法》的规定，当事人要求听证的，可以在行政机关告知后五日内提出。",
                          ["对", "错"], "B"), texts) == "B"
    stem = "根据《行政处罚法》第六十四条的规定，当事人要求听证的，应当在行政机关告知后（　）提出。"
    # 十日内 is in the other text too; only 五日内 sits in the stem's own wording
    assert single(question("single", stem, ["十日内", "五日内", "七日前", "三日内"], "B"), texts) == "B"
    case = "在“某某案”中，法院认为，当事人要求听证的，应当在行政机关告知后（　）提出。"  # words of its own first
    assert single(question("single", case, ["七日前", "五日内"], "B"), texts) == "B"
    many = "根据《行政诉讼法》第三十三条的规定，证据包括。下列选项中，属于该条所列的有（　）。"
    assert multiple(question("multiple", many, ["书证", "鉴定人的资格", "视听资料", "证人证言"], "ACD"),
                    [ART64, ART33]) == "ACD"


@pytest.mark.slow
def test_quick_report_passes_the_gate_on_the_sample_kb(sample_kb, tmp_path):
    lines: list[str] = []
    assert main(sample_kb, quick=True, out_dir=tmp_path, out=lines.append) == 0, "\n".join(lines)
    assert "gate passed" in lines[-1]
    figures = json.loads((tmp_path / "figures.json").read_text(encoding="utf-8"))
    assert figures["quick"] is True and figures["knowledge_base"]["documents"] == 39
    m = figures["metrics"]
    for retriever in ("hybrid", "dense", "sparse", "bm25"):
        assert {f"retrieval.{retriever}.{k}" for k in ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10")} <= set(m)
    assert "retrieval.hybrid.type=law.R@5" in m and "retrieval.hybrid.kind=paraphrase.nDCG@10" in m
    assert m["retrieval.hybrid.R@5"] > m["retrieval.bm25.R@5"] + 0.1
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Retrieval" in report and "## Quizzes" in report and "gate passed" in report
    for png in ("retrieval_overall.png", "retrieval_by_kind.png", "retrieval_by_type.png", "quiz.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_quick_gate_fails_when_dense_search_stops_counting(sample_kb):
    """Dense weight 0 leaves hybrid search to the sparse terms alone: the gate must say so."""
    lines: list[str] = []
    assert main(replace(sample_kb, dense_weight=0.0), quick=True, out=lines.append) == 1
    text = "\n".join(lines)
    assert "gate FAILED" in text
    assert "REGRESSION retrieval.hybrid.R@5" in text
    assert "REGRESSION answers.gold_cited" in text
    assert "REGRESSION retrieval.dense.R@5" not in text  # dense-only search is not what broke
