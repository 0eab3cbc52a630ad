"""Which questions and drills rest on a provision: the 法规库 page links an article to them,
and a trainer checking an amended article sees what it affects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.records.models import DrillRecord, Question, Quiz


def questions_citing(session: Session, doc_key: str, path: str, *, states: tuple[str, ...] = ("approved",)
                     ) -> list[Question]:
    """Questions whose sources include this provision (JSON differs between SQLite and
    PostgreSQL, so the sources are matched here; the bank holds thousands, not millions)."""
    rows = session.scalars(select(Question).where(Question.state.in_(states)).order_by(Question.key))
    return [q for q in rows if any(s.get("doc_key") == doc_key and s.get("path") == path for s in q.sources)]


def drills_citing(session: Session, doc_key: str, path: str) -> list[DrillRecord]:
    """Published drills with a step resting on this provision (through their quiz's items)."""
    out = []
    for drill in session.scalars(select(DrillRecord).where(DrillRecord.state == "published",
                                                           DrillRecord.quiz_id.is_not(None))):
        quiz = session.get(Quiz, drill.quiz_id)
        if quiz and any(s.get("doc_key") == doc_key and s.get("path") == path
                        for item in quiz.items for s in item.sources):
            out.append(drill)
    return out
