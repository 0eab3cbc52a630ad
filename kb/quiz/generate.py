"""Generate draft questions from the provisions in the knowledge base, without an LLM.

Every candidate goes through :func:`kb.quiz.validate.validate`; what fails is kept in the
report with its reasons (so the rules can be tuned on evidence), what passes and is not a
duplicate of an existing question is returned as a ``draft`` for a trainer to review.
Distractors come from the whole knowledge base, questions only from ``doc_keys``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kb.quiz.blanks import FactPool, fact_questions
from kb.quiz.cases import case_questions, law_index
from kb.quiz.judge import judge_questions
from kb.quiz.lists import list_questions
from kb.quiz.model import Question
from kb.quiz.sentences import normalise_stem
from kb.quiz.source import SourceChunk, load_chunks
from kb.quiz.validate import validate
from kb.store import VectorStore

# Case narratives are not rules: from a case we only ask which provision applied.
_RULE_TYPES = {"law", "regulation", "rule", "interpretation", "policy", "plan"}


@dataclass
class Rejection:
    qtype: str
    chunk_key: str
    stem: str
    problems: list[str]


@dataclass
class GenerationReport:
    questions: list[Question] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # Candidate distractors passed over before a question was assembled, by reason: how
    # often the "is this also correct?" check bites in this corpus.
    distractors_discarded: Counter[str] = field(default_factory=Counter)

    @property
    def by_type(self) -> dict[str, int]:
        return dict(Counter(q.qtype for q in self.questions))

    @property
    def by_document(self) -> dict[str, dict[str, int]]:
        """doc_key → {qtype: count}."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for q in self.questions:
            out[q.sources[0].doc_key][q.qtype] += 1
        return {k: dict(v) for k, v in sorted(out.items())}

    @property
    def rejection_rate(self) -> float:
        total = len(self.questions) + len(self.rejected)
        return len(self.rejected) / total if total else 0.0

    def top_reasons(self, n: int = 5) -> list[tuple[str, int]]:
        """The most frequent rejection reasons, with the quoted value masked so that the same
        rule failing on different text counts as one reason."""
        counts = Counter(re.sub(r"「[^」]*」", "「…」", p) for r in self.rejected for p in r.problems)
        return counts.most_common(n)


def generate_questions(store: VectorStore, doc_keys: Iterable[str] | None = None,
                       limit_per_type: int | None = None, existing: Iterable[Question] = ()) -> GenerationReport:
    """Draft questions from the live provisions of ``doc_keys`` (every document when None).

    ``limit_per_type`` caps each type, taking questions round-robin across documents so a
    long law does not crowd out the others; ``existing`` questions are not generated again.
    """
    return generate_from_chunks(load_chunks(store), doc_keys, limit_per_type, existing)


def generate_from_chunks(chunks: Sequence[SourceChunk], doc_keys: Iterable[str] | None = None,
                         limit_per_type: int | None = None, existing: Iterable[Question] = ()) -> GenerationReport:
    """As :func:`generate_questions`, from chunks already read (the whole knowledge base)."""
    wanted = set(doc_keys) if doc_keys is not None else None
    texts = {c.chunk_key: c.text for c in chunks}
    by_doc: dict[str, list[SourceChunk]] = defaultdict(list)
    pool = FactPool()
    for c in chunks:
        by_doc[c.doc_key].append(c)
        if c.doc_type in _RULE_TYPES:
            pool.add_chunk(c)
    laws = law_index(chunks)
    report = GenerationReport()
    seen = {normalise_stem(q.stem) for q in existing}
    for doc_key, doc_chunks in by_doc.items():
        if wanted is not None and doc_key not in wanted:
            continue
        doc_text = "\x00".join(c.text for c in doc_chunks)
        doc_texts = {c.chunk_key: c.text for c in doc_chunks}
        for chunk in doc_chunks:
            for q in _candidates(chunk, doc_chunks, pool, laws, doc_text, report.distractors_discarded):
                problems = validate(q, _texts_for(q, doc_texts, texts))
                norm = normalise_stem(q.stem)
                if not problems and norm in seen:
                    problems = ["duplicate of an existing question (same stem)"]
                if problems:
                    report.rejected.append(Rejection(q.qtype, chunk.chunk_key, q.stem, problems))
                    continue
                seen.add(norm)
                report.questions.append(q)
    if limit_per_type is not None:
        report.questions = _cap(report.questions, limit_per_type)
    return report


def _candidates(chunk: SourceChunk, doc_chunks: list[SourceChunk], pool: FactPool,
                laws: dict[str, list[SourceChunk]], doc_text: str, discarded: Counter[str]) -> list[Question]:
    if chunk.doc_type == "case":
        return case_questions(chunk, laws, doc_text, discarded)
    if chunk.doc_type not in _RULE_TYPES or chunk.path == "序言":
        return []  # a preamble holds the title, the document number and the issuing body
    return [*fact_questions(chunk, pool, doc_text, discarded), *judge_questions(chunk, pool),
            *list_questions(chunk, doc_chunks)]


def _texts_for(q: Question, doc_texts: dict[str, str], texts: dict[str, str]) -> dict[str, str]:
    """The source document's chunks plus any other chunk a question cites (a case question
    cites the article too)."""
    extra = {r.chunk_key: texts[r.chunk_key] for r in q.sources[1:] if r.chunk_key in texts}
    return {**doc_texts, **extra} if extra else doc_texts


def _cap(questions: list[Question], limit: int) -> list[Question]:
    """At most ``limit`` per type, round-robin across source documents."""
    out: list[Question] = []
    by_type: dict[str, dict[str, list[Question]]] = defaultdict(lambda: defaultdict(list))
    for q in questions:
        by_type[q.qtype][q.sources[0].doc_key].append(q)
    for per_doc in by_type.values():
        queues = [list(v) for v in per_doc.values()]
        taken = 0
        while taken < limit and any(queues):
            for queue in queues:
                if queue and taken < limit:
                    out.append(queue.pop(0))
                    taken += 1
    return out
