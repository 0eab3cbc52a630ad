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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.library import DocumentInfo, list_documents
from kb.model import Hit
from kb.quiz import model as qm
from kb.quiz.stems import text_hash
from kb.quiz.validate import validate as prove
from kb.records import access, audit, grading, validate
from kb.records.db import writing
from kb.records.errors import NotFound, RecordsError, StateError, ValidationError
from kb.records.models import Actor, Clock, Question, QuestionTag, User, utcnow
from kb.retrieve import hit_from_match
from kb.store.base import VectorStore

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
    try:
        with writing(session):
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
    except IntegrityError as exc:
        raise RecordsError("题库已被他人同时修改，未做任何更改，请重试 / the question bank changed concurrently; "
                           "nothing was saved, try again") from exc
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
    with writing(session):
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
    return changed


def flag_stale(session: Session, actor: Actor, current: Mapping[str, str | None], *,
               clock: Clock = utcnow) -> list[str]:
    """Flag the draft and approved questions citing a chunk whose text changed: ``current``
    maps chunk keys to their text hash now (None: the chunk is gone). Returns the keys flagged.
    Flagged questions are left out of new quizzes until a trainer approves them again."""
    access.require(session, actor, "content.manage", target="questions:flag")
    return _set_flagged(session, actor, lambda rows: {
        q.key for q in rows
        if any(s["chunk_key"] in current and current[s["chunk_key"]] != s["text_hash"] for s in q.sources)}, clock)


def flag_changed_in_store(session: Session, actor: Actor, store: VectorStore, *,
                          clock: Clock = utcnow) -> list[str]:
    """After an ingest, replace or removal: flag every draft or approved question whose source
    text is no longer the one in force (kb.quiz.flags decides, by title across versions).
    Returns the keys newly flagged; drills' step questions are questions too."""
    from kb.quiz.flags import changed_sources

    access.require(session, actor, "content.manage", target="questions:flag")
    return _set_flagged(session, actor, lambda rows: changed_sources([to_model(r) for r in rows], store), clock)


def _set_flagged(session: Session, actor: Actor, choose: Callable[[list[Question]], set[str]],
                 clock: Clock) -> list[str]:
    """Flag the unflagged, unretired questions ``choose`` picks, in one audited transaction."""
    with writing(session):
        rows = list(session.scalars(select(Question).where(Question.state != "retired",
                                                           Question.flagged.is_(False)).order_by(Question.key)))
        chosen = choose(rows)
        flagged = []
        for q in rows:
            if q.key in chosen:
                q.flagged = True
                q.updated_at = clock()
                flagged.append(q.key)
        if flagged:
            audit.record(session, actor, "questions.flag", "questions:flag",
                         {"flagged": len(flagged), "keys": flagged[:100]}, clock=clock)
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


# -- reviewing against the knowledge base -------------------------------------------------------

@dataclass
class SourceNow:
    """One source of a question beside the provision in force now, for a trainer checking a
    flag: ``made_from`` is the whole text the question was made from when the store still
    holds it (an older version kept beside the new one), else None and only the stored quote
    is known; ``current`` is the part of the provision in force now at the same path (the one
    holding the quote, if any), None when the provision or the law is gone."""

    ref: qm.SourceRef
    made_from: str | None
    current: Hit | None

    @property
    def changed(self) -> bool:
        return self.current is None or text_hash(self.current.text) != self.ref.text_hash

    @property
    def quote_holds(self) -> bool:
        return self.current is not None and bool(self.ref.quote) and self.ref.quote in self.current.text

    def repinned(self) -> qm.SourceRef | None:
        """The source pinned to the text in force now, when the quote is still verbatim in it."""
        if self.current is None or not self.quote_holds:
            return None
        c = self.current
        return qm.SourceRef(c.doc_key, c.path, c.chunk_key, text_hash(c.text), self.ref.quote)


def _in_force(docs: Sequence[DocumentInfo], doc_key: str) -> DocumentInfo | None:
    """The version of the cited law now in force: same title (or, when the cited version is
    gone, the same name before ``@``), current status first, newest version (as kb.quiz.flags)."""
    cited = next((d for d in docs if d.key == doc_key), None)
    name = doc_key.split("@", 1)[0]
    family = [d for d in docs if (d.title == cited.title if cited else d.key.split("@", 1)[0] == name)]
    if not family:
        return None
    current = [d for d in family if d.status == "current"] or family
    return sorted(current, key=lambda d: d.version, reverse=True)[0]


def sources_now(store: VectorStore, sources: Sequence[qm.SourceRef]) -> list[SourceNow]:
    """Each source with its text then (when still stored) and the provision in force now."""
    docs = list_documents(store)
    out = []
    for ref in sources:
        old = store.scroll({"record": "chunk", "doc_key": ref.doc_key, "path": ref.path})
        made_from = next((m.payload.get("text", "") for m in old
                          if text_hash(m.payload.get("text", "")) == ref.text_hash), None)
        doc = _in_force(docs, ref.doc_key)
        parts = [] if doc is None else sorted(
            store.scroll({"record": "chunk", "state": "live", "doc_key": doc.key, "path": ref.path}),
            key=lambda m: m.payload.get("part", 0))
        hits = [hit_from_match(m, 1.0) for m in parts]
        current = next((h for h in hits if ref.quote and ref.quote in h.text), hits[0] if hits else None)
        out.append(SourceNow(ref, made_from, current))
    return out


_PROOF_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"empty stem"), "题干为空"),
    (re.compile(r"quote is not verbatim in (.*)"), r"引文不是 \1 的原文"),
    (re.compile(r"explanation does not show the quoted source"), "解析中须保留出处引文原文"),
    (re.compile(r"the answer does not fill the blank to give back the quoted sentence"),
     "把答案填回空格后与出处原文不一致"),
    (re.compile(r"the keyed option does not fill the blank to give back the quoted sentence"),
     "把正确选项填回括号后与出处原文不一致"),
    (re.compile(r"the answer appears in the stem"), "题干中出现了答案"),
    (re.compile(r"a blank question has no options"), "填空题不设选项"),
    (re.compile(r"distractor 「(.*)」 appears in the source sentence"), r"干扰项「\1」出现在出处原句中"),
    (re.compile(r"distractor 「(.*)」 is the answer spelled differently"), r"干扰项「\1」与答案意思相同"),
    (re.compile(r"distractor 「(.*)」 gives a sentence the document contains"), r"干扰项「\1」填入后也是法条原文"),
    (re.compile(r"options 「(.*)」 and another say the same thing"), r"选项「\1」与另一选项意思相同"),
    (re.compile(r"too few options \((\d+)\)"), r"选项太少（\1 个）"),
    (re.compile(r"duplicate options"), "选项重复"),
    (re.compile(r"answer '(.*)' does not name options (.)–(.)"), r"答案「\1」应为选项字母 \2–\3"),
    (re.compile(r"a single-choice question keys exactly one option"), "单选题只能有一个正确选项"),
    (re.compile(r"a multiple-choice question keys at least two options and leaves at least one"),
     "多选题至少两个正确选项，且至少留一个错误选项"),
    (re.compile(r"a judge question has options 对/错 and answer A or B"), "判断题的选项为 对/错，答案为 对 或 错"),
    (re.compile(r"a true statement must be the verbatim quote"), "答案为「对」的判断题，题干须与出处原文一致"),
    (re.compile(r"the false statement is found in the document"), "答案为「错」的判断题，题干却是法条原文"),
    (re.compile(r"the false statement does not differ from the quote by one planted change"),
     "答案为「错」的判断题，题干应只在出处原文上改动一处"),
    (re.compile(r"the quote is not an enumerated list"), "多选题的出处引文应为分项列举"),
    (re.compile(r"keyed option 「(.*)」 is not an item of the source list"), r"正确选项「\1」不是出处列举的一项"),
    (re.compile(r"distractor 「(.*)」 is in the source provision"), r"干扰项「\1」出现在出处条文中"),
]


def proof_zh(problem: str) -> str:
    """A :func:`kb.quiz.validate.validate` problem in Chinese (an unforeseen one kept as is)."""
    for pattern, replacement in _PROOF_ZH:
        if pattern.fullmatch(problem):
            return pattern.sub(replacement, problem)
    return problem


def _document_texts(store: VectorStore, doc_keys: Iterable[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for key in dict.fromkeys(doc_keys):
        for m in store.scroll({"record": "chunk", "state": "live", "doc_key": key}):
            texts[m.payload.get("chunk_key", "")] = m.payload.get("text", "")
    return texts


def edit_question(session: Session, actor: Actor, key: str, *, stem: str, options: Sequence[str], answer: str,
                  explanation: str, store: VectorStore, clock: Clock = utcnow) -> SaveResult:
    """A trainer's edit of one question, checked against its sources as they read now.

    Each source is re-pinned to the provision in force (its quote must still be verbatim in
    it), which also clears a flag; a generated question must still be proved by its source
    (:func:`kb.quiz.validate.validate`, except that it keeps its id although its stem
    changed). A drill's or a trainer's question is checked for its quotes only, because its
    stems are written freely. The edited question goes back to draft for another review.
    Raises ValidationError (nothing saved) listing every problem."""
    access.require(session, actor, "content.manage", target=f"question:{key}"[:200])
    row = get_question(session, key)
    before = to_model(row)
    problems: list[str] = []
    pinned: list[qm.SourceRef] = []
    for now in sources_now(store, before.sources):
        where = f"{now.ref.doc_key.split('@', 1)[0]}{now.ref.path}"
        ref = now.repinned()
        if now.current is None:
            problems.append(f"出处《{where}》已不在知识库中，请停用此题")
        elif ref is None:
            problems.append(f"出处引文已不在现行《{where}》中，请停用此题或重新出题")
        else:
            pinned.append(ref)
    edited = qm.Question(id=before.id, qtype=before.qtype, stem=stem, options=list(options), answer=answer,
                         explanation=explanation, sources=pinned, tags=before.tags, difficulty=before.difficulty,
                         state="draft", author=before.author, flagged=False)
    if not problems and before.author == "generator":
        texts = _document_texts(store, [s.doc_key for s in pinned])
        problems = [proof_zh(p) for p in prove(edited, texts) if not p.startswith("id is not the stable id")]
    if problems:
        session.rollback()
        raise ValidationError(f"修改未保存：{'；'.join(problems)} / the edit was not saved: it is not proved by "
                              f"its source ({len(problems)} problem(s))")
    with writing(session):  # the edit and a retired question's return to draft, together
        result = save_questions(session, actor, [edited], source=f"edit:{row.key}", clock=clock)
        if get_question(session, key).state == "retired" and result.updated:
            set_state(session, actor, [row.key], "draft", clock=clock)
    return result


def state_counts(session: Session) -> dict[str, int]:
    """How many questions each review state holds (every state present, zero when empty)."""
    rows = session.execute(select(Question.state, func.count()).group_by(Question.state))
    return {state: 0 for state in qm.REVIEW_STATES} | {state: n for state, n in rows}
