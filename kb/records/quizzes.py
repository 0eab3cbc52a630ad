"""Quizzes (测验): assembled once from APPROVED questions, then fixed.

A quiz is either a fixed list of question ids or a random draw: ``count`` questions among
the approved, unflagged ones matching the 执法领域 (``fields``, the questions' 领域 tags),
other tags (any value of a kind, every kind given), difficulty and type. The draw is seeded
(a seed is chosen and recorded when none is given), so the same bank and seed give the same
paper. The chosen questions are copied into the quiz (:class:`~kb.records.models.QuizItem`),
so what officers answer never changes under them.

Each quiz has its rules: time limit (minutes, none by default), pass mark (percent), attempts
allowed (unlimited by default), 学时 credited for passing, and how 多选 is scored
(``all_or_nothing`` or ``partial``, see :mod:`kb.records.grading`).
"""

from __future__ import annotations

import random
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.quiz import model as qm
from kb.records import access, audit, validate
from kb.records.db import writing
from kb.records.errors import NotFound, ValidationError
from kb.records.models import MULTIPLE_SCORING, Actor, Clock, Question, QuestionTag, Quiz, QuizItem, User, utcnow
from kb.records.questions import question_key

CODE_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")
FIELD_TAG = "领域"
MAX_QUESTIONS = 200
MAX_CREDIT_HOURS = Decimal(40)


@dataclass
class QuizSpec:
    """A quiz to create, as a trainer describes it (validated by :func:`create_quiz`)."""

    code: str
    title: str
    count: int | None = None  # random draw of this many; or give question_keys
    question_keys: Sequence[str] = ()
    fields: Sequence[str] = ()  # 执法领域: the questions' 领域 tags, any of them
    tags: Mapping[str, Sequence[str]] = field(default_factory=dict)  # e.g. {"技能": ["调查取证"]}
    difficulty: int | Sequence[int] | None = None
    qtypes: Sequence[str] = ()
    seed: int | None = None
    time_limit_minutes: int | None = None
    pass_mark: int = 60
    max_attempts: int | None = None
    credit_hours: Decimal | int | str = Decimal(1)
    multiple_scoring: str = "all_or_nothing"
    # What the quiz belongs to, kept in its ``selection`` for the pages: a drill's
    # {"drill": code, "narrative": text}, shown above the questions.
    context: Mapping[str, Any] = field(default_factory=dict)


def quiz_code(value: str | None) -> str:
    """A quiz code: up to 32 letters, digits, '.', '_' or '-' (``2026-03``, ``SCJG.Q1``)."""
    code = unicodedata.normalize("NFKC", (value or "").strip())
    if not CODE_RE.fullmatch(code):
        raise ValidationError(f"测验代码 {(value or '')[:40]!r} 无效：最多 32 位字母、数字或 . _ - / quiz code "
                              f"{(value or '')[:40]!r} is invalid: up to 32 letters, digits, '.', '_' or '-'")
    return code


def _hours(value: Decimal | int | str) -> Decimal:
    try:
        hours = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError(f"学时 {value!r} 不是数字 / credit hours {value!r} is not a number") from exc
    if not hours.is_finite() or hours < 0 or hours > MAX_CREDIT_HOURS or hours != hours.quantize(Decimal("0.01")):
        raise ValidationError(f"学时应在 0–{MAX_CREDIT_HOURS} 之间、最多两位小数 / credit hours must be 0–"
                              f"{MAX_CREDIT_HOURS} with at most two decimals, not {value!r}")
    return hours.quantize(Decimal("0.01"))


def _positive(value: int | None, what: str, upper: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise ValidationError(f"{what} 应为 1–{upper} 的整数 / {what} must be a whole number 1–{upper}")
    return value


def eligible(session: Session, spec: QuizSpec) -> list[Question]:
    """Approved, unflagged questions matching the spec's filters, ordered by id. A drill's
    steps (keys ``drill:…``) are left out: they lean on the drill's narrative and make no
    sense drawn into a random quiz."""
    stmt = (select(Question).where(Question.state == "approved", Question.flagged.is_(False),
                                   Question.key.not_like("drill:%")).order_by(Question.key))
    wanted = {kind: list(values) for kind, values in spec.tags.items() if values}
    if spec.fields:
        wanted[FIELD_TAG] = [*wanted.get(FIELD_TAG, []), *spec.fields]
    for kind, values in wanted.items():
        stmt = stmt.where(Question.id.in_(
            select(QuestionTag.question_id).where(QuestionTag.kind == kind, QuestionTag.value.in_(values))))
    if spec.difficulty is not None:
        levels = [spec.difficulty] if isinstance(spec.difficulty, int) else list(spec.difficulty)
        stmt = stmt.where(Question.difficulty.in_(levels))
    if spec.qtypes:
        stmt = stmt.where(Question.qtype.in_(list(spec.qtypes)))
    return list(session.scalars(stmt))


def _choose(session: Session, spec: QuizSpec) -> tuple[list[Question], dict[str, object]]:
    if spec.question_keys:
        keys = [question_key(k) for k in spec.question_keys]
        if len(set(keys)) != len(keys):
            raise ValidationError("题目重复 / a question is listed twice")
        found = {q.key: q for q in session.scalars(select(Question).where(Question.key.in_(keys)))}
        missing = [k for k in keys if k not in found]
        if missing:
            raise NotFound(f"题库中没有这些题目 / no such questions: {', '.join(missing[:10])}")
        unusable = [f"{k} ({'flagged' if found[k].flagged else found[k].state})" for k in keys
                    if found[k].state != "approved" or found[k].flagged]
        if unusable:
            raise ValidationError(f"只能使用已审核且未标记的题目 / only approved, unflagged questions can be used: "
                                  f"{', '.join(unusable[:10])}")
        return [found[k] for k in keys], {"mode": "fixed", "keys": keys}
    count = _positive(spec.count, "题量 / count", MAX_QUESTIONS)
    if count is None:
        raise ValidationError("请给出题量或题目列表 / give a count or a list of question ids")
    pool = eligible(session, spec)
    if len(pool) < count:
        raise ValidationError(f"符合条件的已审核题目只有 {len(pool)} 道，不足 {count} 道 / only {len(pool)} approved "
                              f"questions match, {count} wanted")
    seed = spec.seed if spec.seed is not None else secrets.randbelow(2**31)
    chosen = random.Random(seed).sample(pool, count)
    return chosen, {"mode": "random", "count": count, "seed": seed, "fields": list(spec.fields),
                    "tags": {k: list(v) for k, v in spec.tags.items()}, "difficulty": spec.difficulty,
                    "qtypes": list(spec.qtypes), "pool": len(pool)}


def create_quiz(session: Session, actor: Actor, spec: QuizSpec, *, clock: Clock = utcnow) -> Quiz:
    """Assemble and store a quiz (trainers and admins); commits with its audit entry."""
    code = quiz_code(spec.code)
    access.require(session, actor, "content.manage", target=f"quiz:{code}")
    title = validate.text(spec.title, "测验名称 / quiz title", 200)
    if spec.multiple_scoring not in MULTIPLE_SCORING:
        raise ValidationError(f"多选计分方式 {spec.multiple_scoring!r} 无效 / multiple_scoring must be one of "
                              f"{', '.join(MULTIPLE_SCORING)}")
    if isinstance(spec.pass_mark, bool) or not isinstance(spec.pass_mark, int) or not 0 <= spec.pass_mark <= 100:
        raise ValidationError("及格线应为 0–100 的整数 / pass_mark must be a whole percent 0–100")
    minutes = _positive(spec.time_limit_minutes, "时限（分钟）/ time limit (minutes)", 24 * 60)
    max_attempts = _positive(spec.max_attempts, "答题次数 / attempts allowed", 100)
    hours = _hours(spec.credit_hours)
    bad_types = [t for t in spec.qtypes if t not in qm.QUESTION_TYPES]
    if bad_types:
        raise ValidationError(f"题型无效 / unknown question types: {', '.join(bad_types)}")
    try:
        with writing(session):
            if session.scalar(select(Quiz.id).where(Quiz.code == code)) is not None:
                raise ValidationError(f"测验代码 {code} 已存在 / quiz code {code} already exists")
            chosen, selection = _choose(session, spec)
            selection = {**dict(spec.context), **selection}
            quiz = Quiz(code=code, title=title, time_limit_s=minutes * 60 if minutes else None,
                        pass_mark=spec.pass_mark, max_attempts=max_attempts, credit_hours=hours,
                        multiple_scoring=spec.multiple_scoring,
                        selection=selection, active=True, created_at=clock(),
                        created_by_id=actor.id if isinstance(actor, User) else None)
            quiz.items = [QuizItem(position=i, question_id=q.id, key=q.key, qtype=q.qtype, stem=q.stem,
                                   options=list(q.options), answer=q.answer, explanation=q.explanation,
                                   sources=list(q.sources), points=1) for i, q in enumerate(chosen, start=1)]
            session.add(quiz)
            audit.record(session, actor, "quizzes.create", f"quiz:{code}", {
                "questions": len(chosen), "selection": selection, "credit_hours": str(hours),
                "pass_mark": spec.pass_mark}, clock=clock)
    except IntegrityError as exc:
        raise ValidationError(f"测验代码 {code} 已存在 / quiz code {code} already exists") from exc
    return quiz


def get_quiz(session: Session, code: str) -> Quiz:
    """The quiz with this code, or NotFound."""
    quiz = session.scalar(select(Quiz).where(Quiz.code == unicodedata.normalize("NFKC", (code or "").strip())))
    if quiz is None:
        raise NotFound(f"没有代码为 {code!r} 的测验 / no quiz with code {code!r}")
    return quiz


def list_quizzes(session: Session, *, active_only: bool = True) -> list[Quiz]:
    """Quizzes by code (only the open ones by default)."""
    stmt = select(Quiz).order_by(Quiz.code)
    if active_only:
        stmt = stmt.where(Quiz.active.is_(True))
    return list(session.scalars(stmt))


def set_active(session: Session, actor: Actor, code: str, active: bool, *, clock: Clock = utcnow) -> Quiz:
    """Open or close a quiz for new attempts (attempts already open may still be submitted)."""
    access.require(session, actor, "content.manage", target=f"quiz:{code}"[:200])
    with writing(session):
        quiz = get_quiz(session, code)
        quiz.active = active
        audit.record(session, actor, "quizzes.open" if active else "quizzes.close", f"quiz:{quiz.code}", clock=clock)
    return quiz
