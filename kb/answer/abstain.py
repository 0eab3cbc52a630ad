"""Deciding whether the knowledge base has a basis for an answer.

e5 cosine scores are bunched (0.85–0.93 for almost anything), so a fixed similarity threshold
means nothing. We use evidence that separates "found it" from "found the least bad":
- the best raw dense score (weak alone, useful with the rest);
- how much of the question's vocabulary the top provisions contain, plain and weighted by how
  rare each word is in general Chinese (jieba's dictionary counts);
- nouns of the question that occur nowhere in the knowledge base (网吧, 护照): a subject we
  simply do not hold;
- the cosine of the question with the provision ranked first, whole and its best line (款/项):
  a question about something we hold has one line that says it, where an out-of-scope
  question only brushes a whole article (held-out out-of-scope abstention 0.69 → 0.79 at the
  same false-abstention target when these two were added).
- with a background index configured (kb.background): how much better the best match among
  the documents we do not hold fits the question than our first provision's best line. A
  question about 网吧 meets 互联网上网服务营业场所管理条例 there; the knowledge base alone
  cannot see that (out-of-scope abstention 0.79 → 0.93 on the sample gold set).
A logistic model over these features is fitted on the gold sets (in-scope and out-of-scope
questions) by ``python -m eval.calibrate_abstain`` and stored in ``resources/abstain.json``
(``abstain_background.json`` for the model with the background feature) with the threshold
chosen there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from kb.model import Hit
from kb.rerank import Signals
from kb.sparse import tokenize, word_frequencies

if TYPE_CHECKING:
    from kb.background import BackgroundMatch

FEATURES = ("dense_top", "coverage", "rare_coverage", "absent_nouns", "length", "top_line", "top_chunk")
BACKGROUND_FEATURES = (*FEATURES, "background_margin")
_NOUN_TAGS = ("n", "nz", "ns", "nt", "nr", "vn", "eng")


@dataclass(frozen=True)
class Evidence:
    dense_top: float  # best raw cosine of the question against any chunk
    coverage: float  # share of the question's terms (weighted by length) found in the top 3 provisions
    rare_coverage: float  # the same, weighted by how rare each term is in general Chinese
    absent_nouns: float  # question nouns found nowhere in the knowledge base (网吧, 护照)
    length: float  # log of the number of question terms
    top_line: float  # cosine of the question with the best line of the first-ranked provision
    top_chunk: float  # cosine of the question with the first-ranked provision as a whole
    # best background match minus top_line; None without a background (or when it holds
    # nothing we do not)
    background_margin: float | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return FEATURES if self.background_margin is None else BACKGROUND_FEATURES

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in self.features]


def rarity(term: str) -> float:
    """How rare a word is in general Chinese (jieba's dictionary counts): a question whose
    rare, specific words (烟花爆竹, 护照) appear in no retrieved provision is out of scope."""
    freq, total = word_frequencies()
    return math.log(total / (freq.get(term, 0) + 1))


def warm_up() -> None:
    """Load jieba's word and part-of-speech dictionaries (seconds, once per process)."""
    word_frequencies()
    _nouns("行政处罚")


def _nouns(question: str) -> set[str]:
    import jieba.posseg

    return {w.word.lower() for w in jieba.posseg.cut(question) if w.flag.startswith(_NOUN_TAGS) and len(w.word) >= 2}


def gather(question: str, hits: list[Hit], dense_scores: list[float], top: Signals | None,
           in_corpus: Callable[[str], bool] | None = None,
           background: list[BackgroundMatch] | None = None) -> Evidence:
    """Evidence for ``question`` from the hybrid hits, the raw dense scores, the second-stage
    signals of the first hit and, when given, a test of whether a word occurs anywhere in the
    knowledge base and the nearest documents of the background."""
    terms = set(tokenize(question))
    weight = {t: min(len(t), 4) for t in terms}
    rare = {t: rarity(t) for t in terms}
    found: set[str] = set()
    for h in hits[:3]:
        found |= terms & set(tokenize(h.breadcrumb + h.text))
    coverage = sum(weight[t] for t in found) / sum(weight.values()) if terms else 0.0
    rare_coverage = sum(rare[t] for t in found) / sum(rare.values()) if terms else 0.0
    missing_nouns = {t for t in (terms - found) & _nouns(question) if in_corpus is not None and not in_corpus(t)}
    top_line = top.line_cos if top else 0.0
    return Evidence(dense_scores[0] if dense_scores else 0.0, coverage, rare_coverage, float(len(missing_nouns)),
                    math.log1p(len(terms)), top_line, top.chunk_cos if top else 0.0,
                    background[0].score - top_line if background else None)


def model_file(features: tuple[str, ...]) -> str:
    """Where the model for evidence with ``features`` is stored (kb/resources)."""
    return "abstain.json" if features == FEATURES else "abstain_background.json"


@lru_cache(maxsize=2)
def model(features: tuple[str, ...] = FEATURES) -> dict:
    """The fitted weights, bias and threshold for evidence with ``features`` (see
    eval/calibrate_abstain.py)."""
    text = resources.files("kb.resources").joinpath(model_file(features)).read_text(encoding="utf-8")
    params = json.loads(text)
    if tuple(params["features"]) != features:
        raise ValueError(f"{model_file(features)} was fitted on {params['features']}, not {list(features)}")
    return params


def confidence(evidence: Evidence, params: dict | None = None) -> float:
    """Probability that the knowledge base holds an answer, 0..1."""
    p = params or model(evidence.features)
    z = p["bias"] + sum(w * (x - m) / s for w, x, m, s in
                        zip(p["weights"], evidence.vector(), p["mean"], p["scale"], strict=True))
    return 1 / (1 + math.exp(-z))


def should_abstain(evidence: Evidence, params: dict | None = None) -> tuple[bool, float]:
    p = params or model(evidence.features)
    c = confidence(evidence, p)
    return c < p["threshold"], c
