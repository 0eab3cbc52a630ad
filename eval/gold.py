"""Gold sets: questions with the provisions that answer them.

A gold answer names a source file and a provision path in it (``第三十三条``, ``二/（一）/2``,
``基本案情``), so the set does not depend on how document keys are spelled. Files live in
``eval/gold/<name>.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class GoldAnswer:
    doc: str  # source file name, e.g. law_xingzheng-chufa-fa_2021.md
    path: str


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    query: str
    kind: str
    answers: tuple[GoldAnswer, ...]


def gold_path(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".jsonl" and p.exists():
        return p
    return Path(str(resources.files("eval").joinpath("gold", f"{name}.jsonl")))


def load_gold(name: str) -> list[GoldQuestion]:
    questions = []
    with gold_path(name).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            answers = tuple(GoldAnswer(a["doc"], a["path"]) for a in row.get("answers", []))
            questions.append(GoldQuestion(row["id"], row["query"], row.get("kind", ""), answers))
    return questions


def path_matches(chunk_path: str, target: str) -> bool:
    """A chunk answers a target when it is the target provision or lies inside it."""
    return chunk_path == target or chunk_path.startswith(target + "/")
