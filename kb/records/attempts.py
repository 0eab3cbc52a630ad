"""Taking a quiz: start an attempt, save answers as you go, submit; then see the results.

- :func:`start_attempt` resumes the open attempt if there is one (a second tab gets the same
  attempt), otherwise opens a new one if attempts remain.
- :func:`save_answers` stores answers by question id; an id that is not in the attempt, or a
  malformed answer, refuses the whole call (nothing saved). After the time limit plus
  :data:`GRACE`, saving and submitting are refused with :class:`TimeLimitExceeded`.
- :func:`submit_attempt` grades and credits in ONE transaction: the attempt is locked first
  (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so a double click,
  a second tab or a retry after a lost response finds it submitted and gets the same result
  back (``already_submitted``), crediting nothing more. Any failure rolls everything back.
- An open attempt whose time (plus grace) ran out is never left open: :func:`close_expired`
  (called by the pages when they list or open quizzes, and by :func:`start_attempt`) grades it
  on the answers saved in time, marks it ``expired`` and credits it if it passed, as a submit
  at the deadline would have; a closed browser tab does not cost an officer a passed paper.
  It locks the attempt like a submit does, so the two never both grade it.
- :func:`attempt_result` shows each answer with the key, the explanation and the source
  citations, only once graded. The best graded attempt (highest percent, earliest on a tie)
  is the one that counts: :func:`best_attempt`.

Only the attempt's owner answers and submits; a refusal is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.citation import render_path
from kb.records import access, audit, grading, ledger
from kb.records.db import in_writing, writing
from kb.records.errors import AccessDenied, NotFound, NotInAttempt, StateError, TimeLimitExceeded, ValidationError
from kb.records.models import Actor, Attempt, AttemptAnswer, Clock, LedgerEntry, Quiz, QuizItem, User, utcnow
from kb.records.quizzes import get_quiz

GRACE = timedelta(seconds=5)


@dataclass(frozen=True)
class ItemView:
    """One question as the officer sees it while answering (no key, no explanation).
    ``choice``: answered with option letters; ``multi``: several may be chosen (a 情景 step
    keyed with several options is one, which its type alone does not tell)."""

    position: int
    key: str
    qtype: str
    stem: str
    options: tuple[str, ...]
    points: int
    response: str
    choice: bool
    multi: bool


@dataclass(frozen=True)
class Submission:
    """What a submit (or the closing of an expired attempt) did: the graded attempt, the ledger
    line it credited (None when it did not pass, the quiz gives no hours, or the year's credit
    was already earned) and whether the attempt had already been submitted (a repeated submit:
    nothing was changed)."""

    attempt: Attempt
    credit: LedgerEntry | None
    already_submitted: bool = False


@dataclass(frozen=True)
class ItemResult:
    """One answered question after submission: the response, the key, what it earned, why."""

    position: int
    key: str
    qtype: str
    stem: str
    options: tuple[str, ...]
    response: str
    answer: str
    earned: float
    points: int
    explanation: str
    citations: tuple[str, ...]
    sources: tuple[dict[str, str], ...]

    @property
    def correct(self) -> bool:
        return self.earned >= self.points


@dataclass(frozen=True)
class AttemptResult:
    attempt: Attempt
    quiz: Quiz
    items: tuple[ItemResult, ...]
    credited_hours: str | None  # the hours this attempt credited, if it did


def cite(source: Mapping[str, str]) -> str:
    """《行政处罚法》第三十三条（2021-01-22）「quote」 from a stored source reference (a plan's
    path ``二/（四）`` is shown as 二、（四）)."""
    title, _, version = source.get("doc_key", "").partition("@")
    where = f"《{title}》{render_path(source.get('path', ''))}" + (f"（{version}）" if version else "")
    quote = source.get("quote", "")
    return f"{where}「{quote}」" if quote else where


def _local_time(moment: datetime | None) -> str:
    return moment.astimezone(ledger.LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _late(attempt: Attempt, now: datetime) -> bool:
    return attempt.deadline is not None and now > attempt.deadline + GRACE


def _taker(actor: Actor) -> User:
    if not isinstance(actor, User):
        raise ValidationError("答题须以本人身份登录 / quizzes are taken as a signed-in user (use --as USERNAME)")
    return actor


def _load(session: Session, actor: Actor, attempt_id: int, action: str) -> Attempt:
    """The actor's own attempt, or NotFound / AccessDenied (audited)."""
    attempt = session.get(Attempt, attempt_id) if isinstance(attempt_id, int) else None
    if attempt is None:
        raise NotFound(f"没有第 {attempt_id} 次答题 / no attempt {attempt_id}")
    if not isinstance(actor, User) or actor.id != attempt.user_id or not actor.active:
        reason = "the attempt belongs to someone else"
        audit.record_refusal(session, actor, action, f"attempt:{attempt_id}",
                             {"reason": reason, "role": actor.role, "owner": attempt.user_id})
        raise AccessDenied(f"{action} attempt:{attempt_id}", reason)
    return attempt


def _lock(session: Session, attempt_id: int) -> Attempt:
    """Re-read the attempt inside the write transaction, locked until commit."""
    stmt = select(Attempt).where(Attempt.id == attempt_id).with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).one()


def _items(session: Session, quiz_id: int) -> list[QuizItem]:
    return list(session.scalars(select(QuizItem).where(QuizItem.quiz_id == quiz_id).order_by(QuizItem.position)))


def _answers(session: Session, attempt_id: int) -> dict[int, AttemptAnswer]:
    rows = session.scalars(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id)
                           .execution_options(populate_existing=True))
    return {a.position: a for a in rows}


def _checked(items: list[QuizItem], answers: Mapping[str, str | None]) -> dict[int, str]:
    """Answers by position, normalised; NotInAttempt or ValidationError before anything is written."""
    by_key = {item.key: item for item in items}
    unknown = [str(k)[:60] for k in answers if k not in by_key]
    if unknown:
        raise NotInAttempt(unknown)
    out = {}
    for key, response in answers.items():
        item = by_key[key]
        if response is not None and not isinstance(response, str):
            raise ValidationError(f"第 {item.position} 题的答案应为文字 / the answer to {key} must be text")
        try:
            out[item.position] = grading.normalize(item.qtype, item.options, item.answer, response)
        except ValidationError as exc:
            zh, _, en = str(exc).partition(" / ")  # keep the message「中文 / English」for the pages to split
            raise ValidationError(f"第 {item.position} 题：{zh} / question {item.position} ({key}): {en or zh}"
                                  ) from exc
    return out


def _store(session: Session, attempt: Attempt, responses: Mapping[int, str], now: datetime
           ) -> dict[int, AttemptAnswer]:
    """Insert or update the answers; returns every saved answer of the attempt by position."""
    existing = _answers(session, attempt.id)
    for position, response in responses.items():
        row = existing.get(position)
        if row is None:
            existing[position] = row = AttemptAnswer(attempt_id=attempt.id, position=position, response=response,
                                                     saved_at=now)
            session.add(row)
        elif row.response != response:
            row.response = response
            row.saved_at = now
    attempt.last_saved_at = now
    return existing


def _grade(session: Session, actor: Actor, attempt: Attempt, saved: Mapping[int, AttemptAnswer], *,
           status: str, closed_at: datetime, now: datetime) -> LedgerEntry | None:
    """Score the saved answers, close the attempt as ``status`` at ``closed_at`` (its year is
    that moment's local year) and credit it if it passed; in the caller's locked transaction."""
    quiz = session.get(Quiz, attempt.quiz_id)
    assert quiz is not None
    items = _items(session, attempt.quiz_id)
    total = 0.0
    for item in items:
        row = saved.get(item.position)
        if row is None:
            continue
        row.earned = grading.score(item.qtype, item.options, item.answer, row.response, item.points,
                                   quiz.multiple_scoring)
        total += row.earned
    max_score = float(sum(item.points for item in items))
    attempt.status = status
    attempt.submitted_at = closed_at
    attempt.year = ledger.local_date(closed_at).year
    attempt.score = round(total, 4)
    attempt.max_score = max_score
    attempt.percent = round(100 * total / max_score, 2) if max_score else 0.0
    attempt.passed = attempt.percent + 1e-9 >= quiz.pass_mark
    session.flush()
    if attempt.passed and quiz.credit_hours > 0:
        return ledger.credit_quiz(session, actor, attempt, quiz, clock=lambda: now)
    return None


def _expire(session: Session, actor: Actor, attempt: Attempt, now: datetime) -> LedgerEntry | None:
    """Grade a locked open attempt whose time ran out, as if submitted at its deadline, and
    audit who triggered it (the owner at their next visit, or a coordinator or admin)."""
    assert attempt.deadline is not None
    credit = _grade(session, actor, attempt, _answers(session, attempt.id), status="expired",
                    closed_at=attempt.deadline, now=now)
    audit.record(session, actor, "attempts.expire", f"attempt:{attempt.id}", {
        "owner": attempt.user_id, "quiz": attempt.quiz_id, "percent": attempt.percent, "passed": attempt.passed,
        "credit": str(credit.hours) if credit is not None else None}, clock=lambda: now)
    return credit


def close_expired(session: Session, actor: Actor, *, clock: Clock = utcnow) -> list[Submission]:
    """Grade and close every open attempt whose time (plus :data:`GRACE`) has run out, among
    the people ``actor`` may see (an officer: their own; a coordinator: their units'; an admin
    or the shell operator: everyone's). Each is graded on the answers saved in time, marked
    ``expired`` and credited if it passed, as if submitted at its deadline. Commits; cheap
    (one read, no write lock) when there is nothing to close, so pages call it on every visit.
    """
    now = clock()
    owners = access.visible_users(session, actor).with_only_columns(User.id).order_by(None)
    late = select(Attempt).where(Attempt.status == "open", Attempt.deadline.is_not(None),
                                 Attempt.deadline < now - GRACE, Attempt.user_id.in_(owners)).order_by(Attempt.id)
    if session.scalars(late.with_only_columns(Attempt.id).limit(1)).first() is None:
        return []
    with writing(session):
        found = session.scalars(late.with_for_update(of=Attempt).execution_options(populate_existing=True)).all()
        # re-checked on the locked rows: a submit that got there first has closed it
        closed = [Submission(a, _expire(session, actor, a, now)) for a in found if a.status == "open" and _late(a, now)]
    return closed


def start_attempt(session: Session, actor: Actor, quiz_code: str, *, clock: Clock = utcnow) -> Attempt:
    """The officer's open attempt at the quiz, or a new one; StateError when the quiz is closed
    or no attempts remain. An open one whose time ran out is graded and closed first, as
    :func:`close_expired` does. Commits."""
    me = _taker(actor)
    quiz = get_quiz(session, quiz_code)
    access.require(session, me, "quiz.take", target=f"quiz:{quiz.code}")
    now = clock()
    try:
        with writing(session):
            mine = list(session.scalars(select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.user_id == me.id)
                                        .order_by(Attempt.number).with_for_update()
                                        .execution_options(populate_existing=True)))
            for attempt in mine:
                if attempt.status == "open" and not _late(attempt, now):
                    return attempt
                if attempt.status == "open":
                    _expire(session, me, attempt, now)  # its time ran out unsubmitted: graded as it stood
            if not quiz.active:
                raise StateError(f"测验 {quiz.code} 已关闭 / quiz {quiz.code} is closed")
            if quiz.max_attempts is not None and len(mine) >= quiz.max_attempts:
                raise StateError(f"测验 {quiz.code} 的 {quiz.max_attempts} 次答题机会已用完 / all {quiz.max_attempts} "
                                 f"attempts at {quiz.code} are used")
            max_score = float(sum(item.points for item in quiz.items))
            deadline = now + timedelta(seconds=quiz.time_limit_s) if quiz.time_limit_s else None
            attempt = Attempt(quiz_id=quiz.id, user_id=me.id, number=len(mine) + 1, status="open", started_at=now,
                              deadline=deadline, max_score=max_score)
            session.add(attempt)
            return attempt
    except IntegrityError:
        # Another tab started one at the same moment (PostgreSQL): that one is the open attempt
        # (not inside a caller's transaction: that is failed, and the caller decides).
        if in_writing(session):
            raise
        found = session.scalar(select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.user_id == me.id,
                                                     Attempt.status == "open").order_by(Attempt.number.desc()))
        if found is None:
            raise
        return found


def questions(session: Session, actor: Actor, attempt_id: int) -> list[ItemView]:
    """The attempt's questions in order with the answers saved so far (owner only)."""
    attempt = _load(session, actor, attempt_id, "attempts.view")
    saved = _answers(session, attempt.id)
    return [ItemView(i.position, i.key, i.qtype, i.stem, tuple(i.options), i.points,
                     saved[i.position].response if i.position in saved else "",
                     grading.is_choice(i.qtype, i.options), grading.is_multi(i.qtype, i.answer))
            for i in _items(session, attempt.quiz_id)]


def get_attempt(session: Session, actor: Actor, attempt_id: int) -> Attempt:
    """The actor's own attempt (NotFound, or AccessDenied audited for someone else's)."""
    return _load(session, actor, attempt_id, "attempts.view")


def my_attempts(session: Session, actor: User) -> list[Attempt]:
    """The actor's own attempts at every quiz, open ones included, newest first."""
    return list(session.scalars(select(Attempt).where(Attempt.user_id == actor.id)
                                .order_by(Attempt.started_at.desc(), Attempt.id.desc())))


def save_answers(session: Session, actor: Actor, attempt_id: int, answers: Mapping[str, str | None], *,
                 clock: Clock = utcnow) -> Attempt:
    """Save answers (question id → answer; "" or None clears one) to an open attempt. Commits."""
    attempt = _load(session, actor, attempt_id, "attempts.answer")
    items = _items(session, attempt.quiz_id)
    responses = _checked(items, answers)
    now = clock()
    with writing(session):
        attempt = _lock(session, attempt_id)
        if attempt.status != "open":
            done = "提交" if attempt.status == "submitted" else "过期"
            raise StateError(f"第 {attempt_id} 次答题已{done}，不能再修改 / attempt {attempt_id} is "
                             f"{attempt.status}; answers can no longer change")
        if _late(attempt, now):
            raise TimeLimitExceeded(attempt.id, _local_time(attempt.deadline))
        _store(session, attempt, responses, now)
    return attempt


def submit_attempt(session: Session, actor: Actor, attempt_id: int, answers: Mapping[str, str | None] | None = None,
                   *, clock: Clock = utcnow) -> Submission:
    """Save the last ``answers`` (if any), grade, close and credit the attempt: all in one
    transaction, or nothing. Submitting an already submitted attempt changes nothing and
    returns its result with ``already_submitted=True``."""
    attempt = _load(session, actor, attempt_id, "attempts.submit")
    items = _items(session, attempt.quiz_id)
    responses = _checked(items, answers or {})
    now = clock()
    with writing(session):
        attempt = _lock(session, attempt_id)
        if attempt.status == "submitted":
            credit = session.scalar(select(LedgerEntry).where(LedgerEntry.attempt_id == attempt.id))
            return Submission(attempt, credit, already_submitted=True)
        if attempt.status != "open" or _late(attempt, now):
            raise TimeLimitExceeded(attempt.id, _local_time(attempt.deadline))
        saved = _store(session, attempt, responses, now) if responses else _answers(session, attempt.id)
        credit = _grade(session, actor, attempt, saved, status="submitted", closed_at=now, now=now)
    return Submission(attempt, credit)


def attempt_result(session: Session, actor: Actor, attempt_id: int) -> AttemptResult:
    """A graded attempt with every question's key, explanation and citations (for its owner,
    their coordinators and admins). StateError while the attempt is still open, or for an
    expired one closed before expired attempts were graded (it has no score)."""
    attempt = session.get(Attempt, attempt_id) if isinstance(attempt_id, int) else None
    if attempt is None:
        raise NotFound(f"没有第 {attempt_id} 次答题 / no attempt {attempt_id}")
    owner = session.get(User, attempt.user_id)
    assert owner is not None
    access.require(session, actor, "users.view", user=owner, target=f"attempt:{attempt_id}")
    if attempt.status == "open":
        raise StateError(f"第 {attempt_id} 次答题尚未提交，提交后才能查看答案与解析 / attempt {attempt_id} is "
                         "open; keys and explanations are shown after submission")
    if attempt.percent is None:
        raise StateError(f"第 {attempt_id} 次答题已过期且未评分 / attempt {attempt_id} expired before expired "
                         "attempts were graded; it has no result")
    quiz = session.get(Quiz, attempt.quiz_id)
    assert quiz is not None
    saved = _answers(session, attempt.id)
    items = []
    for item in _items(session, attempt.quiz_id):
        row = saved.get(item.position)
        items.append(ItemResult(item.position, item.key, item.qtype, item.stem, tuple(item.options),
                                row.response if row else "", item.answer, (row.earned or 0.0) if row else 0.0,
                                item.points, item.explanation, tuple(cite(s) for s in item.sources),
                                tuple(dict(s) for s in item.sources)))
    credit = session.scalar(select(LedgerEntry.hours).where(LedgerEntry.attempt_id == attempt.id))
    return AttemptResult(attempt, quiz, tuple(items), str(credit) if credit is not None else None)


def best_attempt(session: Session, user_id: int, quiz_id: int, year: int | None = None) -> Attempt | None:
    """The attempt that counts: the best graded one, submitted or expired (highest percent,
    earliest on a tie)."""
    stmt = (select(Attempt).where(Attempt.user_id == user_id, Attempt.quiz_id == quiz_id,
                                  Attempt.status != "open", Attempt.percent.is_not(None))
            .order_by(Attempt.percent.desc(), Attempt.submitted_at, Attempt.id).limit(1))
    if year is not None:
        stmt = stmt.where(Attempt.year == year)
    return session.scalar(stmt)


def attempts_left(session: Session, user_id: int, quiz: Quiz) -> int | None:
    """How many more attempts the person may start (None: unlimited)."""
    if quiz.max_attempts is None:
        return None
    used = session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user_id)) or 0
    return max(quiz.max_attempts - used, 0)
