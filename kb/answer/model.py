"""What an answer is: text with [n] markers, the citations they point to, and honesty flags.

Every citation's ``quote`` is a verbatim substring of the cited chunk's ``text`` (checked by
:func:`kb.answer.verify.quote_is_verbatim`), so an officer can always find the words in the
provision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# How an answer was made, as a Chinese reader is told (the app's caption, `kb ask`).
MODE_ZH = {"extractive": "条文摘录", "reference": "条文原文", "llm": "大模型生成（已核验）", "none": "未作答"}


@dataclass
class Citation:
    """One numbered source: ``[n]`` in the answer text points here."""

    n: int
    doc_key: str
    title: str  # full title: 中华人民共和国行政处罚法
    version: str  # 2021-01-22
    status: str  # current | amended | repealed | unknown
    path: str  # 第三十三条, 二/（一）/2, 基本案情
    label: str  # as rendered: 第三十三条第二款, 二、（一）2.
    quote: str  # verbatim span of chunk_text
    chunk_key: str
    chunk_text: str  # the whole cited chunk, for display and verification
    doc_type: str = ""

    @property
    def rendered(self) -> str:
        """《中华人民共和国行政处罚法》第三十三条第二款（2021-01-22）"""
        version = f"（{self.version}）" if self.version else ""
        return f"《{self.title}》{self.label}{version}"


@dataclass
class Answer:
    """The result of :func:`kb.answer.answer`."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    confidence: float = 0.0  # 0..1, from the retrieval evidence (see kb.answer.abstain)
    abstained: bool = False
    reason: str = ""  # why we abstained, or a note (LLM fell back to extractive, ...)
    mode: str = "extractive"  # extractive | llm | reference | none
    related: list[Citation] = field(default_factory=list)  # "possibly related" when abstaining
    notes: list[str] = field(default_factory=list)  # version notices, dropped LLM claims, ...
    resolved_question: str = ""  # the question after follow-up resolution

    @property
    def how(self) -> str:
        """How it was answered, in Chinese (「条文摘录」), or 「未作答」 for an abstention."""
        return "未作答" if self.abstained else MODE_ZH.get(self.mode, self.mode)
