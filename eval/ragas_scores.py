"""ragas' non-LLM metrics over the gold questions, with Chinese made countable.

No LLM is called and nothing is downloaded: only metrics that compare strings.

- NonLLMContextRecall / NonLLMContextPrecisionWithReference: the retrieved provisions
  (hybrid, top 5) against the gold provisions' text, matched by Levenshtein similarity.
- StringPresence: each must_contain string of ``<gold>_answers.jsonl`` in the answer.
- RougeScore (ROUGE-L F1) and BleuScore: the extractive answer against the gold
  provisions' text, over jieba words. Both metrics tokenise for English: rouge_score keeps
  only ``[a-z0-9]`` (so Chinese scores 0 even when split with spaces) and ragas' BLEU splits
  sentences at ". ". So answer and reference are cut with jieba and every word is replaced by
  a numeric code shared by both texts; the n-gram overlap is then exactly that of the jieba
  words.

ragas 0.4.3: these metrics live in ``ragas.metrics`` (the newer ``ragas.metrics.collections``
has no non-LLM context metrics and does not run under ``ragas.evaluate``), so the deprecation
warning on importing ROUGE/BLEU from there is silenced on purpose.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import jieba

# ragas reports usage unless told not to; this evaluation must not reach the network.
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")


@dataclass
class RagasInput:
    """One in-scope gold question as ragas needs it."""

    query: str
    retrieved: list[str]  # hybrid top-k provision texts
    reference: list[str]  # gold provision chunk texts
    answer: str  # the extractive answer ("" when it abstained)
    must_contain: list[str]


class WordCodes:
    """jieba words → numeric codes, one vocabulary for every text scored together."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    def encode(self, text: str) -> str:
        words = (w.strip() for w in jieba.lcut(text))
        kept = [w for w in words if w and any(ch.isalnum() for ch in w)]
        return " ".join(self.codes.setdefault(w, str(len(self.codes) + 1)) for w in kept)


def score(inputs: Sequence[RagasInput]) -> dict[str, float]:
    """Mean of each ragas metric over the questions it applies to (keys are ragas' names)."""
    from ragas import EvaluationDataset, SingleTurnSample, evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import (
            BleuScore,
            NonLLMContextPrecisionWithReference,
            NonLLMContextRecall,
            RougeScore,
            StringPresence,
        )

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
            (overlap, {"rougeL_f1_jieba": RougeScore(rouge_type="rougeL", mode="fmeasure"),
                       "bleu_jieba": BleuScore()}),
            (presence, {"string_presence": StringPresence()})]
    means: dict[str, float] = {}
    for samples, metrics in runs:
        if not samples:
            continue
        result = evaluate(EvaluationDataset(samples=samples), metrics=list(metrics.values()), show_progress=False)
        table = result.to_pandas()
        # evaluate() may rename a column (「rouge_score(mode=fmeasure)」); the scores are the
        # last columns, in the order of the metrics.
        for key, column in zip(metrics, table.columns[-len(metrics):], strict=True):
            means[key] = float(table[column].mean())
            means[f"{key}.n"] = float(len(samples))
    return means
