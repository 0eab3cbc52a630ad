"""👍/👎 on answers: officers rate what 问答 told them; trainers review the ratings.

The answer text and its citations are stored as shown, because the knowledge base may change
before anyone reviews the feedback. Voting twice on the same answer is one vote (the app
keys it); a trainer marks feedback reviewed, nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.records import access, audit
from kb.records.errors import NotFound, ValidationError
from kb.records.models import Actor, AnswerFeedback, Clock, User, utcnow

MAX_COMMENT = 2000


def record_feedback(session: Session, actor: Actor, question: str, answer: str, mode: str,
                    citations: Sequence[str], vote: int, comment: str = "", *,
                    clock: Clock = utcnow) -> AnswerFeedback:
    """Store one rating by a signed-in user (any role may rate what they were told)."""
    if vote not in (-1, 1):
        raise ValidationError("评价只能是 👍 或 👎 / vote must be +1 or -1")
    if not question.strip():
        raise ValidationError("缺少被评价的问题 / the rated question is empty")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"意见不能超过 {MAX_COMMENT} 字 / the comment is longer than {MAX_COMMENT} characters")
    row = AnswerFeedback(at=clock(), user_id=actor.id if isinstance(actor, User) else None,
                         question=question.strip(), answer=answer, mode=mode, citations=list(citations),
                         vote=vote, comment=comment)
    session.add(row)
    session.commit()
    return row


def list_feedback(session: Session, actor: Actor, *, only_unreviewed: bool = False,
                  vote: int | None = None, limit: int = 200) -> list[AnswerFeedback]:
    """The newest ratings first; for trainers and admins, who act on them."""
    access.require(session, actor, "content.manage", target="answer_feedback")
    stmt = select(AnswerFeedback).order_by(AnswerFeedback.at.desc(), AnswerFeedback.id.desc()).limit(limit)
    if only_unreviewed:
        stmt = stmt.where(AnswerFeedback.reviewed.is_(False))
    if vote is not None:
        stmt = stmt.where(AnswerFeedback.vote == vote)
    return list(session.scalars(stmt))


def mark_reviewed(session: Session, actor: Actor, feedback_id: int, *, clock: Clock = utcnow) -> AnswerFeedback:
    access.require(session, actor, "content.manage", target=f"answer_feedback:{feedback_id}")
    row = session.get(AnswerFeedback, feedback_id)
    if row is None:
        raise NotFound(f"没有编号为 {feedback_id} 的反馈 / no feedback {feedback_id}")
    row.reviewed = True
    audit.record(session, actor, "feedback.review", f"answer_feedback:{feedback_id}", clock=clock)
    session.commit()
    return row
