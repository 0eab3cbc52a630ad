"""One evaluation report of a knowledge base: ``kb eval report [--quick]``.

Retrieval, answers, ragas' non-LLM metrics and the open-book quiz solver, measured in one
run against the configured knowledge base (KB_DATA_DIR), written as a dated Markdown report
with charts under ``eval/reports/<date>/`` (report.md, *.png, figures.json with every
figure), then checked against ``eval/baseline.json`` (eval/gate.py): a regression beyond
tolerance exits non-zero with one line per metric.

``--quick`` is the CI-sized run: the whole retrieval gold set for all four retrievers, the
extractive answers to every gold question, and the quiz solver on a seeded sample per type —
the figures the gate checks, in well under a minute on the sample corpus. It skips the LLM
planted-error run, ragas (its import alone takes seconds) and the quiz solver on every
generated question, and writes files only when given ``--out``.

The pieces come from the modules that print them on their own (eval/retrieval.py,
eval/answers.py); this module adds what a report needs on top: nDCG, grouping by document
type, numeric figures, charts and the gate.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from eval import charts
from eval.answers import (
    Outcome,
    format_planted,
    format_report,
    gold_targets,
    load_must,
    run,
    run_llm,
    subset,
)
from eval.bm25 import BM25
from eval.gate import BASELINE, compare, format_checks, load_baseline, write_baseline
from eval.gold import GoldQuestion, load_gold, path_matches
from eval.quiz_solver import SOLVED_TYPES, OpenBookSolver, Solved
from eval.retrieval import Scores, doc_keys_by_file, first_rank
from kb.answer import Answer, Answerer
from kb.chunking import stored_embed_text
from kb.config import Settings
from kb.quiz.generate import generate_questions
from kb.quiz.model import TYPE_ZH, Question
from kb.quiz.stems import LETTERS, cite
from kb.retrieve import MODES, Retriever

REPORTS = Path(__file__).resolve().parent / "reports"
DEPTH = 10  # ranks scored: R@10, MRR@10, nDCG@10
CONTEXTS = 5  # retrieved provisions handed to ragas, as an answer reads them
RECALL_AT = (1, 5, 10)
RETRIEVERS = (*MODES, "bm25")  # hybrid, dense, sparse, and the plain BM25 baseline
QUIZ_SAMPLE = 40  # questions per type in the gated sample
QUIZ_SEED = 7
LLM_QUESTIONS = 40
WRONG_LISTED = 60  # wrong quiz answers written out in full in report.md

Pair = tuple[str, str]  # (doc_key, provision path)


@dataclass
class Report:
    """Everything one run measured: flat numeric ``metrics`` (the gate's and the charts'
    input) plus the Markdown sections and the details figures.json keeps."""

    quick: bool
    metrics: dict[str, float] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


# ---- retrieval --------------------------------------------------------------------------

def ndcg(pairs: Sequence[Pair], q: GoldQuestion, doc_keys: dict[str, str], k: int = DEPTH) -> float:
    """Binary-relevance nDCG@k: each gold provision counts once, at the first rank that hits it.

    A question with two gold provisions (the law's article and the rule's) scores 1 only when
    both are at the top, which Recall@k (first hit only) does not see.
    """
    targets = [(doc_keys.get(a.doc), a.path) for a in q.answers]
    found: set[int] = set()
    dcg = 0.0
    for rank, (doc_key, path) in enumerate(pairs[:k], 1):
        for i, (d, t) in enumerate(targets):
            if i not in found and doc_key == d and path_matches(path, t):
                found.add(i)
                dcg += 1 / math.log2(rank + 1)
                break
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(len(targets), k) + 1))
    return dcg / ideal if ideal else 0.0


def bm25_ranked(retriever: Retriever, questions: Sequence[GoldQuestion], depth: int = DEPTH) -> list[list[Pair]]:
    """The plain BM25 baseline of eval/retrieval.py over the same live chunks, as ranked pairs."""
    chunks = retriever.store.scroll({"record": "chunk", "state": "live"})
    texts = [stored_embed_text(m.payload) for m in chunks]
    index = BM25(texts)
    return [[(chunks[i].payload["doc_key"], chunks[i].payload["path"]) for i in index.top(q.query, depth)]
            for q in questions]


@dataclass
class RetrievalRun:
    ranked: dict[str, list[list[Pair]]]  # retriever → per question, ranked pairs
    contexts: list[list[str]]  # hybrid top-CONTEXTS provision texts per question (for ragas)
    latency_ms: list[float]  # hybrid Retriever.search per question


def run_retrieval(retriever: Retriever, questions: Sequence[GoldQuestion]) -> RetrievalRun:
    ranked: dict[str, list[list[Pair]]] = {}
    contexts: list[list[str]] = []
    latency: list[float] = []
    for mode in MODES:
        lists = []
        for q in questions:
            t0 = time.perf_counter()
            hits = retriever.search(q.query, k=DEPTH, mode=mode).hits
            if mode == "hybrid":
                latency.append((time.perf_counter() - t0) * 1000)
                contexts.append([h.text for h in hits[:CONTEXTS]])
            lists.append([(h.doc_key, h.path) for h in hits])
        ranked[mode] = lists
    ranked["bm25"] = bm25_ranked(retriever, questions)
    return RetrievalRun(ranked, contexts, latency)


def rank_figures(ranked: Sequence[Sequence[Pair]], questions: Sequence[GoldQuestion],
                 doc_keys: dict[str, str]) -> dict[str, float]:
    """R@1/5/10, MRR@10 and nDCG@10 over ``questions`` (Recall and MRR as eval/retrieval.py)."""
    s = Scores("", [first_rank(r, q, doc_keys) for r, q in zip(ranked, questions, strict=True)],
               [q.kind for q in questions])
    out = {f"R@{k}": s.recall(k) for k in RECALL_AT}
    out["MRR@10"] = s.mrr(DEPTH)
    out["nDCG@10"] = sum(ndcg(r, q, doc_keys) for r, q in zip(ranked, questions, strict=True)) / max(len(questions), 1)
    return out


def question_doc_type(q: GoldQuestion, doc_types: dict[str, str]) -> str:
    """The type of the first gold document the knowledge base holds (law, regulation, …)."""
    return next((doc_types[a.doc] for a in q.answers if a.doc in doc_types), "missing")


def retrieval_section(report: Report, run_: RetrievalRun, questions: list[GoldQuestion],
                      doc_keys: dict[str, str], doc_types: dict[str, str], chart_dir: Path | None) -> None:
    groups: dict[str, list[int]] = {"": list(range(len(questions)))}
    kinds = sorted({q.kind for q in questions})
    types = sorted({question_doc_type(q, doc_types) for q in questions})
    for kind in kinds:
        groups[f"kind={kind}"] = [i for i, q in enumerate(questions) if q.kind == kind]
    for t in types:
        groups[f"type={t}"] = [i for i, q in enumerate(questions) if question_doc_type(q, doc_types) == t]
    for name in RETRIEVERS:
        for group, idx in groups.items():
            figs = rank_figures([run_.ranked[name][i] for i in idx], [questions[i] for i in idx], doc_keys)
            for metric, value in figs.items():
                report.metrics[".".join(p for p in ("retrieval", name, group, metric) if p)] = value
    lat = sorted(run_.latency_ms)
    report.metrics["retrieval.hybrid.latency_p50_ms"] = lat[len(lat) // 2] if lat else 0.0
    report.details["retrieval_groups"] = {g or "all": len(idx) for g, idx in groups.items()}

    m = report.metrics
    cols = [f"R@{k}" for k in RECALL_AT] + ["MRR@10", "nDCG@10"]
    lines = [f"## Retrieval — gold set, {len(questions)} questions\n",
             "Same run, same indexed chunks. `hybrid` is the configured retriever (reference lookup, then "
             "dense + sparse from Qdrant, fused by kb/store/fusion.py with Qdrant's formulas); `bm25` is "
             "the plain jieba BM25 baseline of eval/bm25.py. "
             "Recall@k and MRR count the first gold provision found; nDCG@10 counts every gold provision "
             "of a question (binary relevance).\n",
             "| retriever | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    lines += [f"| {r} | " + " | ".join(f"{m[f'retrieval.{r}.{c}']:.3f}" for c in cols) + " |" for r in RETRIEVERS]
    for dim, names in (("query kind", kinds), ("document type of the gold provision", types)):
        prefix = "kind" if dim == "query kind" else "type"
        lines += ["", f"By {dim} — hybrid in full, the others' R@5:\n",
                  f"| {prefix} | n | " + " | ".join(f"hybrid {c}" for c in cols) + " | "
                  + " | ".join(f"{r} R@5" for r in RETRIEVERS[1:]) + " |",
                  "|---|---|" + "---|" * (len(cols) + len(RETRIEVERS) - 1)]
        for g in names:
            key = f"{prefix}={g}"
            lines.append(f"| {g} | {len(groups[key])} | "
                         + " | ".join(f"{m[f'retrieval.hybrid.{key}.{c}']:.3f}" for c in cols) + " | "
                         + " | ".join(f"{m[f'retrieval.{r}.{key}.R@5']:.3f}" for r in RETRIEVERS[1:]) + " |")
    lines.append(f"\nHybrid search latency in this run (query embedding included, machine shared): "
                 f"p50 {report.metrics['retrieval.hybrid.latency_p50_ms']:.1f} ms.")
    if chart_dir:
        charts.grouped_bars(chart_dir / "retrieval_overall.png", "Retrieval on the gold set (all questions)", cols,
                            {r: [m[f"retrieval.{r}.{c}"] for c in cols] for r in RETRIEVERS})
        for prefix, names, title in (("kind", kinds, "Recall@5 by query kind"),
                                     ("type", types, "Recall@5 by document type of the gold provision")):
            charts.grouped_bars(chart_dir / f"retrieval_by_{prefix}.png", title, names,
                                {r: [m[f"retrieval.{r}.{prefix}={g}.R@5"] for g in names] for r in RETRIEVERS},
                                ylabel="Recall@5", counts=[len(groups[f"{prefix}={g}"]) for g in names])
        lines += ["", "![retrieval](retrieval_overall.png)", "", "![by kind](retrieval_by_kind.png)", "",
                  "![by type](retrieval_by_type.png)"]
    report.sections.append("\n".join(lines))


# ---- answers ----------------------------------------------------------------------------

def answer_figures(outcomes: Sequence[Outcome], prefix: str = "answers") -> dict[str, float]:
    """The numeric twins of eval/answers.figures (which formats them as text)."""
    ins = [o for o in outcomes if o.in_scope]
    answered = [o for o in ins if not o.abstained]
    oos = [o for o in outcomes if not o.in_scope]
    musts = [o for o in ins if o.must]

    def frac(num: float, den: int) -> float:
        return num / den if den else 0.0

    out = {
        "verbatim_precision": frac(sum(o.verbatim for o in outcomes), sum(o.spans for o in outcomes)),
        "gold_cited": frac(sum(o.gold for o in ins), len(ins)),
        "gold_cited_answered": frac(sum(o.gold for o in answered), len(answered)),
        "oos_abstention": frac(sum(o.abstained for o in oos), len(oos)),
        "false_abstention": frac(len(ins) - len(answered), len(ins)),
        "must_contain_strings": frac(sum(sum(o.must) for o in musts), sum(len(o.must) for o in musts)),
        "must_contain_questions": frac(sum(all(o.must) for o in musts), len(musts)),
    }
    for kind in sorted({o.kind for o in ins}):
        sel = [o for o in ins if o.kind == kind]
        out[f"kind={kind}.gold_cited"] = frac(sum(o.gold for o in sel), len(sel))
    return {f"{prefix}.{k}": v for k, v in out.items()}


@dataclass
class AnswerRun:
    outcomes: list[Outcome]
    answers: list[Answer]  # aligned with the questions asked


def run_answers(answerer: Answerer, questions: list[GoldQuestion], must: dict[str, tuple[str, list[str]]],
                doc_keys: dict[str, str]) -> AnswerRun:
    answers: list[Answer] = []
    outcomes = run(answerer, questions, must, doc_keys, on_answer=answers.append)
    return AnswerRun(outcomes, answers)


def answers_section(report: Report, answered: AnswerRun, in_scope: list[GoldQuestion], n_oos: int,
                    n_must: int) -> None:
    report.metrics.update(answer_figures(answered.outcomes))
    m = report.metrics
    lines = [f"## Answers — extractive mode, {len(in_scope)} in-scope and {n_oos} out-of-scope questions, "
             f"{n_must} with must_contain strings\n",
             "Verbatim precision: quoted spans (citations and 'possibly related' provisions) that are exact "
             "slices of the cited chunk, checked by code. Gold cited: the gold provision is among the answer's "
             "citations. Abstention accuracy: out-of-scope questions declined. False abstention: in-scope "
             "questions declined.\n",
             "| metric | figure |", "|---|---|",
             f"| verbatim citation precision | {m['answers.verbatim_precision']:.3f} |",
             f"| gold provision cited (all in-scope) | {m['answers.gold_cited']:.3f} |",
             f"| gold provision cited (answered only) | {m['answers.gold_cited_answered']:.3f} |",
             f"| out-of-scope abstention accuracy | {m['answers.oos_abstention']:.3f} |",
             f"| in-scope false abstention | {m['answers.false_abstention']:.3f} |",
             f"| must_contain strings found | {m['answers.must_contain_strings']:.3f} |",
             "", "With counts, and by kind (gold cited · abstained), as `kb eval answers` prints them:\n",
             # a Markdown table needs a blank line after the caption line format_report puts above it
             format_report({"extractive": answered.outcomes}, sorted({q.kind for q in in_scope}))
             .replace(":\n|", ":\n\n|")]
    report.sections.append("\n".join(lines))


def llm_section(report: Report, answerer: Answerer, questions: list[GoldQuestion], oos: list[GoldQuestion],
                must: dict[str, tuple[str, list[str]]], doc_keys: dict[str, str]) -> None:
    """LLM mode against the loopback planting server of eval/answers.py: every planted error caught?"""
    asked = subset(questions, LLM_QUESTIONS) + subset(oos, LLM_QUESTIONS // 2)
    outcomes, planted = run_llm(answerer, asked, must, doc_keys)
    m = report.metrics
    m["answers.llm.verbatim_precision"] = answer_figures(outcomes, "x")["x.verbatim_precision"]
    m["answers.llm.planted_caught"] = planted.caught / planted.planted if planted.planted else 0.0
    m["answers.llm.good_kept"] = planted.good_kept / planted.replies if planted.replies else 0.0
    report.sections.append("\n".join([
        f"## Answers — LLM mode, verifier check ({len(asked)} questions)\n",
        "The loopback OpenAI-compatible server of eval/llm_server.py replies with one verbatim quote and "
        "three planted errors (a marker to a provision not supplied, a quote with one character changed, a "
        "claim without a marker). The figures measure the citation verifier, not a model.\n",
        format_planted(planted),
        f"\nQuoted spans verbatim in LLM mode: {m['answers.llm.verbatim_precision']:.3f}."]))


# ---- ragas ------------------------------------------------------------------------------

def gold_texts(retriever: Retriever, q: GoldQuestion, doc_keys: dict[str, str]) -> list[str]:
    """The text of every chunk inside a gold provision of ``q``."""
    texts = []
    for doc_key, path in gold_targets(q, doc_keys):
        for m in retriever.store.scroll({"record": "chunk", "state": "live", "doc_key": doc_key}):
            if path_matches(m.payload["path"], path):
                texts.append(m.payload["text"])
    return texts


def ragas_section(report: Report, retriever: Retriever, questions: list[GoldQuestion], run_: RetrievalRun,
                  answered: AnswerRun, must: dict[str, tuple[str, list[str]]], doc_keys: dict[str, str],
                  chart_dir: Path | None) -> None:
    from eval.ragas_scores import RagasInput, load_reference_answers, score

    references = load_reference_answers()
    inputs = []
    for i, q in enumerate(questions):
        a = answered.answers[i]
        query, needles = must.get(q.id, (q.query, []))
        inputs.append(RagasInput(q.query, run_.contexts[i], gold_texts(retriever, q, doc_keys),
                                 "" if a.abstained else a.text, needles if query == q.query else [],
                                 references.answers.get(q.id, "")))
    scores = score(inputs)
    report.metrics.update({f"ragas.{k}": v for k, v in scores.items() if not k.endswith(".n")})
    n = {k[:-2]: int(v) for k, v in scores.items() if k.endswith(".n")}
    rows = [("non_llm_context_recall", "gold provision texts matched by a retrieved text (Levenshtein ≥ 0.5)"),
            ("non_llm_context_precision_with_reference", "retrieved texts matching a gold text, rank-weighted"),
            ("string_presence", "must_contain strings in the answer"),
            ("rougeL_f1_jieba", "answer vs gold provision text, ROUGE-L F1 over jieba words"),
            ("bleu_jieba", "answer vs gold provision text, BLEU over jieba words"),
            ("rougeL_f1_jieba_ref", "answer vs written reference answer, ROUGE-L F1 over jieba words"),
            ("bleu_jieba_ref", "answer vs written reference answer, BLEU over jieba words")]
    if "rougeL_f1_jieba_ref" in scores:
        refs_text = (f"ROUGE/BLEU compare the answer twice: with the gold provision's own text (a proxy for "
                     f"'the answer quotes the right provision') and, rows `_ref`, with the written reference "
                     f"answer ({references.describe()}; answered questions that have one).")
    else:
        refs_text = (f"ROUGE/BLEU compare the answer with the gold provision's own text: a proxy for 'the answer "
                     f"quotes the right provision', not a fluency score. No comparison with written reference "
                     f"answers: {references.describe()}.")
    lines = ["## ragas non-LLM metrics\n",
             f"ragas {_ragas_version()} `evaluate()` on EvaluationDatasets built from the gold set: retrieved "
             f"contexts are the hybrid top {CONTEXTS}, reference contexts the gold provisions' chunks, the "
             "response the extractive answer (answered questions only for ROUGE/BLEU). No LLM is called. "
             "ROUGE and BLEU see jieba words as numeric codes: rouge_score keeps only [a-z0-9], so Chinese "
             f"would score 0 even when split with spaces. {refs_text}\n",
             "| metric | mean | samples | what it compares |", "|---|---|---|---|"]
    lines += [f"| {k} | {scores[k]:.3f} | {n.get(k, 0)} | {what} |" for k, what in rows if k in scores]
    if chart_dir:
        values = {"verbatim citation precision": report.metrics["answers.verbatim_precision"],
                  "gold provision cited": report.metrics["answers.gold_cited"],
                  "out-of-scope abstention": report.metrics["answers.oos_abstention"],
                  "false abstention (lower is better)": report.metrics["answers.false_abstention"],
                  "must_contain strings": report.metrics["answers.must_contain_strings"]}
        values.update({f"ragas {k}": scores[k] for k, _ in rows if k in scores})
        note = "ragas ROUGE/BLEU over jieba words; references are the gold provisions' text" + (
            " (_ref: the written reference answers)" if "rougeL_f1_jieba_ref" in scores else "")
        charts.horizontal_bars(chart_dir / "answers.png", "Answers (extractive) and ragas non-LLM metrics", values,
                               note=note)
        lines += ["", "![answers](answers.png)"]
    report.sections.append("\n".join(lines))


def ragas_llm_section(report: Report, settings: Settings, retriever: Retriever, questions: list[GoldQuestion],
                      llm_sample: int | None = None) -> None:
    """ragas' Faithfulness, ResponseRelevancy and FactualCorrectness on LLM-mode answers to a
    sample of the gold questions, judged by the configured LLM (eval/ragas_llm.py); without an
    LLM the section says so instead of leaving the reader to wonder where it went."""
    from eval.ragas_llm import (
        CLASS_NAMES,
        LLM_SAMPLE,
        METRICS,
        answer_in_llm_mode,
        check_settings,
        pick_questions,
        score_llm,
    )
    from eval.ragas_scores import load_reference_answers, reference_overlap

    head = "## ragas LLM metrics\n"
    n = LLM_SAMPLE if llm_sample is None else llm_sample
    problem = check_settings(settings) or ("" if n > 0 else "--llm-sample is 0")
    if problem:
        report.details["ragas_llm"] = {"not_run": problem}
        report.sections.append(f"{head}\nnot run: {problem}.")
        return
    references = load_reference_answers()
    asked = pick_questions(questions, n, references)
    answers = answer_in_llm_mode(Answerer(settings, retriever=retriever), asked, references)
    results = score_llm(answers.samples, settings, embedder=retriever.embedder, references=references)
    overlap = reference_overlap([(s.query, s.answer, s.reference) for s in answers.samples])
    for name, r in results.items():
        if r.mean is not None:
            report.metrics[f"ragas.llm.{name}"] = r.mean
    report.metrics.update({f"ragas.llm.{k}": v for k, v in overlap.items() if not k.endswith(".n")})
    report.details["ragas_llm"] = {
        "model": settings.llm_model, "asked": answers.asked, "judged": len(answers.samples),
        "scores": {name: r.scores for name, r in results.items()},
        "errors": {name: r.errors for name, r in results.items() if r.errors},
        "skipped": {name: r.skipped for name, r in results.items() if r.skipped}}
    what = {"faithfulness": "claims of the answer supported by the provisions it cites",
            "answer_relevancy": "cosine (query embeddings) of the question and one the LLM "
                                "writes for the answer; 0 when the answer is noncommittal",
            "factual_correctness": "F1 of the answer's claims against the written reference answer's"}
    lines = [head,
             f"ragas {_ragas_version()} `aevaluate()` through ragas' llama-index wrappers: the judge is the "
             f"configured LLM (`{settings.llm_model}`, which also wrote the answers: a model grading itself tends "
             f"to be lenient, so a low figure is a finding and a high one is not proof), embeddings from "
             f"`{retriever.embedder.name}`. "
             f"Sample: {len(asked)} gold question(s) (--llm-sample {n}; those with a written reference answer "
             f"first), asked in LLM mode: {answers.describe()}. References: {references.describe()}.\n",
             "| metric | ragas class | mean | scored / asked | what it measures |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {CLASS_NAMES[name]} | {results[name].describe()} | "
              f"{len(results[name].scores)} / {results[name].asked} | {what[name]} |" for name in METRICS]
    if overlap:
        lines += ["", "The same LLM answers against the written reference answers, no LLM involved "
                      f"({int(overlap['rougeL_f1_jieba_ref.n'])} answers): ROUGE-L F1 "
                      f"{overlap['rougeL_f1_jieba_ref']:.3f}, BLEU {overlap['bleu_jieba_ref']:.3f} (jieba words)."]
    partial = [(name, r.errors) for name, r in results.items() if r.errors and r.mean is not None]
    for name, errors in partial:
        lines.append(f"\n{name}: some jobs failed and are left out of the mean: "
                     + "; ".join(f"{e} (×{k})" for e, k in errors.items()) + ".")
    report.sections.append("\n".join(lines))


def _ragas_version() -> str:
    from importlib.metadata import version

    return version("ragas")


# ---- quizzes ----------------------------------------------------------------------------

def quiz_sample(questions: Sequence[Question], per_type: int = QUIZ_SAMPLE, seed: int = QUIZ_SEED) -> list[Question]:
    """A seeded sample per type, drawn from the questions sorted by id so it is reproducible."""
    rng = random.Random(seed)
    picked = []
    for t in SOLVED_TYPES:
        of_type = sorted((q for q in questions if q.qtype == t), key=lambda q: q.id)
        picked += rng.sample(of_type, min(per_type, len(of_type)))
    return picked


def quiz_figures(solved: Sequence[Solved], prefix: str) -> dict[str, float]:
    out = {}
    for t in SOLVED_TYPES:
        sel = [s for s in solved if s.question.qtype == t]
        out[f"{prefix}.{t}.accuracy"] = sum(s.correct for s in sel) / len(sel) if sel else 0.0
    out[f"{prefix}.accuracy"] = sum(s.correct for s in solved) / len(solved) if solved else 0.0
    return out


def format_wrong(s: Solved) -> str:
    q = s.question
    source = "; ".join(cite(r.doc_key.split("@")[0], r.path) for r in q.sources)
    options = " ".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(q.options)) if q.qtype != "judge" else "A. 对 B. 错"
    return (f"- **{TYPE_ZH[q.qtype]}** `{q.id}` {q.stem}  \n  {options}  \n"
            f"  key **{q.answer}**, solver **{s.given or '(none)'}**; source {source}; "
            f"read: {', '.join(s.evidence[:3]) or 'nothing found'}")


def quiz_section(report: Report, retriever: Retriever, chart_dir: Path | None) -> None:
    generated = generate_questions(retriever.store).questions
    solvable = [q for q in generated if q.qtype in SOLVED_TYPES]
    sample = quiz_sample(solvable)
    asked = sample if report.quick else solvable
    solver = OpenBookSolver(retriever)
    solved = [solver.solve(q) for q in asked]
    sample_ids = {q.id for q in sample}
    report.metrics.update(quiz_figures([s for s in solved if s.question.id in sample_ids], "quiz.sample"))
    if not report.quick:
        report.metrics.update(quiz_figures(solved, "quiz"))
    wrong = [s for s in solved if not s.correct]
    report.details["quiz_wrong"] = [{"id": s.question.id, "type": s.question.qtype, "key": s.question.answer,
                                     "given": s.given} for s in wrong]
    scope = f"a seeded sample of {QUIZ_SAMPLE} per type" if report.quick else "every generated question"
    lines = [f"## Quizzes — open-book solver, {scope}\n",
             f"{len(generated)} questions generated from the knowledge base ({len(solvable)} of the types solved: "
             "单选, 判断, 多选). The solver (eval/quiz_solver.py) searches with the stem, reads the "
             f"top {solver.depth} provisions in full and picks the option their text supports; it never sees "
             "the key. A wrong answer means retrieval missed the provision, a distractor is also supported, "
             "or the question is ambiguous. 单选/多选 stems name their article, so retrieval finds it by "
             "reference lookup; 判断 stems name only the law.\n",
             "| type | questions | correct | accuracy | gated sample accuracy |", "|---|---|---|---|---|"]
    for t in SOLVED_TYPES:
        sel = [s for s in solved if s.question.qtype == t]
        lines.append(f"| {TYPE_ZH[t]} ({t}) | {len(sel)} | {sum(s.correct for s in sel)} | "
                     f"{sum(s.correct for s in sel) / max(len(sel), 1):.3f} | "
                     f"{report.metrics[f'quiz.sample.{t}.accuracy']:.3f} |")
    lines.append(f"| all | {len(solved)} | {len(solved) - len(wrong)} | "
                 f"{(len(solved) - len(wrong)) / max(len(solved), 1):.3f} | |")
    lines += ["", f"### Wrong answers ({len(wrong)})\n"]
    lines += [format_wrong(s) for s in wrong[:WRONG_LISTED]] or ["None."]
    if len(wrong) > WRONG_LISTED:
        lines.append(f"\n… and {len(wrong) - WRONG_LISTED} more; every id is in figures.json.")
    if chart_dir:
        label = (lambda t: f"{TYPE_ZH[t]} {t}") if charts.has_cjk_font() else (lambda t: t)
        counts = [sum(s.question.qtype == t for s in solved) for t in SOLVED_TYPES]
        charts.grouped_bars(chart_dir / "quiz.png", "Open-book solver accuracy on generated questions",
                            [label(t) for t in SOLVED_TYPES],
                            {"accuracy": [sum(s.correct for s in solved if s.question.qtype == t) / max(c, 1)
                                          for t, c in zip(SOLVED_TYPES, counts, strict=True)]},
                            ylabel="accuracy", counts=counts)
        lines += ["", "![quiz](quiz.png)"]
    report.sections.append("\n".join(lines))


# ---- the whole run ----------------------------------------------------------------------

def evaluate_kb(settings: Settings, quick: bool = False, chart_dir: Path | None = None, gold: str = "sample",
                out_of_scope: str = "out_of_scope", log: Callable[[str], None] = print,
                llm_sample: int | None = None) -> Report:
    """Measure everything on the knowledge base of ``settings``; charts go to ``chart_dir`` if given.

    ``llm_sample``: gold questions answered by the configured LLM and judged with ragas' LLM
    metrics (None: eval.ragas_llm.LLM_SAMPLE); never in a quick run.
    """
    report = Report(quick)
    in_scope, oos = load_gold(gold), load_gold(out_of_scope)
    must = load_must(f"{gold}_answers")
    retriever = Retriever(replace(settings, llm_base_url=""))
    try:
        documents = retriever.documents
        doc_keys = doc_keys_by_file(retriever)
        doc_types = {Path(d.source_path).name: d.doc_type for d in documents}
        report.details["knowledge_base"] = {
            "data_dir": str(settings.data_dir), "documents": len(documents),
            "chunks": retriever.store.count({"record": "chunk", "state": "live"}),
            "gold_documents_missing": sorted({a.doc for q in in_scope for a in q.answers if a.doc not in doc_keys})}
        answerer = Answerer(retriever.settings, retriever=retriever)
        with _timed(report, "retrieval", log):
            ret = run_retrieval(retriever, in_scope)
        retrieval_section(report, ret, in_scope, doc_keys, doc_types, chart_dir)
        with _timed(report, "answers", log):
            answered = run_answers(answerer, in_scope + oos, must, doc_keys)
        answers_section(report, answered, in_scope, len(oos), len(must))
        if not quick:
            with _timed(report, "answers (LLM mode)", log):
                llm_section(report, answerer, in_scope, oos, must, doc_keys)
            with _timed(report, "ragas", log):
                ragas_section(report, retriever, in_scope, ret, answered, must, doc_keys, chart_dir)
            with _timed(report, "ragas LLM", log):
                ragas_llm_section(report, settings, retriever, in_scope, llm_sample)
        with _timed(report, "quiz solver", log):
            quiz_section(report, retriever, chart_dir)
    finally:
        retriever.close()
    return report


@contextmanager
def _timed(report: Report, name: str, log: Callable[[str], None]) -> Iterator[None]:
    log(f"… {name}")
    t0 = time.perf_counter()
    yield
    report.seconds[name] = round(time.perf_counter() - t0, 1)


def render(report: Report, settings: Settings, checks_text: str, when: dt.datetime) -> str:
    kb = report.details["knowledge_base"]
    assert isinstance(kb, dict)
    head = [f"# ZhifaKB evaluation report — {when:%Y-%m-%d}\n",
            f"`kb eval report{' --quick' if report.quick else ''}` at {when:%Y-%m-%d %H:%M}, commit "
            f"`{_commit()}`. Knowledge base: `{kb['data_dir']}`, {kb['documents']} documents, {kb['chunks']} "
            f"chunks. Embedder {settings.embedder}; fusion {settings.fusion} k={settings.rrf_k}, dense "
            f"{settings.dense_weight:g} : sparse {settings.sparse_weight:g}. Seconds per part: "
            + ", ".join(f"{k} {v:g}" for k, v in report.seconds.items()) + ".\n"]
    if kb["gold_documents_missing"]:
        head.append(f"**Gold documents not in this knowledge base:** {', '.join(kb['gold_documents_missing'])}\n")
    gate = ["## Regression gate (eval/baseline.json)\n", "```", checks_text, "```"]
    return "\n".join(head) + "\n" + "\n\n".join([*report.sections, "\n".join(gate)]) + "\n"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(settings: Settings, quick: bool = False, out_dir: Path | None = None, baseline: Path = BASELINE,
         update_baseline: bool = False, gold: str = "sample", out: Callable[[str], None] = print,
         llm_sample: int | None = None) -> int:
    """Run, write the report (full run: always; quick: only with ``out_dir``), apply the gate.

    Returns 0, or 1 when a gated metric regressed beyond its tolerance.
    """
    when = dt.datetime.now()
    if out_dir is None and not quick:
        out_dir = REPORTS / f"{when:%Y-%m-%d}"
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    report = evaluate_kb(settings, quick=quick, chart_dir=out_dir, gold=gold, log=out, llm_sample=llm_sample)
    if update_baseline:
        write_baseline(report.metrics, baseline)
        out(f"wrote {len(load_baseline(baseline))} baseline figures to {baseline}")
    checks = compare(report.metrics, load_baseline(baseline))
    verdict = format_checks(checks)
    if out_dir:
        (out_dir / "report.md").write_text(render(report, settings, verdict, when), encoding="utf-8")
        figures = {"date": when.isoformat(timespec="seconds"), "quick": quick, "commit": _commit(),
                   "seconds": report.seconds, "metrics": {k: round(v, 4) for k, v in report.metrics.items()},
                   **report.details}
        (out_dir / "figures.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")
        out(f"report written to {out_dir / 'report.md'}")
    m = report.metrics
    out(f"hybrid R@5 {m['retrieval.hybrid.R@5']:.3f}, nDCG@10 {m['retrieval.hybrid.nDCG@10']:.3f}; bm25 R@5 "
        f"{m['retrieval.bm25.R@5']:.3f}; answers: verbatim {m['answers.verbatim_precision']:.3f}, gold cited "
        f"{m['answers.gold_cited']:.3f}, out-of-scope abstention {m['answers.oos_abstention']:.3f}, false "
        f"abstention {m['answers.false_abstention']:.3f}; quiz sample {m['quiz.sample.accuracy']:.3f}")
    out(verdict)
    return 1 if any(c.regressed for c in checks) else 0

