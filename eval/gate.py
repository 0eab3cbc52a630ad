"""The regression gate: key evaluation figures against ``eval/baseline.json``.

The baseline is committed, so a change that makes retrieval or answers worse fails CI with
a list of what dropped instead of passing quietly. Each metric carries its own tolerance
(absolute, in the metric's units): wide enough for a question or two of noise on a gold set
of this size, zero for invariants such as "every quote is verbatim". A metric better than
the baseline by more than its tolerance is not a failure, but is reported so that the
baseline can be raised with ``kb eval report --quick --write-baseline``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KBError

BASELINE = Path(__file__).resolve().parent / "baseline.json"

# metric → (tolerance, higher is better). Only figures the quick run measures identically
# to the full run belong here.
GATED: dict[str, tuple[float, bool]] = {
    "retrieval.hybrid.R@1": (0.03, True),
    "retrieval.hybrid.R@5": (0.02, True),
    "retrieval.hybrid.R@10": (0.02, True),
    "retrieval.hybrid.MRR@10": (0.02, True),
    "retrieval.hybrid.nDCG@10": (0.02, True),
    "retrieval.hybrid.kind=reference.R@5": (0.0, True),
    "retrieval.hybrid.kind=paraphrase.R@5": (0.05, True),
    "retrieval.dense.R@5": (0.02, True),
    "retrieval.sparse.R@5": (0.02, True),
    "retrieval.bm25.R@5": (0.01, True),
    "answers.verbatim_precision": (0.0, True),
    "answers.gold_cited": (0.03, True),
    "answers.oos_abstention": (0.03, True),
    "answers.false_abstention": (0.02, False),
    "answers.must_contain_strings": (0.03, True),
    "quiz.sample.single.accuracy": (0.05, True),
    "quiz.sample.judge.accuracy": (0.05, True),
    "quiz.sample.multiple.accuracy": (0.05, True),
}


@dataclass(frozen=True)
class Check:
    metric: str
    value: float | None  # None: the run did not measure it
    baseline: float
    tolerance: float
    higher_is_better: bool

    @property
    def delta(self) -> float:
        return 0.0 if self.value is None else self.value - self.baseline

    @property
    def regressed(self) -> bool:
        if self.value is None:
            return True
        worse = -self.delta if self.higher_is_better else self.delta
        return worse > self.tolerance + 1e-9

    @property
    def improved(self) -> bool:
        better = self.delta if self.higher_is_better else -self.delta
        return self.value is not None and better > self.tolerance + 1e-9

    def describe(self) -> str:
        if self.value is None:
            return f"{self.metric}: not measured by this run (baseline {self.baseline:.3f})"
        direction = "higher" if self.higher_is_better else "lower"
        return (f"{self.metric}: {self.value:.3f} vs baseline {self.baseline:.3f} "
                f"({self.delta:+.3f}; tolerance {self.tolerance:.3f}, {direction} is better)")


def load_baseline(path: Path = BASELINE) -> dict[str, dict]:
    """metric → {"value", "tolerance", "higher_is_better"}; a missing file is an error a user can fix."""
    if not path.exists():
        raise KBError(f"{path} does not exist; create it with `kb eval report --quick --write-baseline`")
    return json.loads(path.read_text(encoding="utf-8"))["metrics"]


def compare(metrics: Mapping[str, float], baseline: Mapping[str, dict]) -> list[Check]:
    """One check per baseline metric, in the baseline's order."""
    return [Check(name, metrics.get(name), float(b["value"]), float(b["tolerance"]), bool(b["higher_is_better"]))
            for name, b in baseline.items()]


def write_baseline(metrics: Mapping[str, float], path: Path = BASELINE) -> dict[str, dict]:
    """Store the gated metrics of this run; tolerances already in the file are kept."""
    old = load_baseline(path) if path.exists() else {}
    missing = [m for m in GATED if m not in metrics]
    if missing:
        raise KBError(f"this run did not measure {', '.join(missing)}; cannot write a baseline from it")
    entries = {}
    for name, (tolerance, higher) in GATED.items():
        entries[name] = {"value": round(metrics[name], 4), "tolerance": old.get(name, {}).get("tolerance", tolerance),
                         "higher_is_better": higher}
    doc = {"about": "Figures `kb eval report --quick` must keep (sample corpus, eval/gold). Update with "
                    "`kb eval report --quick --write-baseline` after a deliberate change, and say why in the commit.",
           "metrics": entries}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return entries


def format_checks(checks: list[Check]) -> str:
    """The gate's verdict as lines a CI log can show as they are."""
    failed = [c for c in checks if c.regressed]
    lines = [f"REGRESSION {c.describe()}" for c in failed]
    lines += [f"improved   {c.describe()} — consider --write-baseline" for c in checks if c.improved]
    verdict = (f"gate FAILED: {len(failed)} of {len(checks)} metrics regressed beyond tolerance" if failed
               else f"gate passed: {len(checks)} metrics within tolerance of eval/baseline.json")
    return "\n".join([*lines, verdict])
