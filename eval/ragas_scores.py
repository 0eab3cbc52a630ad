"""ragas' non-LLM metrics over the gold questions, with Chinese made countable.

No LLM is called and nothing is downloaded: only metrics that compare strings.

- NonLLMContextRecall / NonLLMContextPrecisionWithReference: the retrieved provisions
  (hybrid, top 5) against the gold provisions' text, matched by Levenshtein similarity.
- StringPresence: each must_contain string of ``<gold>_answers.jsonl`` in the answer.
- RougeScore (ROUGE-L F1) and BleuScore: the extractive answer against the gold provisions'
  text and, for questions that have one, against the written reference answer of
  ``eval/gold/reference_answers.jsonl`` (keys ending in ``_ref``): the provision text measures
  "quotes the right provision", the reference "says what an expert would say". Over jieba
  words, because both metrics tokenise for English: rouge_score keeps only ``[a-z0-9]`` (so
  Chinese scores 0 even when split with spaces) and ragas' BLEU splits sentences at ". ". So
  answer and reference are cut with jieba and every word is replaced by a numeric code shared
  by both texts; the n-gram overlap is then exactly that of the jieba words.

ragas 0.4.3: these metrics live in ``ragas.metrics`` (the newer ``ragas.metrics.collections``
has no non-LLM context metrics and does not run under ``ragas.evaluate``), so the deprecation
warning on importing ROUGE/BLEU from there is silenced on purpose.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jieba

# ragas reports usage unless told not to; this evaluation must not reach the network.
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

REFERENCE_ANSWERS = Path(__file__).resolve().parent / "gold" / "reference_answers.jsonl"


@dataclass
class RagasInput:
    """One in-scope gold question as ragas needs it."""

    query: str
    retrieved: list[str]  # hybrid top-k provision texts
    reference: list[str]  # gold provision chunk texts
    answer: str  # the extractive answer ("" when it abstained)
    must_contain: list[str]
    reference_answer: str = ""  # the written reference answer, "" when there is none


@dataclass
class References:
    """The written reference answers, by gold question id, and what was wrong with the file."""

    answers: dict[str, str]
    path: Path
    found: bool  # the file exists
    bad_lines: list[int] = field(default_factory=list)  # 1-based lines that were not {"id", "reference"}

    def describe(self) -> str:
        """One sentence for the report: how many references, from where, what was skipped."""
        if not self.found:
            return f"{_rel(self.path)} not found: no written reference answers"
        text = f"{len(self.answers)} written reference answers in {_rel(self.path)}"
        if self.bad_lines:
            shown = ", ".join(map(str, self.bad_lines[:5])) + (" …" if len(self.bad_lines) > 5 else "")
            text += f" ({len(self.bad_lines)} malformed lines skipped: {shown})"
        return text


def load_reference_answers(path: Path | None = None) -> References:
    """Read ``{"id": "s001", "reference": "…"}`` lines (default: :data:`REFERENCE_ANSWERS`). A
    missing file is not an error (the references are written by hand and may not exist yet); a
    malformed line is skipped and counted rather than stopping a report that takes minutes."""
    path = path or REFERENCE_ANSWERS
    if not path.is_file():
        return References({}, path, found=False)
    answers: dict[str, str] = {}
    bad: list[int] = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            qid, ref = item["id"], item["reference"]
        except (ValueError, TypeError, KeyError):
            bad.append(no)
            continue
        if not isinstance(qid, str) or not isinstance(ref, str) or not ref.strip():
            bad.append(no)
            continue
        answers.setdefault(qid, ref.strip())
    return References(answers, path, found=True, bad_lines=bad)


class WordCodes:
    """jieba words → numeric codes, one vocabulary for every text scored together."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    def encode(self, text: str) -> str:
        words = (w.strip() for w in jieba.lcut(text))
        kept = [w for w in words if w and any(ch.isalnum() for ch in w)]
        return " ".join(self.codes.setdefault(w, str(len(self.codes) + 1)) for w in kept)


def _overlap_metrics(suffix: str = "") -> dict[str, Any]:
    """ROUGE-L F1 and BLEU under the report's names (``suffix`` tells the references apart)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import BleuScore, RougeScore

    return {f"rougeL_f1_jieba{suffix}": RougeScore(rouge_type="rougeL", mode="fmeasure"),
            f"bleu_jieba{suffix}": BleuScore()}


def score(inputs: Sequence[RagasInput]) -> dict[str, float]:
    """Mean of each ragas metric over the questions it applies to (keys are ragas' names)."""
    from ragas import SingleTurnSample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall, StringPresence

    contexts = [SingleTurnSample(user_input=i.query, retrieved_contexts=i.retrieved, reference_contexts=i.reference)
                for i in inputs if i.retrieved and i.reference]
    codes = WordCodes()
    overlap = [SingleTurnSample(user_input=i.query, response=codes.encode(i.answer),
                                reference=codes.encode("\n".join(i.reference)))
               for i in inputs if i.answer and i.reference]
    presence = [SingleTurnSample(user_input=i.query, response=i.answer, reference=needle)
                for i in inputs for needle in i.must_contain]
    runs = [(contexts, {"non_llm_context_recall": NonLLMContextRecall(),
                        "non_llm_context_precision_with_reference": NonLLMContextPrecisionWithReference()}),
            (overlap, _overlap_metrics()),
            (presence, {"string_presence": StringPresence()})]
    means = _run(runs)
    means.update(reference_overlap([(i.query, i.answer, i.reference_answer) for i in inputs]))
    return means


def reference_overlap(items: Sequence[tuple[str, str, str]], suffix: str = "_ref") -> dict[str, float]:
    """ROUGE-L F1 and BLEU of each answer against its written reference answer, over jieba
    word codes; ``items`` are (question, answer, reference), those missing either are left out."""
    from ragas import SingleTurnSample

    codes = WordCodes()
    samples = [SingleTurnSample(user_input=q, response=codes.encode(a), reference=codes.encode(r))
               for q, a, r in items if a.strip() and r.strip()]
    return _run([(samples, _overlap_metrics(suffix))])


def _run(runs: Sequence[tuple[Sequence[Any], dict[str, Any]]]) -> dict[str, float]:
    """``ragas.evaluate`` per (samples, metrics) pair: means, and sample counts under ``<key>.n``."""
    from ragas import EvaluationDataset, evaluate

    means: dict[str, float] = {}
    for samples, metrics in runs:
        if not samples:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            result = evaluate(EvaluationDataset(samples=list(samples)), metrics=list(metrics.values()),
                              show_progress=False)
        table = result.to_pandas()
        # evaluate() may rename a column (「rouge_score(mode=fmeasure)」); the scores are the
        # last columns, in the order of the metrics.
        for key, column in zip(metrics, table.columns[-len(metrics):], strict=True):
            means[key] = float(table[column].mean())
            means[f"{key}.n"] = float(len(samples))
    return means


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(path)
