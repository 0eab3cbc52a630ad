"""Answer quality on the gold sets: ``kb eval answers``.

Retrieval recall (eval/retrieval.py) says the right provision was found; an officer reads the
answer. So this measures what reaches them, in extractive mode over every gold question:
whether the gold provision is among the answer's citations, whether every quoted span is a
verbatim slice of its cited chunk (an invariant: must be 100%), how often we abstain on
out-of-scope questions and wrongly on in-scope ones, and whether the answers contain the
must_contain strings of ``<gold>_answers.jsonl``.

Then the same figures in LLM mode, over a subset, against the loopback server
(eval/llm_server.py) started in-process. Its responder answers from the provisions in each
prompt with one good sentence quoting provision [1] verbatim, plus three PLANTED errors (a
marker to a provision that was not supplied, a quote with one character changed, a factual
sentence without a marker), so the verifier's catch rate is measured on the real client
path, not on hand-picked strings. Every planted error must be caught.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eval.gold import GoldQuestion, gold_path, load_gold, path_matches
from eval.llm_server import FakeLLM, Reply, provisions_in_prompt
from eval.llm_server import text as text_reply
from kb.answer import Answer, Answerer
from kb.answer.sentences import split_sentences as provision_sentences
from kb.answer.verify import MARKER, quote_is_verbatim
from kb.answer.verify import split_sentences as answer_sentences
from kb.config import Settings

LLM_QUESTIONS = 40  # in-scope questions run in LLM mode (out-of-scope: half as many)
_QUOTE = re.compile(r"「([^「」]*)」|“([^“”]*)”")
_ELLIPSIS = re.compile(r"…+|\.{3,}|⋯+")
_UNQUOTABLE = re.compile(r"[「」“”\"\[\]［］【】<>＜＞…⋯]")
_DROPPED = re.compile(r"已删除 (\d+) 句")
UNMARKED_CLAIM = "对此类违法行为一律并处五千元以下罚款并责令停业整顿。"
UNSUPPLIED_CLAIM = "上述情形还应当报请上级机关批准后方可执行"


# ---- metric helpers: pure functions of an Answer ----------------------------------------

def gold_targets(q: GoldQuestion, doc_keys: dict[str, str]) -> list[tuple[str, str]]:
    """(doc_key, path) pairs that answer ``q``; doc_keys maps source file name → doc key."""
    return [(doc_keys[a.doc], a.path) for a in q.answers if a.doc in doc_keys]


def cites_gold(answer: Answer, targets: Iterable[tuple[str, str]]) -> bool:
    """True when a citation is a gold provision or lies inside one (as eval/retrieval.py matches)."""
    targets = list(targets)
    return any(c.doc_key == d and path_matches(c.path, p) for c in answer.citations for d, p in targets)


def quoted_spans(answer: Answer) -> list[tuple[str, list[str]]]:
    """Every quoted span shown to the reader, with the chunk texts it may come from.

    Each citation's (and each "possibly related" provision's) ``quote`` against its own chunk;
    in a generated answer also every 「」/“” span in the text, against the chunks its
    sentence's [n] markers cite (an unmarked sentence cites nothing, so its quote fails).
    """
    spans = [(c.quote, [c.chunk_text]) for c in [*answer.citations, *answer.related]]
    if answer.mode == "llm":
        by_n = {c.n: c.chunk_text for c in answer.citations}
        for line in answer.text.split("\n"):
            for sentence in answer_sentences(line):
                chunks = [by_n[int(n)] for n in MARKER.findall(sentence) if int(n) in by_n]
                for m in _QUOTE.finditer(MARKER.sub("", sentence)):
                    spans.append((m.group(1) if m.group(1) is not None else m.group(2), chunks))
    return spans


def span_is_verbatim(span: str, chunks: list[str]) -> bool:
    """quote_is_verbatim against one of ``chunks``; around an ellipsis every piece must be."""
    pieces = [p for p in _ELLIPSIS.split(span) if p.strip()] or [span]
    return any(all(quote_is_verbatim(p, c) for p in pieces) for c in chunks)


def verbatim_counts(answer: Answer) -> tuple[int, int]:
    """(verbatim spans, all spans)."""
    spans = quoted_spans(answer)
    return sum(span_is_verbatim(s, c) for s, c in spans), len(spans)


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def must_contain(answer_text: str, needles: Iterable[str]) -> list[bool]:
    """Which must_contain strings occur in the answer (both sides NFKC-normalised)."""
    hay = nfkc(answer_text)
    return [nfkc(n) in hay for n in needles]


# ---- planted errors -----------------------------------------------------------------------

@dataclass
class Planted:
    """One responder reply: the good quote and the exact text of each planted error."""

    good: str
    errors: dict[str, str]  # kind → the planted sentence's distinctive text


def build_reply(provisions: dict[int, str]) -> tuple[str, Planted]:
    """A reply with one verbatim quote of provision [1] and three planted errors."""
    first = provisions[min(provisions)]
    candidates = [s.text.strip().rstrip("。；！？：，") for s in provision_sentences(first)]
    candidates = [s for s in candidates if 8 <= len(s) <= 120 and not _UNQUOTABLE.search(s)]
    if not candidates:  # no whole sentence is quotable: a clean stretch of the text will do
        m = re.search(r"[^「」“”\"\[\]［］【】<>＜＞…⋯\n。；！？]{6,60}", first)
        candidates = [m.group(0).strip()] if m else [first.strip()[:30]]
    good = candidates[0]
    altered = _one_char_off(candidates[-1] if len(candidates) > 1 else good, first)
    missing = max(provisions) + 1
    errors = {"unsupplied marker": f"{UNSUPPLIED_CLAIM}[{missing}]", "altered quote": f"「{altered}」",
              "no marker": UNMARKED_CLAIM}
    reply = (f"「{good}」[1]。{UNSUPPLIED_CLAIM}[{missing}]。\n"
             f"依照该条规定，「{altered}」[1]。\n{UNMARKED_CLAIM}")
    return reply, Planted(good, errors)


def _one_char_off(sentence: str, source: str) -> str:
    """``sentence`` with one Chinese character changed so it no longer occurs in ``source``."""
    positions = [i for i, ch in enumerate(sentence) if "\u4e00" <= ch <= "\u9fff"] or list(range(len(sentence)))
    middle = sorted(positions, key=lambda i: abs(i - len(sentence) // 2))
    for i in middle:
        for repl in "甲乙丙":
            altered = sentence[:i] + repl + sentence[i + 1:]
            if repl != sentence[i] and altered not in source:
                return altered
    return sentence + "甲"


class PlantingResponder:
    """Responder for FakeLLM: builds each reply from its prompt and remembers what it planted."""

    def __init__(self) -> None:
        self.planted: list[Planted] = []

    def __call__(self, messages: list[dict[str, Any]]) -> Reply:
        provisions = provisions_in_prompt(messages)
        if not provisions:
            raise ValueError("the prompt holds no numbered provisions")
        reply, planted = build_reply(provisions)
        self.planted.append(planted)
        return text_reply(reply)


@dataclass
class PlantScore:
    planted: int = 0
    caught: int = 0
    verifier_dropped: int = 0  # from the answer's 「已删除 N 句」 note
    good_kept: int = 0
    replies: int = 0
    fell_back: int = 0

    def add(self, answer: Answer, planted: Planted) -> None:
        """Caught = absent from what the reader sees; a fallback hides them too, counted apart."""
        self.replies += 1
        self.planted += len(planted.errors)
        self.caught += sum(err not in answer.text for err in planted.errors.values())
        self.verifier_dropped += sum(int(n) for note in answer.notes for n in _DROPPED.findall(note))
        self.good_kept += int(answer.mode == "llm" and f"「{planted.good}」[1]" in answer.text)
        self.fell_back += int(answer.mode != "llm")


# ---- running and tallying ---------------------------------------------------------------

@dataclass
class Outcome:
    id: str
    kind: str
    in_scope: bool
    abstained: bool
    gold: bool = False
    verbatim: int = 0
    spans: int = 0
    must: list[bool] = field(default_factory=list)
    cited: int = 0  # provisions the answer cites


def ratio(num: int, den: int) -> str:
    return f"{num / den:.3f} ({num}/{den})" if den else "–"


def figures(outcomes: list[Outcome]) -> dict[str, str]:
    """The headline figures over a list of outcomes."""
    ins = [o for o in outcomes if o.in_scope]
    answered = [o for o in ins if not o.abstained]
    oos = [o for o in outcomes if not o.in_scope]
    musts = [o for o in ins if o.must]
    return {
        "gold provision cited (all in-scope)": ratio(sum(o.gold for o in ins), len(ins)),
        "gold provision cited (answered only)": ratio(sum(o.gold for o in answered), len(answered)),
        "provisions cited per answer (in-scope answered)":
            f"{sum(o.cited for o in answered) / len(answered):.2f}" if answered else "–",
        "quoted spans verbatim": ratio(sum(o.verbatim for o in outcomes), sum(o.spans for o in outcomes)),
        "out-of-scope abstention": ratio(sum(o.abstained for o in oos), len(oos)),
        "in-scope false abstention": ratio(len(ins) - len(answered), len(ins)),
        "must_contain strings found": ratio(sum(sum(o.must) for o in musts), sum(len(o.must) for o in musts)),
        "must_contain questions fully met": ratio(sum(all(o.must) for o in musts), len(musts)),
    }


def load_must(name: str) -> dict[str, tuple[str, list[str]]]:
    """id → (query, must_contain) from eval/gold/<name>.jsonl (empty when it does not exist)."""
    path = gold_path(name)
    if not Path(path).exists():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"]: (r["query"], list(r.get("must_contain", []))) for r in rows}


def run(answerer: Answerer, questions: list[GoldQuestion], must: dict[str, tuple[str, list[str]]],
        doc_keys: dict[str, str], on_answer: Callable[[Answer], None] | None = None) -> list[Outcome]:
    """Answer every question once; a must_contain row reuses the answer to the same query."""
    outcomes = []
    for q in questions:
        a = answerer.answer(q.query)
        if on_answer:
            on_answer(a)
        ok, n = verbatim_counts(a)
        in_scope = q.kind != "out_of_scope"  # how the gold files mark the questions we must decline
        o = Outcome(q.id, q.kind, in_scope, a.abstained, cites_gold(a, gold_targets(q, doc_keys)), ok, n,
                    cited=len(a.citations))
        if q.id in must:
            query, needles = must[q.id]
            o.must = must_contain((a if query == q.query else answerer.answer(query)).text, needles)
        outcomes.append(o)
    return outcomes


def run_llm(answerer: Answerer, questions: list[GoldQuestion], must: dict[str, tuple[str, list[str]]],
            doc_keys: dict[str, str]) -> tuple[list[Outcome], PlantScore]:
    """The same run in LLM mode, every reply from the planting responder."""
    responder = PlantingResponder()
    score = PlantScore()
    with FakeLLM(responder=responder) as server:
        settings = replace(answerer.settings, llm_base_url=server.url, llm_model=server.model, llm_timeout=10.0)
        llm_answerer = Answerer(settings, retriever=answerer.retriever)
        seen = 0

        def tally(a: Answer) -> None:
            nonlocal seen
            if len(responder.planted) > seen:  # this answer went to the model
                score.add(a, responder.planted[-1])
                seen = len(responder.planted)

        outcomes = run(llm_answerer, questions, must, doc_keys, on_answer=tally)
    return outcomes, score


def subset(items: list[GoldQuestion], n: int) -> list[GoldQuestion]:
    """``n`` questions spread evenly over the set, so every kind is represented."""
    if n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def format_report(columns: dict[str, list[Outcome]], kinds: list[str]) -> str:
    """One table of headline figures, one per-kind table (gold cited / abstained)."""
    names = list(columns)
    rows = {name: figures(outs) for name, outs in columns.items()}
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for metric in rows[names[0]]:
        lines.append(f"| {metric} | " + " | ".join(rows[n][metric] for n in names) + " |")
    lines += ["", "Per kind — gold provision cited · abstained:", "| kind | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    for kind in [*kinds, "out_of_scope"]:
        cells = []
        for n in names:
            sel = [o for o in columns[n] if o.kind == kind]
            gold = ratio(sum(o.gold for o in sel), len(sel)) if kind != "out_of_scope" else "–"
            cells.append(f"{gold} · {sum(o.abstained for o in sel)}/{len(sel)}" if sel else "–")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_planted(s: PlantScore) -> str:
    return "\n".join([
        "| LLM replies | planted errors | caught | removed by verifier | good sentences kept | fell back |",
        "|---|---|---|---|---|---|",
        f"| {s.replies} | {s.planted} | {ratio(s.caught, s.planted)} | {s.verifier_dropped} | "
        f"{ratio(s.good_kept, s.replies)} | {s.fell_back} |",
    ])


def main(settings: Settings, gold: str = "sample", out_of_scope: str = "out_of_scope",
         llm_questions: int = LLM_QUESTIONS, show_misses: bool = False, out: Callable[[str], None] = print) -> int:
    """Print the report; 0, or 1 when an invariant broke (a non-verbatim quote, a planted error shown)."""
    t0 = time.perf_counter()
    in_scope, oos = load_gold(gold), load_gold(out_of_scope)
    must = load_must(f"{gold}_answers")
    answerer = Answerer(replace(settings, llm_base_url=""))
    background = answerer.retriever.background
    try:
        doc_keys = {Path(d.source_path).name: d.key for d in answerer.retriever.documents}
        extractive = run(answerer, in_scope + oos, must, doc_keys)
        t1 = time.perf_counter()
        sub_in, sub_oos = subset(in_scope, llm_questions), subset(oos, llm_questions // 2)
        llm, planted = run_llm(answerer, sub_in + sub_oos, must, doc_keys)
        t2 = time.perf_counter()
    finally:
        answerer.retriever.close()
    ids = {q.id for q in sub_in + sub_oos}
    out(f"## Answers on gold set {gold}: {len(in_scope)} in-scope, {len(oos)} out-of-scope, "
        f"{len(must)} with must_contain\n")
    out(f"Background index (kb.background): {background.where if background else 'none (KB_BACKGROUND_DIR unset)'}\n")
    out(f"Extractive: all questions ({t1 - t0:.0f}s). LLM: loopback server with a planting responder, subset of "
        f"{len(sub_in)} in-scope + {len(sub_oos)} out-of-scope questions ({t2 - t1:.0f}s); the responder is "
        "synthetic (it quotes provision [1] only), so its gold and must_contain figures measure the stub, "
        "not a model.\n")
    out(format_report({"extractive (all)": extractive,
                       "extractive (LLM subset)": [o for o in extractive if o.id in ids],
                       "LLM (subset)": llm}, sorted({q.kind for q in in_scope})))
    out("\nPlanted errors in LLM mode (3 per reply: unsupplied marker, altered quote, no marker):")
    out(format_planted(planted))
    if show_misses:
        for q, o in zip(in_scope, extractive, strict=False):
            if not o.gold:
                out(f"MISS {q.id} [{q.kind}]{' (abstained)' if o.abstained else ''} {q.query}")
    broken = [o.id for o in extractive + llm if o.verbatim != o.spans]
    if broken or planted.caught != planted.planted:
        out(f"INVARIANT BROKEN: non-verbatim quotes in {broken[:10]}; "
            f"{planted.planted - planted.caught} planted errors reached the reader")
        return 1
    return 0


if __name__ == "__main__":
    from kb.config import load_settings

    raise SystemExit(main(load_settings()))
