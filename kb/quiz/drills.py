"""Scenario drills written by trainers in YAML, checked against the knowledge base.

A file holds one drill (a mapping) or several (a list of mappings)::

    id: food-spot-check            # unique across all files
    title: 超市食品抽检与证据先行登记保存
    领域: 市场监管                  # or `field`; one of kb.quiz.model.FIELDS
    技能: [现场检查, 调查取证]       # or `skills`; from kb.quiz.model.SKILLS
    narrative: |
      …
    steps:
      - prompt: 到场后第一步？
        question:
          type: single             # single | multiple | judge | blank
          stem: …
          options: [甲, 乙, 丙, 丁]  # single/multiple; judge defaults to [对, 错]
          answer: B                # letters; judge 对/错 (or A/B); blank the exact text
          explanation: …
        feedback: …
        provisions:
          - law: 行政处罚法          # short title, full title or alias (处罚法)
            article: 第五十六条       # or 第56条
            quote: 可以先行登记保存   # optional: must be verbatim in that article

:func:`load_drills` validates every file before returning anything: a missing field, an
unknown field, malformed YAML, a cited provision that is not in the knowledge base, a quote
that is not in it, or an id used twice is reported as ``file:line: field: reason``, all of
them at once, and nothing is imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from kb.errors import KBError
from kb.quiz.model import FIELDS, REVIEW_STATES, SKILLS, Drill, DrillStep, Question, SourceRef
from kb.quiz.resolve import ProvisionResolver
from kb.quiz.stems import JUDGE_OPTIONS, LETTERS, text_hash
from kb.quiz.yamlnodes import Problem, Reader, compose

DRILL_FIELDS = {"id", "title", "领域", "field", "技能", "skills", "narrative", "steps", "author", "state"}
STEP_FIELDS = {"prompt", "question", "feedback", "provisions"}
QUESTION_FIELDS = {"type", "stem", "options", "answer", "explanation", "difficulty"}
PROVISION_FIELDS = {"law", "article", "quote"}
STEP_TYPES = ("single", "multiple", "judge", "blank")
DRILL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_JUDGE_ANSWERS = {"对": "A", "错": "B", "A": "A", "B": "B"}


class DrillError(KBError):
    """Drill files that cannot be imported; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}; fix the drill files and load them again")

    def details(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def drill_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus *.yaml / *.yml under folders (sorted)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        out.extend(sorted(f for f in p.rglob("*") if f.suffix in {".yaml", ".yml"}) if p.is_dir() else [p])
    return out


def load_drills(paths: Iterable[str | Path], resolver: ProvisionResolver) -> list[Drill]:
    """Every drill in ``paths``, or DrillError listing every problem (and no drill)."""
    drills: list[tuple[Drill, int]] = []
    problems: list[Problem] = []
    for path in drill_files(paths):
        reader = Reader(str(path))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 1, "(file)", f"cannot read ({exc})"))
            continue
        root = compose(text, reader)
        if root is not None:
            nodes = root.value if isinstance(root, yaml.SequenceNode) else [root]
            for node in nodes:
                drill = _drill(node, reader, resolver, str(path))
                if drill is not None:
                    drills.append((drill, node.start_mark.line + 1))
        problems.extend(reader.problems)
    seen: dict[str, tuple[str, int]] = {}
    for drill, line in drills:
        if drill.id in seen:
            first_file, first_line = seen[drill.id]
            problems.append(Problem(drill.source_file, line, "id",
                                    f"duplicate id {drill.id!r} (also in {first_file}:{first_line})"))
        else:
            seen[drill.id] = (drill.source_file, line)
    if problems:
        raise DrillError(problems)
    return [d for d, _line in drills]


def _drill(node: yaml.Node, r: Reader, resolver: ProvisionResolver, file: str) -> Drill | None:
    fields = r.mapping(node, "", DRILL_FIELDS)
    if fields is None:
        return None
    before = len(r.problems)
    drill_id = r.text(fields, ("id",), node, "")
    title = r.text(fields, ("title",), node, "")
    field = r.text(fields, ("领域", "field"), node, "")
    narrative = r.text(fields, ("narrative",), node, "")
    author = r.text(fields, ("author",), node, "", required=False)
    state = r.text(fields, ("state",), node, "", required=False)
    if drill_id and not DRILL_ID.fullmatch(drill_id[0]):
        r.problem(drill_id[1], "id", f"id {drill_id[0]!r} must be 1–64 ASCII letters, digits, '.', '_' or '-' "
                  "(it becomes part of each step's question id)")
    if field and field[0] not in FIELDS:
        r.problem(field[1], "领域", f"unknown field {field[0]!r} (expected one of: {', '.join(FIELDS)})")
    if state and state[0] not in REVIEW_STATES:
        r.problem(state[1], "state", f"unknown state {state[0]!r} (expected one of: {', '.join(REVIEW_STATES)})")
    skills_key = next((k for k in ("技能", "skills") if k in fields), None)
    skills = r.texts(fields[skills_key], "技能") if skills_key else None
    if skills_key is None:
        r.problem(node, "技能", "missing required field")
    for skill in skills or []:
        if skill not in SKILLS:
            r.problem(fields[skills_key], "技能", f"unknown skill {skill!r} (expected: {', '.join(SKILLS)})")
    step_nodes = r.sequence(fields["steps"], "steps") if "steps" in fields else None
    if "steps" not in fields:
        r.problem(node, "steps", "missing required field")
    steps = []
    context = (drill_id[0] if drill_id else "?", field[0] if field else "综合", skills or [],
               author[0] if author else "trainer", state[0] if state else "draft")
    for i, step_node in enumerate(step_nodes or [], 1):
        step = _step(step_node, f"steps[{i}]", i, r, resolver, context)
        if step is not None:
            steps.append(step)
    if len(r.problems) > before or not (drill_id and title and field and narrative and skills):
        return None
    return Drill(drill_id[0], title[0], field[0], skills, narrative[0], steps, source_file=file)


def _step(node: yaml.Node, where: str, number: int, r: Reader, resolver: ProvisionResolver,
          context: tuple) -> DrillStep | None:
    fields = r.mapping(node, where, STEP_FIELDS)
    if fields is None:
        return None
    prompt = r.text(fields, ("prompt",), node, where)
    feedback = r.text(fields, ("feedback",), node, where)
    sources: list[SourceRef] = []
    laws: list[str] = []
    provision_nodes: list[yaml.Node] = []
    if "provisions" not in fields:
        r.problem(node, f"{where}.provisions", "missing required field: the provisions this step rests on")
    else:
        provision_nodes = r.sequence(fields["provisions"], f"{where}.provisions") or []
    for j, prov in enumerate(provision_nodes, 1):
        found = _provision(prov, f"{where}.provisions[{j}]", r, resolver)
        if found is not None:
            sources.append(found[0])
            laws.append(found[1])
    if "question" not in fields:
        r.problem(node, f"{where}.question", "missing required field")
        return None
    question = _question(fields["question"], f"{where}.question", r, context, number, sources, laws)
    if question is None or prompt is None or feedback is None:
        return None
    return DrillStep(prompt[0], question, feedback[0])


def _provision(node: yaml.Node, where: str, r: Reader, resolver: ProvisionResolver) -> tuple[SourceRef, str] | None:
    fields = r.mapping(node, where, PROVISION_FIELDS)
    if fields is None:
        return None
    law = r.text(fields, ("law",), node, where)
    article = r.text(fields, ("article",), node, where)
    quote = r.text(fields, ("quote",), node, where, required=False)
    if law is None or article is None:
        return None
    try:
        hits = resolver.resolve(law[0], article[0])
    except KBError as exc:
        r.problem(article[1], f"{where}.article", f"cited provision not found: {exc}")
        return None
    hit = hits[0]
    if quote is not None:
        holding = [h for h in hits if quote[0] in h.text]
        if not holding:
            r.problem(quote[1], f"{where}.quote", f"not found verbatim in {hit.short_title}{hit.path}")
            return None
        hit = holding[0]
    return SourceRef(hit.doc_key, hit.path, hit.chunk_key, text_hash(hit.text), quote[0] if quote else hit.text), \
        hit.short_title


def _question(node: yaml.Node, where: str, r: Reader, context: tuple, number: int,
              sources: list[SourceRef], laws: list[str]) -> Question | None:
    drill_id, field, skills, author, state = context
    fields = r.mapping(node, where, QUESTION_FIELDS)
    if fields is None:
        return None
    qtype = r.text(fields, ("type",), node, where)
    stem = r.text(fields, ("stem",), node, where)
    answer = r.text(fields, ("answer",), node, where)
    explanation = r.text(fields, ("explanation",), node, where)
    difficulty = r.text(fields, ("difficulty",), node, where, required=False)
    if qtype is None or stem is None or answer is None or explanation is None:
        return None
    if qtype[0] not in STEP_TYPES:
        r.problem(qtype[1], f"{where}.type", f"unknown type {qtype[0]!r} (expected one of: {', '.join(STEP_TYPES)})")
        return None
    options = _options(fields, qtype[0], node, where, r)
    if options is None:
        return None
    key = _answer(qtype[0], answer[0], options, answer[1], f"{where}.answer", r, sources)
    level = 2
    if difficulty is not None:
        if difficulty[0] not in {"1", "2", "3"}:
            r.problem(difficulty[1], f"{where}.difficulty", "expected 1, 2 or 3")
            return None
        level = int(difficulty[0])
    if key is None:
        return None
    return Question(
        id=f"drill:{drill_id}:{number}", qtype=qtype[0], stem=stem[0], options=options, answer=key,
        explanation=explanation[0], sources=sources,
        tags={"领域": [field], "技能": list(skills), "法规": sorted(set(laws))},
        difficulty=level, state=state, author=author,
    )


def _options(fields: dict[str, yaml.Node], qtype: str, node: yaml.Node, where: str, r: Reader) -> list[str] | None:
    if qtype == "judge":
        options = r.texts(fields["options"], f"{where}.options") if "options" in fields else list(JUDGE_OPTIONS)
        if options is not None and options != JUDGE_OPTIONS:
            r.problem(fields["options"], f"{where}.options", "a judge question has the options [对, 错]")
            return None
        return options
    if qtype == "blank":
        if "options" in fields:
            r.problem(fields["options"], f"{where}.options", "a blank question has no options")
            return None
        return []
    if "options" not in fields:
        r.problem(node, f"{where}.options", "missing required field")
        return None
    options = r.texts(fields["options"], f"{where}.options")
    if options is None:
        return None
    if not 3 <= len(options) <= len(LETTERS) or len(set(options)) != len(options):
        r.problem(fields["options"], f"{where}.options", f"expected 3–{len(LETTERS)} different options")
        return None
    return options


def _answer(qtype: str, raw: str, options: list[str], node: yaml.Node, where: str, r: Reader,
            sources: list[SourceRef]) -> str | None:
    """The keyed answer in the model's form (letters; judge A/B; blank text)."""
    if qtype == "judge":
        if raw not in _JUDGE_ANSWERS:
            r.problem(node, where, f"a judge answer is 对 or 错, not {raw!r}")
            return None
        return _JUDGE_ANSWERS[raw]
    if qtype == "blank":
        if sources and not any(raw in s.quote for s in sources):
            r.problem(node, where, f"the blank answer {raw!r} is not in any quoted provision")
            return None
        return raw
    letters = "".join(sorted(set(raw.replace(",", "").replace(" ", "").upper())))
    valid = LETTERS[:len(options)]
    if not letters or any(ch not in valid for ch in letters):
        r.problem(node, where, f"answer {raw!r} must name options {valid[0]}–{valid[-1]}")
        return None
    if qtype == "single" and len(letters) != 1:
        r.problem(node, where, "a single-choice answer is one letter")
        return None
    if qtype == "multiple" and len(letters) < 2:
        r.problem(node, where, "a multiple-choice answer names at least two letters")
        return None
    return letters
