"""Turn a document text into its provision tree.

The parser is chosen by what the text contains, not only by the declared doc_type: policy
documents are sometimes written in articles (第一条…), a regulation may carry an outline
preface, and a case file is recognised by its section names.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.model import Provision
from kb.structure.case import count_case_headings, parse_case
from kb.structure.law import MIN_ARTICLES, count_article_lines, parse_law
from kb.structure.lines import Line, split_lines
from kb.structure.outline import count_markers, parse_outline

_STATUTE_TYPES = {"law", "regulation", "rule", "interpretation"}

__all__ = ["Line", "ParsedDocument", "parse_structure", "split_lines", "walk"]


@dataclass
class ParsedDocument:
    """The tree plus which grammar produced it (law | outline | case | flat)."""

    style: str
    roots: list[Provision]


def parse_structure(text: str, doc_type: str) -> ParsedDocument:
    """Parse ``text``; never raises for odd input — an unstructured text comes back 'flat'
    (one preamble node) and the caller decides whether that is acceptable."""
    lines = split_lines(text)
    if not lines:
        return ParsedDocument("flat", [])
    articles = count_article_lines(lines)
    if doc_type == "case" or (count_case_headings(lines) >= 2 and articles < MIN_ARTICLES):
        return ParsedDocument("case", parse_case(lines))
    if articles >= MIN_ARTICLES or (doc_type in _STATUTE_TYPES and articles >= 1):
        return ParsedDocument("law", parse_law(lines))
    if count_markers(lines) >= 2:
        return ParsedDocument("outline", parse_outline(lines, text))
    return ParsedDocument("flat", [Provision("preamble", "序言", "", lines[0].start, lines[-1].end)])


def walk(nodes: list[Provision]):
    """Depth-first, document order."""
    for node in nodes:
        yield node
        yield from walk(node.children)
