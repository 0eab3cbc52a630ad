"""The domain model: documents, provisions, chunks and search hits.

Plain dataclasses so every layer (ingest, store, retrieval, app) speaks the same shapes.
Keys are readable and stable: ``行政处罚法@2021-01-22/第三十三条/第二款``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DocType = Literal["law", "regulation", "rule", "interpretation", "policy", "plan", "case", "scenario"]
DOC_TYPES: tuple[str, ...] = (
    "law", "regulation", "rule", "interpretation", "policy", "plan", "case", "scenario",
)
Status = Literal["current", "amended", "repealed", "unknown"]
STATUSES: tuple[str, ...] = ("current", "amended", "repealed", "unknown")


@dataclass
class SourceText:
    """A file read into text, before any structure is known.

    ``text`` is the normalised body (front matter removed, lines broken by PDF layout
    rejoined); every offset stored later points into exactly this string.
    ``meta`` holds what the file declares (YAML front matter) or what was inferred from its
    header block: title, doc_type, issuer, doc_number, promulgated, effective, status,
    revisions (list of "YYYY-MM-DD 说明" strings).
    """

    path: str
    text: str
    meta: dict[str, Any]
    content_hash: str  # sha256 hex of the raw file bytes
    fmt: str  # md | txt | pdf | docx | html


@dataclass
class Provision:
    """One node of a document's structure tree (章, 条, 款, 项, plan item, case section)."""

    kind: str  # part|chapter|section|subsection|article|paragraph|item|heading|case_section|preamble
    label: str  # as cited: 第三十三条, 第二款, （一）, 基本案情, 二
    title: str  # heading words after the label (章/节 names, plan heading text); may be ""
    start: int  # offsets into SourceText.text, end exclusive
    end: int
    children: list[Provision] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)  # 责任单位, 完成时限 for plan tasks


@dataclass
class Chunk:
    """What is embedded and stored: one article, one plan item, or one case section.

    ``path`` is the provision path inside the document (``第三十三条``, ``二/（一）/2``,
    ``基本案情``); ``part`` numbers the pieces of a provision split at 款 boundaries (0 when
    whole). ``breadcrumb`` is the human heading chain, ``text`` the verbatim slice
    ``source[start:end]`` of the document text.
    """

    doc_key: str
    path: str
    part: int
    breadcrumb: str
    heading: str  # the chain of enclosing headings (章/节 names) for display and embedding
    text: str
    start: int
    end: int
    ordinal: int  # position in document order
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        base = f"{self.doc_key}/{self.path}"
        return base if self.part == 0 else f"{base}#{self.part}"


@dataclass
class Document:
    """A document in the knowledge base (one version of a law, a plan, a case...)."""

    key: str  # 行政处罚法@2021-01-22
    title: str
    short_title: str
    doc_type: str
    issuer: str = ""
    doc_number: str = ""
    promulgated: str = ""
    effective: str = ""
    version: str = ""
    status: str = "unknown"
    source_path: str = ""
    content_hash: str = ""
    aliases: list[str] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)


@dataclass
class Hit:
    """A retrieved provision with its score and everything needed to cite it."""

    chunk_key: str
    doc_key: str
    path: str
    title: str
    short_title: str
    doc_type: str
    status: str
    version: str
    breadcrumb: str
    text: str
    score: float
    start: int = 0
    end: int = 0
    payload: dict[str, Any] = field(default_factory=dict)
    point_id: str = ""  # the store's id of the chunk (its vectors are fetched by it)

    @property
    def citation(self) -> str:
        """《行政处罚法》第三十三条 — the form an officer writes in a 决定书."""
        from kb.citation import render_path

        return f"《{self.title}》{render_path(self.path)}"
