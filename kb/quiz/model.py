"""Questions and drills as plain data, shared by the generators, the drill loader, the
database (kb.records) and the app.

Every question records the provisions it rests on and the document version it was made
from, so a change to the law flags exactly the questions that cite the changed provision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUESTION_TYPES = ("single", "multiple", "judge", "blank", "scenario")  # 单选 多选 判断 填空 情景
TYPE_ZH = {"single": "单选", "multiple": "多选", "judge": "判断", "blank": "填空", "scenario": "情景"}
REVIEW_STATES = ("draft", "approved", "retired")
FIELDS = ("市场监管", "城市管理", "生态环境", "交通运输", "应急管理", "公安治安", "综合")  # 执法领域
SKILLS = ("现场检查", "调查取证", "应急处置", "文书制作", "法律适用")


@dataclass(frozen=True)
class SourceRef:
    """A provision a question rests on, pinned to the text it was made from."""

    doc_key: str  # 行政处罚法@2021-01-22
    path: str  # 第三十三条
    chunk_key: str  # 行政处罚法@2021-01-22/第三十三条
    text_hash: str  # sha256 of the provision text the question was made from
    quote: str  # the verbatim span that proves the keyed answer


@dataclass
class Question:
    """One question. ``answer`` holds option letters (single/multiple/judge: "A", "AC", "对"/"错"
    as "A"/"B") or the exact fill-in text (blank); ``options`` are ordered A, B, C, D…"""

    id: str  # stable: derived from type + source + stem
    qtype: str
    stem: str
    options: list[str]
    answer: str
    explanation: str  # quotes the source verbatim
    sources: list[SourceRef]
    tags: dict[str, list[str]] = field(default_factory=dict)  # 领域 / 技能 / 法规
    difficulty: int = 2  # 1 easy … 3 hard
    state: str = "draft"
    author: str = "generator"  # generator | llm | trainer username
    flagged: bool = False  # a source provision changed since the question was made


@dataclass
class DrillStep:
    prompt: str  # the question at this step of the scenario
    question: Question
    feedback: str  # shown after answering, with the provisions


@dataclass
class Drill:
    """A trainer-authored scenario: a narrative and ordered steps, each resting on provisions."""

    id: str
    title: str
    field: str  # 执法领域
    skills: list[str]
    narrative: str
    steps: list[DrillStep]
    source_file: str = ""
