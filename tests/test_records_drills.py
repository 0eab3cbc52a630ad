"""Trainer-authored drills in the records: saved as drafts with Chinese messages, published as
approved questions plus a quiz carrying the narrative, re-published as a new quiz version
without disturbing attempts, retired, imported from corpus/scenarios all or none; and a
trainer's edit of a question checked against the knowledge base as it reads now."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from kb.quiz.drills import drill_files
from kb.quiz.model import Question, SourceRef
from kb.quiz.resolve import KBResolver
from kb.quiz.stems import BLANK, question_id, text_hash
from kb.records import attempts, drills, questions, quizzes
from kb.records.errors import AccessDenied, StateError, ValidationError
from kb.records.models import AuditEntry, DrillRecord, Quiz
from kb.records.models import Question as QuestionRow
from kb.store import open_store
from tests.conftest import make_settings, sample
from tests.test_quiz_drills import DRILL_LAWS, SCENARIOS
from tests.test_records_fixtures import count, user

pytest_plugins = ["tests.test_records_fixtures"]

FIRST = (SCENARIOS / "02-first-violation.yaml").read_text(encoding="utf-8")
GOOD_QUOTE = "quote: 初次违法且危害后果轻微并及时改正的，可以不予行政处罚"
BAD_QUOTE = "quote: 初次违法且危害后果较轻并及时改正的，可以不予行政处罚"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The eight laws the shipped drills cite (vectors from the shared test cache)."""
    from ingest.pipeline import Ingestor

    settings = make_settings(tmp_path_factory.mktemp("drill_records_kb"))
    ingestor = Ingestor(settings)
    report = ingestor.ingest([sample(n) for n in DRILL_LAWS])
    ingestor.close()
    assert not report.failed, report.failed
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def resolver(store):
    return KBResolver(store)


def actions(s) -> list[str]:
    return [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.outcome == "ok").order_by(AuditEntry.id))]


def test_publish_stores_approved_step_questions_and_a_quiz_with_the_narrative(world, resolver):
    with world.Session() as s:
        trainer = user(s, "trainer")
        saved = drills.save_drill(s, trainer, FIRST, resolver)
        assert saved.ok and saved.created and saved.record.state == "draft"
        assert saved.record.title == "文具店初次未明码标价——首违不罚的适用" and saved.record.field == "市场监管"
        quiz = drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        assert quiz.selection["drill"] == "first-violation-no-penalty"
        assert quiz.selection["narrative"].startswith("一家开业不足一个月的文具店")
        assert [i.key for i in quiz.items] == [f"drill:first-violation-no-penalty:{n}" for n in range(1, 5)]
        first = quiz.items[0]
        assert first.stem.startswith("当事人是初次违法，危害后果轻微，并已当场改正。")
        assert first.stem.endswith("初次违法且危害后果轻微并及时改正的，对当事人（　）。")
        assert first.answer == "C" and "讲评：" in first.explanation
        assert {questions.get_question(s, i.key).state for i in quiz.items} == {"approved"}
        record = drills.get_drill(s, trainer, "first-violation-no-penalty")
        assert (record.state, record.quiz_id) == ("published", quiz.id)
        assert questions.get_question(s, first.key).author == "trainer"
        assert drills.publish_drill(s, trainer, record.code, resolver).id == quiz.id  # a repeated click
        assert {"drills.create", "quizzes.create", "drills.publish"} <= set(actions(s))


def test_a_quote_not_verbatim_is_reported_in_chinese_by_step_and_never_published(world, resolver):
    with world.Session() as s:
        trainer = user(s, "trainer")
        saved = drills.save_drill(s, trainer, FIRST.replace(GOOD_QUOTE, BAD_QUOTE), resolver)
        assert saved.record is not None and saved.record.state == "draft"
        [message] = saved.messages
        assert message.startswith("第 26 行 · 第 1 步 · 依据条文 1 · 原文摘录：")
        assert "与行政处罚法第三十三条的条文不一致" in message
        with pytest.raises(ValidationError, match="演练未通过校验，未发布"):
            drills.publish_drill(s, trainer, saved.record.code, resolver)
        assert count(s, Quiz) == 0 and drills.get_drill(s, trainer, saved.record.code).state == "draft"
        fixed = drills.save_drill(s, trainer, FIRST, resolver, code=saved.record.code)
        assert fixed.ok and fixed.changed and not fixed.created


def test_broken_yaml_and_unknown_fields_name_line_and_step(world, resolver):
    with world.Session() as s:
        trainer = user(s, "trainer")
        broken = drills.save_drill(s, trainer, "id: x\ntitle: [未闭合\n", resolver)
        assert broken.record is None and broken.messages == ["第 3 行 · YAML 格式：方括号或花括号没有闭合"]
        typo = FIRST.replace("    feedback: 不罚不等于不管", "    feedbak: 不罚不等于不管")
        result = drills.save_drill(s, trainer, typo, resolver)
        assert any(m.startswith("第 ") and "第 4 步 · feedbak：无法识别的字段" in m for m in result.messages)
        assert any("第 4 步 · 讲评：缺少必填项" in m for m in result.messages)


def test_ids_are_fixed_and_not_shared(world, resolver):
    with world.Session() as s:
        trainer = user(s, "trainer")
        drills.save_drill(s, trainer, FIRST, resolver)
        again = drills.save_drill(s, trainer, FIRST.replace("标价", "标签", 1), resolver)  # a "new" drill
        assert again.record is None and "已被另一个演练使用" in again.messages[0]
        renamed = drills.save_drill(s, trainer, FIRST.replace("id: first-violation-no-penalty", "id: other"),
                                    resolver, code="first-violation-no-penalty")
        assert renamed.record is None and "演练编号不能修改" in renamed.messages[0]
        assert count(s, DrillRecord) == 1


def test_republishing_an_edit_makes_a_new_version_and_open_attempts_still_submit(world, resolver):
    with world.Session() as s:
        trainer, officer = user(s, "trainer"), user(s, "zhang.th")
        drills.save_drill(s, trainer, FIRST, resolver)
        v1 = drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        attempt = attempts.start_attempt(s, officer, v1.code)
        edited = FIRST.replace("承办人决定不予行政处罚，准备结案。", "承办人决定不予行政处罚，准备制作结案报告。")
        saved = drills.save_drill(s, trainer, edited, resolver, code="first-violation-no-penalty")
        assert saved.record.state == "draft" and saved.record.quiz.active  # officers keep the old one meanwhile
        v2 = drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        assert (v1.code, v2.code) == (f"drill-{saved.record.id}-v1", f"drill-{saved.record.id}-v2")
        s.refresh(v1)
        assert not v1.active and v2.active
        assert "准备制作结案报告" in v2.items[3].stem and "准备制作结案报告" not in v1.items[3].stem
        answers = {i.key: ("对" if i.qtype == "judge" else i.answer) for i in v1.items}
        submitted = attempts.submit_attempt(s, officer, attempt.id, answers)
        assert submitted.attempt.status == "submitted"
        with pytest.raises(StateError, match="已关闭"):
            attempts.start_attempt(s, officer, v1.code)


def test_retire_closes_the_quiz_and_retires_the_questions(world, resolver):
    with world.Session() as s:
        trainer = user(s, "trainer")
        drills.save_drill(s, trainer, FIRST, resolver)
        quiz = drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        record = drills.retire_drill(s, trainer, "first-violation-no-penalty")
        assert record.state == "retired" and not quiz.active
        assert {questions.get_question(s, i.key).state for i in quiz.items} == {"retired"}
        assert drills.list_drills(s, trainer, state="retired") == [record]
        assert "drills.retire" in actions(s)
        again = drills.publish_drill(s, trainer, record.code, resolver)  # brought back as a new version
        assert again.active and again.code.endswith("-v2")


def test_only_trainers_and_admins_manage_drills(world, resolver):
    with world.Session() as s:
        officer = user(s, "zhang.th")
        with pytest.raises(AccessDenied):
            drills.save_drill(s, officer, FIRST, resolver)
        with pytest.raises(AccessDenied):
            drills.list_drills(s, officer)
        assert count(s, DrillRecord) == 0


def test_import_the_shipped_scenarios_published_and_idempotent(world, resolver):
    with world.Session() as s:
        trainer = user(s, "trainer")
        records = drills.import_drill_files(s, trainer, [SCENARIOS], resolver)
        assert len(records) == len(drill_files([SCENARIOS])) >= 8
        assert {r.state for r in records} == {"published"}
        quizzes = s.scalars(select(Quiz)).all()
        assert len(quizzes) == len(records) and all(q.selection["drill"] and q.selection["narrative"] for q in quizzes)
        drills.import_drill_files(s, trainer, [SCENARIOS], resolver)
        assert count(s, Quiz) == len(records)


def test_an_import_with_one_bad_file_imports_nothing(world, resolver, tmp_path):
    (tmp_path / "a.yaml").write_text(FIRST, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(FIRST.replace("id: first-violation-no-penalty", "id: second")
                                     .replace(GOOD_QUOTE, BAD_QUOTE), encoding="utf-8")
    with world.Session() as s:
        with pytest.raises(ValidationError, match="未导入任何演练") as info:
            drills.import_drill_files(s, user(s, "trainer"), [tmp_path], resolver)
        assert "b.yaml 第 26 行 · 第 1 步" in str(info.value)
        assert count(s, DrillRecord) == 0


def test_a_file_listing_several_drills_is_cut_into_one_record_each(world, resolver, tmp_path):
    other = FIRST.replace("id: first-violation-no-penalty", "id: second")
    listed = "".join("- " + "\n  ".join(text.splitlines()) + "\n" for text in (FIRST, other))
    (tmp_path / "two.yaml").write_text(listed.replace("\n  \n", "\n\n"), encoding="utf-8")
    with world.Session() as s:
        records = drills.import_drill_files(s, user(s, "trainer"), [tmp_path], resolver, publish=False)
        assert [r.code for r in records] == ["first-violation-no-penalty", "second"]
        assert records[0].source.startswith("id: first-violation-no-penalty\n") and records[0].state == "draft"


@pytest.mark.parametrize(("source", "said"), [
    ("id: x\n title: y\n", "第 2 行 · YAML 格式：此处不能出现冒号「:」：检查上一行的缩进，或给含冒号的文字加引号"),
    ("id: x\nsteps:\n\t- a\n", "第 3 行 · YAML 格式：不能用 Tab 缩进，请改用空格"),
    ("id: x\ntitle: 'y\n", "第 3 行 · YAML 格式：引号没有闭合"),
    ("id: x\ntitle y\nnarrative: z\n", "第 3 行 · YAML 格式：缺少冒号「:」（应为「字段: 值」）"),
])
def test_yaml_mistakes_are_explained_in_chinese(resolver, source, said):
    assert drills.check_drill(source, resolver).messages == [said]


def test_the_template_is_not_a_drill_until_its_examples_are_rewritten(resolver):
    check = drills.check_drill(drills.TEMPLATE, resolver)
    assert check.drill is not None and not check.ok  # it parses and resolves, yet is refused
    assert any(m.startswith("案情描述：仍是模板的示例文字「在这里写案情") for m in check.messages)
    written = drills.TEMPLATE.replace("my-drill", "fire-exit-check")
    for example in drills.TEMPLATE_EXAMPLES - {"my-drill"}:
        written = written.replace(example, f"本演练的{example}")
    assert drills.check_drill(written, resolver).ok


def test_insert_provision_adds_a_citation_that_validates(resolver):
    hit = resolver.resolve("行政处罚法", "第五条")[0]
    quote = "公正、公开"
    assert quote in hit.text
    text = drills.insert_provision(FIRST, 2, hit.short_title, hit.path, quote)
    assert text is not None and text.count("article: 第五条") == 1
    check = drills.check_drill(text, resolver)
    assert check.ok, check.messages
    assert [r.path for r in check.drill.steps[1].question.sources] == ["第三十三条", "第五条"]
    no_provisions = drills.TEMPLATE.replace(
        "    provisions:                    # 用右侧「查找依据条文」插入；quote 须逐字摘自条文\n"
        "      - law: 行政处罚法\n        article: 第三十三条\n"
        "        quote: 初次违法且危害后果轻微并及时改正的，可以不予行政处罚\n", "")
    added = drills.insert_provision(no_provisions, 1, "行政处罚法", "第五条", quote)
    assert added is not None and added.endswith("    provisions:\n      - law: 行政处罚法\n        article: 第五条\n"
                                                 "        quote: 公正、公开\n")
    assert drills.insert_provision("steps: [1, 2]", 1, "a", "b", "c") is None


# -- a trainer's edit of a question ----------------------------------------------------------------

def generated_blank(resolver) -> Question:
    """A question in the generator's shape: 第五十一条's 二百元 blanked."""
    hit = resolver.resolve("行政处罚法", "第五十一条")[0]
    quote = next(s for s in hit.text.split("。") if "二百元" in s).split(" ", 1)[-1]
    stem = quote.replace("二百元", BLANK, 1) + "。"
    ref = SourceRef(hit.doc_key, hit.path, hit.chunk_key, text_hash(hit.text), quote)
    return Question(question_id("blank", hit.chunk_key, stem), "blank", stem, [], "二百元", f"依据：{quote}",
                    [ref], {"法规": ["行政处罚法"]})


def test_an_edit_of_a_generated_question_must_still_be_proved_by_its_source(world, resolver, store):
    q = generated_blank(resolver)
    with world.Session() as s:
        trainer = user(s, "trainer")
        questions.save_questions(s, trainer, [q])
        questions.set_state(s, trainer, [q.id], "approved")
        with pytest.raises(ValidationError, match="解析中须保留出处引文原文"):
            questions.edit_question(s, trainer, q.id, stem=q.stem, options=[], answer="二百元",
                                    explanation="见第五十一条", store=store)
        with pytest.raises(ValidationError, match="把答案填回空格后与出处原文不一致"):
            questions.edit_question(s, trainer, q.id, stem=q.stem, options=[], answer="三百元",
                                    explanation=q.explanation, store=store)
        result = questions.edit_question(s, trainer, q.id, stem="（简易程序）" + q.stem, options=[], answer="二百元",
                                         explanation=q.explanation + "\n适用简易程序。", store=store)
        assert result.back_to_draft == [q.id]
        row = questions.get_question(s, q.id)
        assert row.stem.startswith("（简易程序）") and row.state == "draft" and row.key == q.id


def test_a_flagged_question_shows_its_source_now_and_an_edit_repins_it(world, resolver, store):
    q = generated_blank(resolver)
    old = dataclasses.replace(q.sources[0], text_hash="0" * 64)  # made from a text no longer in force
    q = dataclasses.replace(q, sources=[old])
    with world.Session() as s:
        trainer = user(s, "trainer")
        questions.save_questions(s, trainer, [q])
        current = resolver.resolve("行政处罚法", "第五十一条")[0].text
        assert questions.flag_stale(s, trainer, {old.chunk_key: text_hash(current)}) == [q.id]
        [now] = questions.sources_now(store, [old])
        assert now.changed and now.quote_holds and now.made_from is None
        assert now.current.chunk_key == old.chunk_key and old.quote in now.current.text
        questions.edit_question(s, trainer, q.id, stem=q.stem, options=[], answer="二百元",
                                explanation=q.explanation, store=store)
        row = questions.get_question(s, q.id)
        assert not row.flagged and row.sources[0]["text_hash"] == text_hash(now.current.text)
        gone = dataclasses.replace(old, quote="本条不存在的一句话")
        [missing] = questions.sources_now(store, [gone])
        assert missing.repinned() is None and not missing.quote_holds


# -- publishing, retiring and importing are one transaction each ------------------------------------

def committed(db) -> dict:
    """Everything a publication touches, as committed (read from a session of its own)."""
    with db.Session() as other:
        return {
            "questions": other.execute(select(QuestionRow.key, QuestionRow.state, QuestionRow.flagged,
                                              QuestionRow.content_hash, QuestionRow.updated_at)
                                       .order_by(QuestionRow.key)).all(),
            "quizzes": other.execute(select(Quiz.code, Quiz.active).order_by(Quiz.code)).all(),
            "drills": other.execute(select(DrillRecord.code, DrillRecord.state, DrillRecord.quiz_id,
                                           DrillRecord.source, DrillRecord.updated_at)
                                    .order_by(DrillRecord.code)).all(),
            "audit": other.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.outcome)
                                   .order_by(AuditEntry.id)).all(),
        }


def test_a_first_publication_failing_at_the_quiz_leaves_nothing_approved(world, resolver, monkeypatch):
    with world.Session() as s:
        trainer = user(s, "trainer")
        drills.save_drill(s, trainer, FIRST, resolver)
        before = committed(world)
        made = []

        def create_quiz_failing(session, *args, **kwargs):  # after the questions are saved and approved
            made.extend(k for k, state in drills._drill_questions(session, "first-violation-no-penalty")
                        if state == "approved")
            raise StateError("the quiz cannot be created")

        monkeypatch.setattr(quizzes, "create_quiz", create_quiz_failing)
        with pytest.raises(StateError, match="cannot be created"):
            drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        assert len(made) == 4  # the failure came after four questions were approved in the transaction
        after = committed(world)
        assert after == before and after["questions"] == [] and after["drills"][0].state == "draft"
        monkeypatch.undo()
        quiz = drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)  # the session goes on
        assert quiz.code.endswith("-v1") and drills.get_drill(s, trainer, quiz.selection["drill"]).state == "published"


def test_a_republication_whose_quiz_code_collides_changes_nothing(world, resolver, monkeypatch):
    with world.Session() as s:
        trainer = user(s, "trainer")
        drills.save_drill(s, trainer, FIRST, resolver)
        v1 = drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        edited = FIRST.replace("承办人决定不予行政处罚，准备结案。", "承办人决定不予行政处罚，准备制作结案报告。")
        drills.save_drill(s, trainer, edited, resolver, code="first-violation-no-penalty")
        before = committed(world)
        # A real collision inside create_quiz: the next version's code is already taken (as when
        # two trainers publish at once).
        monkeypatch.setattr(drills, "_next_quiz_code", lambda session, row: v1.code)
        with pytest.raises(ValidationError, match="already exists"):
            drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        after = committed(world)
        assert after == before
        assert {state for _, state, *_ in after["questions"]} == {"approved"}  # the edited step was not reset
        assert after["quizzes"] == [(v1.code, True)] and after["drills"][0].state == "draft"


def test_a_retirement_failing_half_way_leaves_the_drill_published(world, resolver, monkeypatch):
    with world.Session() as s:
        trainer = user(s, "trainer")
        drills.save_drill(s, trainer, FIRST, resolver)
        drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
        before = committed(world)

        def set_active_failing(*args, **kwargs):  # after the questions were retired
            raise StateError("the quiz cannot be closed")

        monkeypatch.setattr(quizzes, "set_active", set_active_failing)
        with pytest.raises(StateError, match="cannot be closed"):
            drills.retire_drill(s, trainer, "first-violation-no-penalty")
        assert committed(world) == before


def test_an_import_failing_at_its_second_publication_imports_nothing(world, resolver, monkeypatch, tmp_path):
    (tmp_path / "a.yaml").write_text(FIRST, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(FIRST.replace("id: first-violation-no-penalty", "id: second"), encoding="utf-8")
    real, calls = quizzes.create_quiz, []

    def create_quiz_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise StateError("the second quiz cannot be created")
        return real(*args, **kwargs)

    monkeypatch.setattr(quizzes, "create_quiz", create_quiz_once)
    with world.Session() as s:
        before = committed(world)
        with pytest.raises(StateError, match="second quiz"):
            drills.import_drill_files(s, user(s, "trainer"), [tmp_path], resolver)
        assert len(calls) == 2 and committed(world) == before


def test_a_refused_publication_is_audited(world, resolver):
    with world.Session() as s:
        trainer = user(s, "trainer")
        drills.save_drill(s, trainer, FIRST.replace(GOOD_QUOTE, BAD_QUOTE), resolver)
        with pytest.raises(ValidationError, match="未通过校验"):
            drills.publish_drill(s, trainer, "first-violation-no-penalty", resolver)
    refused = [a for a in committed(world)["audit"] if a.outcome == "refused"]
    assert refused == [("drills.publish", "drill:first-violation-no-penalty", "refused")]
