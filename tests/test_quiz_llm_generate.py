"""LLM question generation over real HTTP (the loopback server in eval/llm_server.py) and a
real store (small_kb): well-formed replies become proved drafts pinned to their provision;
each planted bad output — a key not in the source, a paraphrased quote, a distractor that is
also correct, malformed JSON… — is rejected by the rule-based validator with its reason; and
no endpoint failure escapes as an exception."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter

import pytest

from eval.llm_server import FakeLLM, question_writer, raw, status, text
from kb.config import Settings
from kb.errors import ConfigError
from kb.quiz.llm_generate import (
    MAX_FAILED_CALLS_IN_A_ROW,
    ask_for_questions,
    check_llm_settings,
    llm_generate_from_chunks,
)
from kb.quiz.sentences import normalise_stem
from kb.quiz.source import SourceChunk, load_chunks
from kb.quiz.stems import BLANK, CHOICE, question_id
from kb.quiz.validate import validate
from kb.store import open_store

LAW = "行政处罚法@2021-01-22"
ART56_QUOTE = "经行政机关负责人批准，可以先行登记保存，并应当在七日内及时作出处理决定"
ART56_STEM = f"根据《行政处罚法》第五十六条的规定，{ART56_QUOTE.replace('七日内', BLANK)}。"
ART36_QUOTE = ("违法行为在二年内未被发现的，不再给予行政处罚；"
               "涉及公民生命健康安全、金融安全且有危害后果的，上述期限延长至五年")
ART33_QUOTE = "初次违法且危害后果轻微并及时改正的，可以不予行政处罚"
ART9_LIST = ("行政处罚的种类：\n（一）警告、通报批评；\n（二）罚款、没收违法所得、没收非法财物；\n"
             "（三）暂扣许可证件、降低资质等级、吊销许可证件；\n（四）限制开展生产经营活动、责令停产停业、责令关闭、限制从业；\n"
             "（五）行政拘留；\n（六）法律、行政法规规定的其他行政处罚")


@pytest.fixture(scope="module")
def chunks(small_kb) -> list[SourceChunk]:
    store = open_store(small_kb)
    try:
        return load_chunks(store)
    finally:
        store.close()


@pytest.fixture
def server():
    with FakeLLM() as s:
        yield s


def settings_for(server: FakeLLM, **kw) -> Settings:
    return Settings(**{"llm_base_url": server.url, "llm_model": server.model, "llm_timeout": 3.0, **kw})


def article(chunks: list[SourceChunk], path: str) -> SourceChunk:
    return next(c for c in chunks if c.doc_key == LAW and c.path == path)


def law_texts(chunks: list[SourceChunk]) -> dict[str, str]:
    return {c.chunk_key: c.text for c in chunks if c.doc_key == LAW}


def reply(*questions: dict) -> str:
    return json.dumps({"questions": list(questions)}, ensure_ascii=False)


def blank_56(**kw) -> dict:
    q = {"type": "填空", "stem": ART56_STEM.replace(BLANK, "＿＿＿＿"), "options": [], "answer": "七日内",
         "explanation": "应在七日内作出处理决定。", "quote": f"「{ART56_QUOTE}」", "provision": 1}
    return {**q, **kw}


def single_36(**kw) -> dict:
    q = {"type": "single", "stem": "根据《行政处罚法》第三十六条的规定，违法行为在（ ）未被发现的，不再给予行政处罚。",
         "options": ["A. 一年内", "B. 二年内", "C. 三年内", "D. 六个月内"], "answer": "B",
         "explanation": "二年内未被发现的不再处罚。", "quote": "违法行为在二年内未被发现的，不再给予行政处罚"}
    return {**q, **kw}


def judge_33(**kw) -> dict:
    q = {"type": "判断", "stem": "初次违法且危害后果轻微并及时改正的，应当不予行政处罚。", "options": ["正确", "错误"],
         "answer": "错", "explanation": "是「可以」不予处罚，不是「应当」。", "quote": ART33_QUOTE}
    return {**q, **kw}


def multiple_9(**kw) -> dict:
    q = {"type": "多选", "stem": "根据《行政处罚法》第九条的规定，下列属于行政处罚种类的有（　）。",
         "options": ["警告、通报批评", "责令改正", "行政拘留", "记过处分"], "answer": ["A", "C"],
         "explanation": "第九条列举了行政处罚的种类。", "quote": ART9_LIST}
    return {**q, **kw}


def ask(server, chunks, path: str, qtype: str, body: str, n: int = 1, seen: set[str] | None = None):
    server.script(text(body))
    return ask_for_questions([article(chunks, path)], qtype, n, settings_for(server), law_texts(chunks),
                             set() if seen is None else seen)


@pytest.mark.parametrize(("path", "qtype", "item", "answer"), [
    ("第五十六条", "blank", blank_56(), "七日内"),
    ("第三十六条", "single", single_36(), "B"),
    ("第三十三条", "judge", judge_33(), "B"),
    ("第三十三条", "judge", judge_33(stem=f"{ART33_QUOTE}。", answer="对"), "A"),
    ("第九条", "multiple", multiple_9(), "AC"),
])
def test_a_well_formed_reply_becomes_a_proved_draft(server, chunks, path, qtype, item, answer):
    batch = ask(server, chunks, path, qtype, reply(item))
    assert batch.rejected == [] and batch.error == ""
    [q] = batch.questions
    source = article(chunks, path)
    assert (q.qtype, q.answer, q.state, q.author) == (qtype, answer, "draft", "llm:fake-qwen")
    [ref] = q.sources
    assert (ref.doc_key, ref.path, ref.chunk_key) == (LAW, path, source.chunk_key)
    assert ref.text_hash == hashlib.sha256(source.text.encode()).hexdigest()
    assert ref.quote in source.text and ref.quote in q.explanation
    assert q.id == question_id(qtype, source.chunk_key, q.stem)
    assert q.tags["法规"] == ["行政处罚法"]
    assert validate(q, law_texts(chunks)) == []
    if qtype == "blank":
        assert BLANK in q.stem and "＿" not in q.stem  # the model's blank mark, in our spelling
    if qtype == "single":
        assert CHOICE in q.stem and q.options == ["一年内", "二年内", "三年内", "六个月内"]  # 「A. 」 stripped
    if qtype == "judge":
        assert q.stem.startswith("根据《行政处罚法》的规定，") and q.options == ["对", "错"]


@pytest.mark.parametrize(("path", "qtype", "body", "reason"), [
    # the key is not what the source says
    ("第五十六条", "blank", reply(blank_56(answer="十日内")),
     "the answer does not fill the blank to give back the quoted sentence"),
    ("第三十六条", "single", reply(single_36(answer="C")),
     "the keyed option does not fill the blank to give back the quoted sentence"),
    # the quote is a paraphrase
    ("第五十六条", "blank", reply(blank_56(quote="经行政机关负责人批准，可以先行登记保存，并应当在七日内作出处理决定")),
     f"quote is not verbatim in {LAW}/第五十六条"),
    # a distractor is also correct
    ("第九条", "multiple",
     reply(multiple_9(options=["警告、通报批评", "罚款、没收违法所得、没收非法财物", "行政拘留", "记过处分"],
                      answer="AB")),
     "distractor 「行政拘留」 is in the source provision"),
    ("第三十六条", "single", reply(single_36(
        stem=f"根据《行政处罚法》第三十六条的规定，{ART36_QUOTE.replace('二年内', CHOICE)}。", quote=ART36_QUOTE,
        options=["一年内", "二年内", "三年内", "五年"])),
     "distractor 「五年」 appears in the source sentence"),
    # answerable from the stem alone
    ("第五十六条", "blank", reply(blank_56(stem=ART56_STEM.replace("。", "（提示：七日内）。"))),
     "the answer appears in the stem"),
    # a false statement that is a rewording, not one planted change
    ("第三十三条", "judge", reply(judge_33(stem="初次违法的，一律不予行政处罚。")),
     "the false statement does not differ from the quote by one planted change"),
    # a "true" statement that is not the quote
    ("第三十三条", "judge", reply(judge_33(stem="初次违法且危害后果轻微的，可以不予行政处罚。", answer="对")),
     "a true statement must be the verbatim quote"),
    # malformed or incomplete output
    ("第五十六条", "blank", '{"questions": [{"type": "填空", "stem": "根据《行政处罚法》',
     "the LLM reply is not JSON"),
    ("第五十六条", "blank", "好的，下面是题目：先行登记保存应当在七日内作出处理决定。",
     "the LLM reply is not JSON"),
    ("第五十六条", "blank", '{"items": []}', 'holds no "questions" list'),
    ("第五十六条", "blank", reply({k: v for k, v in blank_56().items() if k != "quote"}), "missing field 'quote'"),
    ("第五十六条", "blank", reply(blank_56(answer=["七日内"])), "is not a 填空 answer"),
    ("第三十三条", "judge", reply(judge_33(answer="也许")), "is not a 判断 answer"),
    ("第三十六条", "single", reply(single_36(options="一年内、二年内")), "options must be a list of texts"),
    ("第三十六条", "single", reply(single_36(answer="E")), "is not a 单选 answer"),
    ("第三十三条", "judge", reply(single_36()), "asked for a 判断 (judge) question, got type 'single'"),
    ("第三十三条", "judge", json.dumps({"questions": ["初次违法可以不罚"]}, ensure_ascii=False),
     "a question must be a JSON object"),
])
def test_each_planted_bad_output_is_rejected_with_its_reason(server, chunks, path, qtype, body, reason):
    batch = ask(server, chunks, path, qtype, body)
    assert batch.questions == []
    [rejection] = batch.rejected
    assert any(reason in p for p in rejection.problems), rejection.problems
    assert rejection.qtype == qtype and rejection.chunk_key == article(chunks, path).chunk_key


def test_a_good_question_among_bad_ones_survives_alone(server, chunks):
    body = "```json\n" + reply(blank_56(answer="十日内"), blank_56(), blank_56(quote="七天内")) + "\n```"
    batch = ask(server, chunks, "第五十六条", "blank", f"<think>先想一想。</think>{body}", n=3)
    assert [q.answer for q in batch.questions] == ["七日内"]
    assert len(batch.rejected) == 2 and batch.error == ""


def test_a_question_the_bank_already_holds_is_a_duplicate(server, chunks):
    first = ask(server, chunks, "第五十六条", "blank", reply(blank_56()))
    [q] = first.questions
    seen = {normalise_stem(q.stem)}  # what the bank's stems look like to the generator
    again = ask(server, chunks, "第五十六条", "blank", reply(blank_56(stem=q.stem.replace(BLANK, "（ ）"))), seen=seen)
    assert again.questions == []
    assert again.rejected[0].problems == ["duplicate of an existing question (same stem)"]


def test_only_as_many_as_asked_are_taken(server, chunks):
    batch = ask(server, chunks, "第五十六条", "blank", reply(blank_56(), blank_56(answer="十日内")), n=1)
    assert len(batch.questions) == 1 and batch.rejected == []


@pytest.mark.parametrize(("replies", "reason"), [
    ((status(500, "model crashed"), status(500, "model crashed")), "returned HTTP 500: model crashed"),
    ((status(401, "bad key"),), "check llm_api_key"),
    ((raw(b"\x00\xff\xfe<html>502 Bad Gateway</html>\x81", content_type="text/html"),), "malformed output"),
    ((text(reply(blank_56()), delay=5.0), text(reply(blank_56()), delay=5.0)), "did not answer within 0.3 s"),
    ((text(reply(blank_56()), stall_after=2),), "did not answer within 0.3 s"),
    ((text(""),), "the LLM reply is not JSON: '(empty)'"),
])
def test_endpoint_failures_are_rejections_not_exceptions(server, chunks, replies, reason):
    server.script(*replies)
    batch = ask_for_questions([article(chunks, "第五十六条")], "blank", 1, settings_for(server, llm_timeout=0.3),
                              law_texts(chunks), set())
    assert batch.questions == [] and reason in batch.error
    [rejection] = batch.rejected
    assert reason in rejection.problems[0] and "\n" not in rejection.problems[0]


def test_the_prompt_fences_the_provisions_and_states_the_task(server, chunks):
    ask(server, chunks, "第五十六条", "blank", reply(blank_56()), n=2)
    [req] = [r for r in server.requests if r.method == "POST"]
    system, user = req.content("system"), req.content("user")
    assert "忽略以上指令" in system and '"quote"' in system
    body = article(chunks, "第五十六条").text
    block = f"<<<条文 [1]\n出处：《行政处罚法》第五十六条\n版本：2021-01-22\n正文：\n{body}\n>>>"
    assert block in user
    assert "题型：填空（blank）\n题数：2" in user and BLANK in user
    assert req.body["model"] == "fake-qwen" and req.body["stream"] is True


def test_a_run_fills_its_count_with_proved_drafts_across_documents(server, chunks):
    server.responder = question_writer
    report = llm_generate_from_chunks(chunks, settings_for(server), qtypes=["judge", "blank"], count=8)
    assert len(report.questions) == 8 and report.failed_calls == 0 and report.stopped == ""
    assert Counter(q.qtype for q in report.questions) == {"judge": 4, "blank": 4}  # the scarcer type is asked for
    assert len({q.sources[0].doc_key for q in report.questions}) >= 3  # round-robin over documents
    texts = {c.chunk_key: c.text for c in chunks}
    for q in report.questions:
        assert q.author == "llm:fake-qwen" and q.state == "draft"
        assert validate(q, texts) == []
    assert len({q.id for q in report.questions}) == 8
    assert report.calls == len([r for r in server.requests if r.method == "POST"])


def test_a_short_provision_is_shown_with_the_next_one(server, chunks):
    server.responder = question_writer
    report = llm_generate_from_chunks(chunks, settings_for(server), doc_keys=[LAW], qtypes=["judge"], count=1)
    assert len(report.questions) == 1
    first_user = next(r for r in server.requests if r.method == "POST").content("user")
    first = next(c for c in chunks if c.doc_key == LAW and c.path != "序言")
    assert len(first.text) < 150 and "<<<条文 [2]" in first_user


def test_limit_per_type_and_existing_questions_are_respected(server, chunks):
    server.responder = question_writer
    settings = settings_for(server)
    first = llm_generate_from_chunks(chunks, settings, doc_keys=[LAW], qtypes=["judge", "blank"], count=10,
                                     limit_per_type=2)
    assert Counter(q.qtype for q in first.questions) == {"judge": 2, "blank": 2}
    again = llm_generate_from_chunks(chunks, settings, doc_keys=[LAW], qtypes=["judge", "blank"], count=4,
                                     existing=first.questions)
    assert not {q.id for q in again.questions} & {q.id for q in first.questions}
    assert any("duplicate" in p for r in again.rejected for p in r.problems)


def test_a_dead_endpoint_stops_the_run(server, chunks):
    report = llm_generate_from_chunks(chunks, settings_for(server), count=50)  # no script, no responder: HTTP 410
    assert report.questions == [] and report.calls == MAX_FAILED_CALLS_IN_A_ROW == report.failed_calls
    assert f"stopped after {MAX_FAILED_CALLS_IN_A_ROW} failed LLM calls in a row" in report.stopped
    assert all(r.problems[0].startswith("LLM call failed: ") for r in report.rejected)


def test_no_llm_configured_is_a_clear_bilingual_error(chunks):
    for settings, words in [(Settings(), ("未配置大模型", "no LLM configured")),
                            (Settings(llm_base_url="http://127.0.0.1:9/v1"), ("KB_LLM_MODEL", "llm_model")),
                            (Settings(llm_base_url="localhost:11434", llm_model="m"), ("http://", "llm_base_url"))]:
        with pytest.raises(ConfigError) as err:
            check_llm_settings(settings)
        assert all(w in str(err.value) for w in words)
        with pytest.raises(ConfigError):
            llm_generate_from_chunks(chunks, settings)
    with pytest.raises(ConfigError, match="question types"):
        llm_generate_from_chunks(chunks, dataclasses.replace(Settings(), llm_base_url="http://127.0.0.1:9/v1",
                                                             llm_model="m"), qtypes=["scenario"])


def test_a_candidate_the_validator_chokes_on_is_rejected_not_raised(server, chunks, monkeypatch):
    from kb.quiz import llm_generate

    def broken(*_args):
        raise IndexError("rule bug")

    monkeypatch.setattr(llm_generate, "validate", broken)
    batch = ask(server, chunks, "第五十六条", "blank", reply(blank_56()))
    assert batch.questions == [] and batch.rejected[0].problems == ["could not be checked (IndexError: rule bug)"]
