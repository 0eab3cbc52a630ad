"""The question bank: store :class:`kb.quiz.model.Question` objects, review them
(draft → approved → retired), and flag those whose source provision has changed.

- :func:`save_questions` is an import: every question is checked first and one bad question
  means nothing is saved (the error lists them all). A question is matched by its stable id
  (``Question.id``, the row's ``key``): new ones are stored as drafts whatever state they
  carry (only :func:`set_state` approves, and it is audited); a changed question is updated,
  and an approved one goes back to draft for another review. Quizzes already assembled keep
  the copy their officers answered.
- :func:`set_state` moves questions between review states; approving one also clears its
  flag (the trainer has checked it against the current text).
- :func:`flag_stale` flags every question citing a provision whose text hash changed.
  (Re-saving questions that :func:`kb.quiz.flags.flag_changed` flagged works too: the flag
  is part of the content, so an approved question goes back to draft.)

Writing is for trainers and admins (``content.manage``); each action is audited.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.quiz import model as qm
from kb.records import access, audit, grading, validate
from kb.records.db import begin_write
from kb.records.errors import NotFound, RecordsError, StateError, ValidationError
from kb.records.models import Actor, Clock, Question, QuestionTag, User, utcnow

KEY_RE = re.compile(r"[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff._:@/#-]{0,127}")
TRANSITIONS = {("draft", "approved"), ("draft", "retired"), ("approved", "retired"), ("approved", "draft"),
               ("retired", "draft")}
ACTIONS = {"approved": "questions.approve", "retired": "questions.retire", "draft": "questions.to_draft"}
SOURCE_FIELDS = ("doc_key", "path", "chunk_key", "text_hash", "quote")


@dataclass
class SaveResult:
    """What :func:`save_questions` did, by question key."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    back_to_draft: list[str] = field(default_factory=list)  # were approved, changed: review again


def question_key(value: str | None) -> str:
    """A question's stable id: letters, digits, Chinese and ``._:@/#-``, at most 128 characters."""
    key = unicodedata.normalize("NFKC", (value or "").strip())
    if not KEY_RE.fullmatch(key):
        raise ValidationError(f"题目编号 {(value or '')[:40]!r} 无效 / question id {(value or '')[:40]!r} is invalid: "
                              "up to 128 letters, digits, Chinese characters or ._:@/#-")
    return key


def _sources(q: qm.Question) -> list[dict[str, str]]:
    out = []
    for ref in q.sources:
        data = asdict(ref) if isinstance(ref, qm.SourceRef) else dict(ref)
        missing = [f for f in SOURCE_FIELDS if not isinstance(data.get(f), str) or not data.get(f)]
        if missing:
            raise ValidationError(f"出处缺少 {', '.join(missing)} / a source lacks {', '.join(missing)}")
        out.append({f: validate.text(data[f], f"出处 {f} / source {f}", 4000, multiline=True) for f in SOURCE_FIELDS})
    return out


def _tags(tags: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, values in (tags or {}).items():
        kind = validate.text(kind, "标签类别 / tag kind", 16)
        items = [values] if isinstance(values, str) else list(values)
        out[kind] = list(dict.fromkeys(validate.text(v, "标签 / tag", 64) for v in items))
    return out


def _clean(q: qm.Question) -> dict[str, Any]:
    """The question's stored columns, or ValidationError naming the first problem."""
    if q.qtype not in qm.QUESTION_TYPES:
        raise ValidationError(f"题型 {q.qtype!r} 无效 / type {q.qtype!r} is not one of {', '.join(qm.QUESTION_TYPES)}")
    options = [validate.text(o, "选项 / option", 1000) for o in (q.options or [])]
    if len(options) > len(grading.LETTERS):
        raise ValidationError("选项过多 / too many options")
    if q.qtype in {"single", "multiple", "judge"} and len(options) < 2:
        raise ValidationError(f"{qm.TYPE_ZH[q.qtype]}题至少两个选项 / a {q.qtype} question needs options")
    answer = validate.text(q.answer, "答案 / answer", 2000)
    if grading.is_choice(q.qtype, options):
        keyed = grading.letters_of(answer)
        allowed = grading.LETTERS[:len(options)]
        if not keyed or any(ch not in allowed for ch in keyed):
            raise ValidationError(f"答案 {answer!r} 不是选项字母 / answer {answer!r} does not name options "
                                  f"A–{allowed[-1]}")
        if q.qtype in {"single", "judge"} and len(keyed) != 1:
            raise ValidationError(f"答案 {answer!r} 应为一个选项 / answer {answer!r} must be one option")
        answer = keyed
    if not isinstance(q.difficulty, int) or not 1 <= q.difficulty <= 3:
        raise ValidationError(f"难度 {q.difficulty!r} 应为 1–3 / difficulty must be 1, 2 or 3")
    return {
        "key": question_key(q.id), "qtype": q.qtype, "stem": validate.text(q.stem, "题干 / stem", 5000, multiline=True),
        "options": options, "answer": answer,
        "explanation": validate.text(q.explanation, "解析 / explanation", 5000, required=False,
                                     multiline=True),
        "sources": _sources(q), "tags": _tags(q.tags), "difficulty": q.difficulty,
        "author": validate.text(q.author, "作者 / author", 64), "flagged": bool(q.flagged),
    }


def content_hash(columns: Mapping[str, Any]) -> str:
    """sha256 of what a question says (not its review state), to tell a real change."""
    keys = ("qtype", "stem", "options", "answer", "explanation", "sources", "tags", "difficulty", "flagged")
    blob = json.dumps([columns[k] for k in keys], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _tag_rows(tags: Mapping[str, list[str]]) -> list[QuestionTag]:
    return [QuestionTag(kind=kind, value=value) for kind, values in tags.items() for value in values]


def save_questions(session: Session, actor: Actor, questions: Iterable[qm.Question], *, source: str = "",
                   clock: Clock = utcnow) -> SaveResult:
    """Store or update questions, all or none (see the module docstring); commits, audited."""
    label = validate.text(source, "来源 / source", 200, required=False) or "questions"
    access.require(session, actor, "content.manage", target=f"questions:{label}"[:200])
    problems: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    for i, q in enumerate(questions, start=1):
        try:
            columns = _clean(q)
        except ValidationError as exc:
            problems.append(f"#{i} {str(getattr(q, 'id', ''))[:40]}: {exc}")
            continue
        if columns["key"] in rows:
            problems.append(f"#{i} {columns['key']}: 重复 / duplicate id in this batch")
            continue
        columns["content_hash"] = content_hash(columns)
        rows[columns["key"]] = columns
    if problems:
        audit.record_refusal(session, actor, "questions.save", f"questions:{label}"[:200],
                             {"problems": len(problems), "first": problems[:5]}, clock=clock)
        shown = "; ".join(problems[:20]) + (f"; … {len(problems) - 20} more" if len(problems) > 20 else "")
        raise ValidationError(f"{len(problems)} 道题有问题，未保存任何题目 / {len(problems)} bad question(s), "
                              f"nothing saved: {shown}")
    if not rows:
        raise ValidationError("没有题目 / no questions given")
    now = clock()
    result = SaveResult()
    begin_write(session)
    try:
        existing: dict[str, Question] = {}
        keys = list(rows)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            existing |= {q.key: q for q in session.scalars(select(Question).where(Question.key.in_(chunk)))}
        for key, columns in rows.items():
            row = existing.get(key)
            if row is None:
                row = Question(**columns, state="draft", created_at=now, updated_at=now)
                row.tag_rows = _tag_rows(columns["tags"])
                session.add(row)
                result.created.append(key)
            elif row.content_hash == columns["content_hash"]:
                result.unchanged.append(key)
            else:
                for name, value in columns.items():
                    setattr(row, name, value)
                row.tag_rows = _tag_rows(columns["tags"])
                row.updated_at = now
                if row.state == "approved":
                    row.state = "draft"
                    result.back_to_draft.append(key)
                result.updated.append(key)
        audit.record(session, actor, "questions.save", f"questions:{label}"[:200], {
            "created": len(result.created), "updated": len(result.updated), "unchanged": len(result.unchanged),
            "back_to_draft": result.back_to_draft[:50]}, clock=clock)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise RecordsError("题库已被他人同时修改，未做任何更改，请重试 / the question bank changed concurrently; "
                           "nothing was saved, try again") from exc
    except BaseException:
        session.rollback()
        raise
    return result


def set_state(session: Session, actor: Actor, keys: str | Iterable[str], state: str, *,
              clock: Clock = utcnow) -> list[Question]:
    """Move questions to ``state`` (draft | approved | retired), all or none; one audit entry
    per question changed. Allowed: draft→approved/retired, approved→retired/draft,
    retired→draft. A question already in ``state`` is left alone (a repeated click)."""
    wanted = [keys] if isinstance(keys, str) else list(keys)
    access.require(session, actor, "content.manage", target=f"questions:{state}"[:200])
    if state not in qm.REVIEW_STATES:
        raise ValidationError(f"状态 {state!r} 无效 / state {state!r} is not one of {', '.join(qm.REVIEW_STATES)}")
    names = list(dict.fromkeys(question_key(k) for k in wanted))
    now = clock()
    begin_write(session)
    try:
        found = {q.key: q for q in session.scalars(select(Question).where(Question.key.in_(names)))}
        missing = [k for k in names if k not in found]
        if missing:
            raise NotFound(f"题库中没有这些题目 / no such questions: {', '.join(missing[:10])}")
        bad = [f"{k} ({found[k].state}→{state})" for k in names
               if found[k].state != state and (found[k].state, state) not in TRANSITIONS]
        if bad:
            raise StateError(f"不允许的状态变更 / transitions not allowed, nothing changed: {', '.join(bad[:10])}")
        changed = []
        for key in names:
            q = found[key]
            if q.state == state:
                continue
            detail: dict[str, Any] = {"from": q.state, "to": state}
            if state == "approved":
                detail["was_flagged"] = q.flagged
                q.flagged = False
                q.reviewed_by_id = actor.id if isinstance(actor, User) else None
                q.reviewed_at = now
            q.state = state
            q.updated_at = now
            audit.record(session, actor, ACTIONS[state], f"question:{key}", detail, clock=clock)
            changed.append(q)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return changed


def flag_stale(session: Session, actor: Actor, current: Mapping[str, str | None], *,
               clock: Clock = utcnow) -> list[str]:
    """Flag the draft and approved questions citing a chunk whose text changed: ``current``
    maps chunk keys to their text hash now (None: the chunk is gone). Returns the keys flagged.
    Flagged questions are left out of new quizzes until a trainer approves them again."""
    access.require(session, actor, "content.manage", target="questions:flag")
    begin_write(session)
    try:
        flagged = []
        candidates = session.scalars(select(Question).where(Question.state != "retired", Question.flagged.is_(False)))
        for q in candidates:
            if any(s["chunk_key"] in current and current[s["chunk_key"]] != s["text_hash"] for s in q.sources):
                q.flagged = True
                q.updated_at = clock()
                flagged.append(q.key)
        if flagged:
            audit.record(session, actor, "questions.flag", "questions:flag",
                         {"flagged": len(flagged), "keys": flagged[:100]}, clock=clock)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return flagged


def get_question(session: Session, key: str) -> Question:
    """The stored question with this id, or NotFound."""
    row = session.scalar(select(Question).where(Question.key == question_key(key)))
    if row is None:
        raise NotFound(f"题库中没有题目 {key!r} / no question {key!r}")
    return row


def list_questions(session: Session, *, state: str | None = None, flagged: bool | None = None) -> list[Question]:
    """Questions of the bank ordered by id, optionally of one state, flagged or not."""
    stmt = select(Question).order_by(Question.key)
    if state is not None:
        stmt = stmt.where(Question.state == state)
    if flagged is not None:
        stmt = stmt.where(Question.flagged.is_(flagged))
    return list(session.scalars(stmt))


def to_model(row: Question) -> qm.Question:
    """The stored question as the content model the generators and the app share."""
    return qm.Question(
        id=row.key, qtype=row.qtype, stem=row.stem, options=list(row.options), answer=row.answer,
        explanation=row.explanation, sources=[qm.SourceRef(**{f: s[f] for f in SOURCE_FIELDS}) for s in row.sources],
        tags={k: list(v) for k, v in row.tags.items()}, difficulty=row.difficulty, state=row.state,
        author=row.author, flagged=row.flagged)
