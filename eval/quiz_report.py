"""What the question generator and the drill loader make of a knowledge base.

    KB_DATA_DIR=/path/to/index python -m eval.quiz_report [--sample 20] [--seed 7]

Prints the generated questions per type and per document, the validator's rejection rate
and its top reasons, a seeded random sample of questions with answers and sources, the
drills in corpus/scenarios/ as validated against the index, and — on a temporary copy —
what a trainer sees when a drill cites an article that does not exist.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path

from kb.config import load_settings
from kb.quiz.drills import DrillError, load_drills
from kb.quiz.generate import GenerationReport, generate_questions
from kb.quiz.model import TYPE_ZH, Question
from kb.quiz.resolve import KBResolver
from kb.quiz.stems import LETTERS, cite
from kb.store import VectorStore, open_store

SCENARIOS = Path(__file__).resolve().parent.parent / "corpus" / "scenarios"


def _pad(text: str, width: int) -> str:
    """Left-justify by display width: a CJK character takes two columns in a terminal."""
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


def print_counts(report: GenerationReport) -> None:
    types = ["single", "multiple", "judge", "blank"]
    print(f"\n== {len(report.questions)} questions: "
          + ", ".join(f"{TYPE_ZH[t]} {report.by_type.get(t, 0)}" for t in types))
    print(_pad("document", 60) + "".join(f"  {TYPE_ZH[t]}" for t in types) + "   total")
    for doc, counts in report.by_document.items():
        print(_pad(doc, 60) + "".join(f"{counts.get(t, 0):>6}" for t in types) + f"{sum(counts.values()):>8}")
    total = len(report.questions) + len(report.rejected)
    print(f"\n== validator rejected {len(report.rejected)} of {total} candidates "
          f"({report.rejection_rate:.1%}); top reasons:")
    for reason, n in report.top_reasons(8):
        print(f"  {n:>5}  {reason}")
    print(f"\n== candidate distractors passed over while assembling 单选 "
          f"({sum(report.distractors_discarded.values())}), by reason:")
    for reason, n in report.distractors_discarded.most_common(6):
        print(f"  {n:>5}  {reason}")


def print_question(n: int, q: Question) -> None:
    print(f"\n[{n}] {TYPE_ZH[q.qtype]} {q.id} ({', '.join(q.tags.get('领域', []))})")
    print(f"  {q.stem}")
    for i, option in enumerate(q.options):
        print(f"    {LETTERS[i]}. {option}")
    answer = q.answer if q.qtype != "judge" else {"A": "对", "B": "错"}[q.answer]
    print(f"  答案：{answer}")
    for ref in q.sources:
        quote = ref.quote if len(ref.quote) <= 90 else ref.quote[:90] + "…"
        print(f"  出处：{cite(ref.doc_key.split('@')[0], ref.path)} [{ref.chunk_key}] 「{quote}」")


def check_drills(store: VectorStore, scenarios: Path) -> None:
    resolver = KBResolver(store)
    started = time.perf_counter()
    drills = load_drills([scenarios], resolver)
    print(f"\n== {len(drills)} drills in {scenarios} validate ({time.perf_counter() - started:.2f}s)")
    for d in drills:
        laws = sorted({law for s in d.steps for law in s.question.tags.get("法规", [])})
        print(f"  {d.id:<30} {d.field:<5} {'/'.join(d.skills):<14} {len(d.steps)} steps  {d.title}  "
              f"[{', '.join(laws)}]")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "scenarios"
        shutil.copytree(scenarios, copy)
        victim = sorted(copy.glob("*.yaml"))[0]
        text = victim.read_text(encoding="utf-8")
        broken = re.sub(r"article: 第[^\n]+", "article: 第九百九十九条", text, count=1)
        victim.write_text(broken, encoding="utf-8")
        print(f"\n== the same drills with one citation changed to 第九百九十九条 in {victim.name}:")
        try:
            load_drills([copy], resolver)
            print("  !! loaded without error — the resolver did not catch the missing article")
        except DrillError as exc:
            print(f"  DrillError: {exc}")
            print("  nothing imported; details:")
            for line in exc.details().splitlines():
                print(f"    {line}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scenarios", type=Path, default=SCENARIOS)
    args = ap.parse_args()
    settings = load_settings()
    store = open_store(settings)
    try:
        started = time.perf_counter()
        report = generate_questions(store)
        print(f"generated from {settings.data_dir} in {time.perf_counter() - started:.1f}s")
        print_counts(report)
        sample = random.Random(args.seed).sample(report.questions, min(args.sample, len(report.questions)))
        print(f"\n== {len(sample)} random questions (seed {args.seed})")
        for n, q in enumerate(sample, 1):
            print_question(n, q)
        check_drills(store, args.scenarios)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
