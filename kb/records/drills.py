"""Trainer-authored 情景演练 (scenario drills) in the ``drills`` table.

The YAML source, in the format of ``corpus/scenarios`` (see :mod:`kb.quiz.drills`), is the
truth; the record's title and field are copies for listing. The life of a drill:

- :func:`save_drill` stores the source as a **draft**, valid or not, so a trainer's work in
  progress is never lost; the problems come back as Chinese messages naming the line and the
  step (``第 17 行 · 第 1 步 · 依据条文 1 · 原文摘录：…``) instead of an exception. Changing
  a published drill's source makes it a draft again: the published quiz stays open, with the
  old text, until the drill is published again.
- :func:`publish_drill` validates the source against the knowledge base again (it may have
  changed since the save), stores each step as an approved question of the bank (key
  ``drill:<code>:<step>``, the step's prompt before the question's stem) and assembles a quiz
  of them whose ``selection`` carries ``{"drill": code, "narrative": text}`` for the study
  page. Each publication is a new quiz (``drill-<id>-v<n>``) and the previous one is closed,
  so attempts already made or open keep the paper they were answering.
- :func:`retire_drill` closes its quiz and retires its questions.
- :func:`import_drill_files` loads ``corpus/scenarios``-style files (all or none), for
  ``kb demo`` and bulk imports.

Publishing, retiring and importing call the question-bank and quiz functions inside one
write transaction (:func:`kb.records.db.writing`): a step that fails leaves the bank, the
quizzes and the drills as they were, never questions approved without their quiz.
Everything here is for trainers and admins (``content.manage``) and every change is audited.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.quiz.drills import DrillError, drill_files, load_drills
from kb.quiz.model import FIELDS, Drill, Question
from kb.quiz.resolve import ProvisionResolver
from kb.quiz.yamlnodes import Problem, Reader, compose
from kb.records import access, audit, questions, quizzes, validate
from kb.records.db import writing
from kb.records.errors import NotFound, StateError, ValidationError
from kb.records.models import DRILL_STATES, Actor, Clock, DrillRecord, Quiz, User, utcnow
from kb.records.models import Question as QuestionRow

MAX_SOURCE = 100_000
QUIZ_PREFIX = "drill-"

TEMPLATE = """\
id: my-drill                     # 演练编号：英文字母、数字、. _ -，保存后不能修改
title: 演练标题
领域: 市场监管                    # 市场监管 城市管理 生态环境 交通运输 应急管理 公安治安 综合
技能: [调查取证]                  # 现场检查 调查取证 应急处置 文书制作 法律适用
narrative: |
  在这里写案情：时间、地点、当事人、执法人员看到了什么。
steps:
  - prompt: 这一步的情境：执法人员此时面临什么问题？
    question:
      type: single                 # single 单选 | multiple 多选 | judge 判断 | blank 填空
      stem: 题干（　）。
      options:
        - 选项一
        - 选项二
        - 选项三
      answer: A                    # 单选/多选填字母；判断填 对/错；填空填原文
      explanation: 解析：引用条文原文说明为什么。
    feedback: 讲评：答题后给执法人员看的要点。
    provisions:                    # 用右侧「查找依据条文」插入；quote 须逐字摘自条文
      - law: 行政处罚法
        article: 第三十三条
        quote: 初次违法且危害后果轻微并及时改正的，可以不予行政处罚
"""

# The template's example texts: a drill still holding one was not written yet (the template
# itself validates, so without this check it could be published as a 1-学时 quiz).
_EXAMPLE_KEYS = ("id", "title", "narrative", "prompt", "stem", "options", "explanation", "feedback")


def _examples(node: object, key: str = "") -> set[str]:
    if isinstance(node, dict):
        return {t for k, v in node.items() for t in _examples(v, str(k))}
    if isinstance(node, list):
        return {t for v in node for t in _examples(v, key)}
    return {str(node).strip()} if key in _EXAMPLE_KEYS and node is not None else set()


TEMPLATE_EXAMPLES = frozenset(_examples(yaml.safe_load(TEMPLATE)))

# -- validation messages in Chinese ------------------------------------------------------------

_FIELD_ZH = {
    "id": "演练编号", "title": "标题", "领域": "执法领域", "field": "执法领域", "技能": "技能", "skills": "技能",
    "narrative": "案情描述", "steps": "步骤", "author": "作者", "state": "状态", "prompt": "情境提示",
    "question": "题目", "feedback": "讲评", "provisions": "依据条文", "law": "法律名称", "article": "条",
    "quote": "原文摘录", "type": "题型", "stem": "题干", "options": "选项", "answer": "答案",
    "explanation": "解析", "difficulty": "难度", "(yaml)": "YAML 格式", "(file)": "内容",
}
_STEP_PART = re.compile(r"(steps|provisions|options|技能)\[(\d+)\]")

_MESSAGE_ZH: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"missing required field.*"), "缺少必填项"),
    (re.compile(r"unknown field \(expected one of: (.*)\)"), r"无法识别的字段（可用字段：\1）"),
    (re.compile(r"field given twice"), "字段重复出现"),
    (re.compile(r"expected a mapping of fields"), "应为「字段: 值」的形式"),
    (re.compile(r"expected non-empty text"), "不能为空"),
    (re.compile(r"expected a non-empty list"), "应为非空列表"),
    (re.compile(r"malformed YAML: (.*)"), lambda m: _yaml_zh(m.group(1))),
    (re.compile(r"the file is empty"), "内容为空"),
    (re.compile(r"id '(.*)' must be 1–64 ASCII.*"), r"编号「\1」无效：应为 1–64 位英文字母、数字或 . _ -"),
    (re.compile(r"unknown field '(.*)' \(expected one of: (.*)\)"), r"未知的执法领域「\1」（可选：\2）"),
    (re.compile(r"unknown state '(.*)' \(expected one of: (.*)\)"), r"未知的状态「\1」（可选：\2）"),
    (re.compile(r"unknown skill '(.*)' \(expected: (.*)\)"), r"未知的技能「\1」（可选：\2）"),
    (re.compile(r"cited provision not found: 《(.*)》\((.*)\) has no (.*)"), r"找不到引用的条文：《\1》中没有\3"),
    (re.compile(r"cited provision not found: no document matches '(.*?)'.*"), r"知识库中没有名为「\1」的法律法规"),
    (re.compile(r"cited provision not found: (.*)"), r"找不到引用的条文（\1）"),
    (re.compile(r"not found verbatim in (.*)"), r"与\1的条文不一致：原文摘录须逐字摘自条文"),
    (re.compile(r"unknown type '(.*)' \(expected one of: (.*)\)"), r"未知题型「\1」（可选：\2）"),
    (re.compile(r"a judge question has the options \[对, 错\]"), "判断题的选项只能是 [对, 错]"),
    (re.compile(r"a blank question has no options"), "填空题不设选项"),
    (re.compile(r"expected 3–(\d+) different options"), r"应有 3–\1 个互不相同的选项"),
    (re.compile(r"a judge answer is 对 or 错, not '(.*)'"), r"判断题答案只能是「对」或「错」，不能是「\1」"),
    (re.compile(r"the blank answer '(.*)' is not in any quoted provision"), r"填空答案「\1」不在所引条文的原文摘录中"),
    (re.compile(r"answer '(.*)' must name options (.)–(.)"), r"答案「\1」应为选项字母 \2–\3"),
    (re.compile(r"a single-choice answer is one letter"), "单选题的答案只能是一个字母"),
    (re.compile(r"a multiple-choice answer names at least two letters"), "多选题的答案至少两个字母"),
    (re.compile(r"expected 1, 2 or 3"), "应为 1、2 或 3"),
]


# PyYAML's reasons, as a trainer can act on them (an unforeseen one is shown as it is).
_YAML_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"mapping values are not allowed here"),
     "此处不能出现冒号「:」：检查上一行的缩进，或给含冒号的文字加引号"),
    (re.compile(r"found character '\\t' that cannot start any token"), "不能用 Tab 缩进，请改用空格"),
    (re.compile(r"found character '(.)' that cannot start any token"), "「\\1」不能作为内容的开头，请给这段文字加引号"),
    (re.compile(r"expected ',' or '[\]}]', but got .*"), "方括号或花括号没有闭合"),
    (re.compile(r"found unexpected end of stream"), "引号没有闭合"),
    (re.compile(r"expected <block end>, but found .*"), "缩进不一致，或引号后面多了文字"),
    (re.compile(r"could not find expected ':'"), "缺少冒号「:」（应为「字段: 值」）"),
]


def _yaml_zh(reason: str) -> str:
    for pattern, replacement in _YAML_ZH:
        if pattern.fullmatch(reason):
            return pattern.sub(replacement, reason)
    return f"{reason}，请检查缩进、冒号和引号"


def _field_zh(path: str) -> str:
    """``steps[2].provisions[1].quote`` → ``第 2 步 · 依据条文 1 · 原文摘录``."""
    parts = []
    for piece in path.split("."):
        m = _STEP_PART.fullmatch(piece)
        if m and m.group(1) == "steps":
            parts.append(f"第 {m.group(2)} 步")
        elif m:
            parts.append(f"{_FIELD_ZH.get(m.group(1), m.group(1))} {m.group(2)}")
        else:
            parts.append(_FIELD_ZH.get(piece, piece))
    return " · ".join(parts)


def message_zh(problem: Problem) -> str:
    """One loader problem as a trainer reads it: line, step, field and what to fix, in Chinese
    (an unforeseen English reason is kept as it is rather than hidden)."""
    reason = problem.message
    for pattern, replacement in _MESSAGE_ZH:
        if pattern.fullmatch(reason):
            reason = pattern.sub(replacement, reason)
            break
    return f"第 {problem.line} 行 · {_field_zh(problem.field)}：{reason}"


# -- checking a source ----------------------------------------------------------------------------

@dataclass
class DrillCheck:
    """A drill source checked against the knowledge base: the drill when valid, else the
    problems in Chinese. ``code``/``title``/``field`` are read loosely even from a broken
    source, so a draft can still be filed under its id."""

    source: str
    drill: Drill | None
    messages: list[str]
    code: str = ""
    title: str = ""
    field: str = ""

    @property
    def ok(self) -> bool:
        return self.drill is not None and not self.messages


def _loose(source: str) -> dict[str, str]:
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(data.get(k) if data.get(k) is not None else "").strip() for k in ("id", "title", "领域", "field")}


def check_drill(source: str, resolver: ProvisionResolver) -> DrillCheck:
    """Parse and validate one drill (the loader's own rules: provisions must resolve, quotes
    be verbatim); never raises for a bad source."""
    loose = _loose(source)
    check = DrillCheck(source, None, [], loose.get("id", ""), loose.get("title", ""),
                       loose.get("领域") or loose.get("field", ""))
    if len(source) > MAX_SOURCE:
        check.messages.append(f"演练内容过长（最多 {MAX_SOURCE} 字）")
        return check
    reader = Reader("drill")
    root = compose(source, reader)
    if root is not None and not isinstance(root, yaml.MappingNode):
        reader.problem(root, "(file)", "expected a mapping of fields")
    if reader.problems:
        check.messages = [message_zh(p) for p in reader.problems]
        return check
    with tempfile.TemporaryDirectory() as tmp:  # the loader reads files; one drill, one file
        path = Path(tmp) / "drill.yaml"
        path.write_text(source, encoding="utf-8")
        try:
            [drill] = load_drills([path], resolver)
        except DrillError as exc:
            check.messages = [message_zh(p) for p in exc.problems]
            return check
    check.drill = drill
    check.code, check.title, check.field = drill.id, drill.title, drill.field
    check.messages = _template_leftovers(yaml.safe_load(source))
    return check


def _template_leftovers(node: object, path: str = "") -> list[str]:
    """「第 1 步 · 题目 · 题干：仍是模板的示例文字「题干（　）。」」 for each example text kept."""
    if isinstance(node, dict):
        return [m for k, v in node.items() for m in _template_leftovers(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list):
        return [m for i, v in enumerate(node, 1) for m in _template_leftovers(v, f"{path}[{i}]")]
    text = str(node).strip() if node is not None else ""
    if path.rsplit(".", 1)[-1].split("[")[0] in _EXAMPLE_KEYS and text in TEMPLATE_EXAMPLES:
        return [f"{_field_zh(path)}：仍是模板的示例文字「{text[:30]}」，请改写为本演练的内容"]
    return []


# -- the records ----------------------------------------------------------------------------------

@dataclass
class SaveResult:
    """What :func:`save_drill` did. ``record`` is None when nothing could be stored (no usable
    id); ``messages`` are the validation problems (empty: the drill is valid)."""

    record: DrillRecord | None
    messages: list[str] = field(default_factory=list)
    created: bool = False
    changed: bool = False

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.messages


def _actor_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, User) else None


def _find(session: Session, code: str) -> DrillRecord | None:
    return session.scalar(select(DrillRecord).where(DrillRecord.code == code))


def save_drill(session: Session, actor: Actor, source: str, resolver: ProvisionResolver, *,
               code: str | None = None, clock: Clock = utcnow) -> SaveResult:
    """Create (``code`` None) or update (``code``: the drill being edited) a drill from its
    YAML, as a draft (see the module docstring). A new drill's id must be unused, and an
    edited drill's id cannot change: the questions published from it are keyed by it. An
    unchanged source changes nothing."""
    access.require(session, actor, "content.manage", target=f"drill:{code or ''}"[:200])
    source = (source or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", "  ")
    source = validate.text(source, "演练内容 / drill source", MAX_SOURCE, multiline=True) + "\n"
    check = check_drill(source, resolver)
    messages = list(check.messages)
    target = code or check.code
    if code and check.code and check.code != code:
        messages.insert(0, f"演练编号不能修改：本演练为「{code}」，内容中写的是「{check.code}」")
        return SaveResult(None, messages)
    if not target or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", target):
        return SaveResult(None, messages or ["缺少有效的演练编号（id）"])
    title = (check.title or "（未命名演练）")[:200]
    field_ = check.field if check.field in FIELDS else ""
    now = clock()
    with writing(session):
        row = _find(session, target)
        if row is None and code:
            raise NotFound(f"没有编号为 {code} 的演练 / no drill {code}")
        if row is not None and not code:
            return SaveResult(None, [f"演练编号「{target}」已被另一个演练使用，"
                                     "请换一个编号（或在列表中选中该演练再编辑）"])
        if row is not None and row.source == source:
            return SaveResult(row, messages)
        created = row is None
        if row is None:
            row = DrillRecord(code=target, created_by_id=_actor_id(actor), created_at=now, quiz=None)
            session.add(row)
        row.title, row.field, row.source = title, field_, source
        row.state = "draft"
        row.updated_by_id, row.updated_at = _actor_id(actor), now
        audit.record(session, actor, "drills.create" if created else "drills.save", f"drill:{target}",
                     {"valid": not messages, "problems": len(messages)}, clock=clock)
    return SaveResult(row, messages, created=created, changed=True)


def list_drills(session: Session, actor: Actor, *, state: str | None = None) -> list[DrillRecord]:
    """Drills by code, optionally of one state (draft | published | retired)."""
    access.require(session, actor, "content.manage", target="drills")
    stmt = select(DrillRecord).order_by(DrillRecord.code)
    if state is not None:
        if state not in DRILL_STATES:
            raise ValidationError(f"状态 {state!r} 无效 / state {state!r} is not one of {', '.join(DRILL_STATES)}")
        stmt = stmt.where(DrillRecord.state == state)
    return list(session.scalars(stmt))


def get_drill(session: Session, actor: Actor, code: str) -> DrillRecord:
    """The drill with this code, or NotFound."""
    access.require(session, actor, "content.manage", target=f"drill:{code}"[:200])
    row = _find(session, (code or "").strip())
    if row is None:
        raise NotFound(f"没有编号为 {code!r} 的演练 / no drill {code!r}")
    return row


def step_questions(drill: Drill, author: str) -> list[Question]:
    """The bank questions a drill publishes: one a step, the step's prompt set before the
    stem (the quiz shows each on its own) and its feedback after the explanation."""
    out = []
    for step in drill.steps:
        q = step.question
        explanation = f"{q.explanation}\n\n讲评：{step.feedback}" if step.feedback else q.explanation
        out.append(Question(id=q.id, qtype=q.qtype, stem=f"{step.prompt}\n\n{q.stem}", options=list(q.options),
                            answer=q.answer, explanation=explanation, sources=list(q.sources),
                            tags={k: list(v) for k, v in q.tags.items() if v}, difficulty=q.difficulty,
                            author=author[:64]))
    return out


def _source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _next_quiz_code(session: Session, row: DrillRecord) -> str:
    prefix = f"{QUIZ_PREFIX}{row.id}-v"
    used = session.scalars(select(Quiz.code).where(Quiz.code.like(f"{prefix}%")))
    versions = [int(c[len(prefix):]) for c in used if c[len(prefix):].isdigit()]
    return f"{prefix}{max(versions, default=0) + 1}"


def publish_drill(session: Session, actor: Actor, code: str, resolver: ProvisionResolver, *,
                  credit_hours: Decimal | int | str = Decimal(1), pass_mark: int = 60,
                  clock: Clock = utcnow) -> Quiz:
    """Publish (or re-publish) a drill: approved questions and a new quiz version; the
    previous version is closed. A drill already published, unchanged, returns its quiz.
    All in one transaction: if a step fails, nothing of the publication stays (a drill that
    does not validate is refused before it begins, and the refusal is audited)."""
    row = get_drill(session, actor, code)
    if row.state == "published" and row.quiz is not None and row.quiz.active \
            and row.quiz.selection.get("source_hash") == _source_hash(row.source):
        return row.quiz
    source = row.source
    check = check_drill(source, resolver)  # against the knowledge base, before taking the write lock
    if not check.ok or check.drill is None:
        audit.record_refusal(session, actor, "drills.publish", f"drill:{row.code}",
                             {"problems": check.messages[:10]}, clock=clock)
        shown = "；".join(check.messages[:10]) + ("；……" if len(check.messages) > 10 else "")
        raise ValidationError(f"演练未通过校验，未发布：{shown} / the drill does not validate and was not "
                              f"published ({len(check.messages)} problem(s))")
    drill = check.drill
    items = step_questions(drill, actor.username if isinstance(actor, User) else "trainer")
    keys = [q.id for q in items]
    with writing(session):
        row = _lock(session, row.id)
        if row.source != source:
            raise StateError(f"演练 {row.code} 在发布时被修改，请重新发布 / drill {row.code} changed while it was "
                             "being published; publish it again")
        questions.save_questions(session, actor, items, source=f"drill:{row.code}", clock=clock)
        retired = [key for key, state in _drill_questions(session, row.code) if key in set(keys) and state == "retired"]
        if retired:
            questions.set_state(session, actor, retired, "draft", clock=clock)
        questions.set_state(session, actor, keys, "approved", clock=clock)
        _retire_questions(session, actor, row.code, keep=set(keys), clock=clock)
        previous = row.quiz
        quiz = quizzes.create_quiz(session, actor, quizzes.QuizSpec(
            code=_next_quiz_code(session, row), title=f"情景演练：{drill.title}"[:200], question_keys=keys,
            pass_mark=pass_mark, credit_hours=credit_hours,
            context={"drill": row.code, "narrative": drill.narrative, "title": drill.title,
                     "source_hash": _source_hash(source)}), clock=clock)
        if previous is not None and previous.active:
            quizzes.set_active(session, actor, previous.code, False, clock=clock)
        row.state, row.quiz = "published", quiz
        row.title, row.field = drill.title[:200], drill.field
        row.updated_by_id, row.updated_at = _actor_id(actor), clock()
        audit.record(session, actor, "drills.publish", f"drill:{row.code}",
                     {"quiz": quiz.code, "steps": len(keys), "previous": previous.code if previous else None},
                     clock=clock)
    return quiz


def _lock(session: Session, drill_id: int) -> DrillRecord:
    """The drill re-read in the write transaction (locked until it ends, on PostgreSQL)."""
    stmt = select(DrillRecord).where(DrillRecord.id == drill_id).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


def _drill_questions(session: Session, code: str) -> list[tuple[str, str]]:
    """(key, state) of the bank questions published from drill ``code``."""
    prefix = f"drill:{code}:"
    rows = session.execute(select(QuestionRow.key, QuestionRow.state).where(QuestionRow.key.like(f"{prefix}%")))
    return [(key, state) for key, state in rows if key.startswith(prefix)]  # LIKE reads '_' as a wildcard


def _retire_questions(session: Session, actor: Actor, code: str, *, keep: set[str], clock: Clock) -> None:
    """Retire the drill's bank questions not in ``keep`` (steps removed by an edit, or all)."""
    stale = [key for key, state in _drill_questions(session, code) if key not in keep and state != "retired"]
    if stale:
        questions.set_state(session, actor, stale, "retired", clock=clock)


def retire_drill(session: Session, actor: Actor, code: str, *, clock: Clock = utcnow) -> DrillRecord:
    """Stop a drill: its quiz closes to new attempts (open ones may still be submitted) and
    its questions leave the bank's approved pool."""
    row = get_drill(session, actor, code)
    if row.state == "retired":
        return row
    with writing(session):  # questions, quiz and drill together
        row = _lock(session, row.id)
        if row.state == "retired":  # retired meanwhile
            return row
        _retire_questions(session, actor, row.code, keep=set(), clock=clock)
        if row.quiz is not None and row.quiz.active:
            quizzes.set_active(session, actor, row.quiz.code, False, clock=clock)
        was = row.state
        row.state = "retired"
        row.updated_by_id, row.updated_at = _actor_id(actor), clock()
        audit.record(session, actor, "drills.retire", f"drill:{row.code}", {"from": was}, clock=clock)
    return row


def _one_drill_sources(text: str) -> list[str]:
    """A file's drills as separate YAML sources: the file itself when it holds one drill, else
    each item of its top-level list cut out of the text (comments and layout kept)."""
    reader = Reader("file")
    root = compose(text, reader)
    if not isinstance(root, yaml.SequenceNode):
        return [text]
    out = []
    for node in root.value:
        piece = text[node.start_mark.index:node.end_mark.index]
        out.append(textwrap.dedent(" " * node.start_mark.column + piece).rstrip() + "\n")
    return out


def import_drill_files(session: Session, actor: Actor, paths: Iterable[str | Path], resolver: ProvisionResolver,
                       *, publish: bool = True, clock: Clock = utcnow) -> list[DrillRecord]:
    """Load drill files (``corpus/scenarios/*.yaml``) into the table, all or none: every file
    is validated first and one problem imports nothing, and the saving and publishing are one
    transaction, so a failure half-way leaves nothing either. Existing drills with the same id are
    updated; with ``publish`` each is published (a drill already published unchanged stays as
    it is, so importing twice changes nothing)."""
    access.require(session, actor, "content.manage", target="drills:import")
    files = drill_files(paths)
    try:
        load_drills(files, resolver)
    except DrillError as exc:
        messages = [f"{Path(p.file).name} {message_zh(p)}" for p in exc.problems]
        audit.record_refusal(session, actor, "drills.import", "drills:import", {"problems": messages[:10]},
                             clock=clock)
        raise ValidationError(f"演练文件有 {len(messages)} 处问题，未导入任何演练：{'；'.join(messages[:10])} / "
                              f"{len(messages)} problem(s) in the drill files, nothing imported: {exc}") from exc
    records = []
    with writing(session):  # all or none, the publications too
        for path in files:
            for source in _one_drill_sources(path.read_text(encoding="utf-8")):
                known = _find(session, _loose(source).get("id", ""))
                result = save_drill(session, actor, source, resolver, code=known.code if known else None,
                                    clock=clock)
                if result.record is None or result.messages:  # valid as a file; cut out wrongly
                    raise StateError(f"{path.name} 拆分后未通过校验：{'；'.join(result.messages[:3])} / "
                                     f"{path.name}: a drill cut out of the file does not validate")
                records.append(result.record)
        if publish:
            for record in records:
                publish_drill(session, actor, record.code, resolver, clock=clock)
    return records


def provision_entry(law: str, article: str, quote: str, indent: int) -> str:
    """One ``provisions:`` item as YAML lines at ``indent`` spaces (values quoted safely)."""
    pad = " " * indent
    dump = {k: yaml.safe_dump(v, allow_unicode=True, default_style=None, width=10_000).strip().removesuffix("\n...")
            for k, v in (("law", law), ("article", article), ("quote", quote))}
    return f"{pad}- law: {dump['law']}\n{pad}  article: {dump['article']}\n{pad}  quote: {dump['quote']}\n"


def insert_provision(source: str, step: int, law: str, article: str, quote: str) -> str | None:
    """``source`` with a provisions entry added to step ``step`` (1-based), the text around it
    untouched; None when the source is not valid YAML of that shape (the caller then shows
    the entry to paste by hand)."""
    reader = Reader("drill")
    root = compose(source, reader)
    if not isinstance(root, yaml.MappingNode):
        return None
    steps = next((v for k, v in root.value if k.value == "steps"), None)
    if not isinstance(steps, yaml.SequenceNode) or not 1 <= step <= len(steps.value):
        return None
    node = steps.value[step - 1]
    if not isinstance(node, yaml.MappingNode) or node.flow_style:
        return None
    provisions = next((v for k, v in node.value if k.value == "provisions"), None)
    lines = source.splitlines(keepends=True)
    if provisions is None:
        at = _line_after(source, _last_end(node))
        entry = " " * node.start_mark.column + "provisions:\n" + provision_entry(law, article, quote,
                                                                               node.start_mark.column + 2)
    elif isinstance(provisions, yaml.SequenceNode) and not provisions.flow_style and provisions.value:
        at = _line_after(source, _last_end(provisions))
        entry = provision_entry(law, article, quote, provisions.value[0].start_mark.column - 2)
    else:
        return None
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    return "".join(lines[:at]) + entry + "".join(lines[at:])


def _last_end(node: yaml.Node) -> int:
    """Where a block node's text really ends: its last scalar's end (a block collection's own
    end mark lies at the next token, possibly lines further down)."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node.end_mark.index


def _line_after(source: str, index: int) -> int:
    """The index of the line after the one holding character ``index`` (a node's end mark
    sits after its last character, or at the start of the next line for block scalars)."""
    line = source.count("\n", 0, index)
    if index > 0 and source[index - 1] == "\n":
        return line
    return line + 1

