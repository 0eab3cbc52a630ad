"""HTML to text: one line per block element, scripts, styles and navigation dropped.

``get_text("\\n")`` would also break at every inline tag (<span>, <b>) and cut sentences,
so we mark block boundaries ourselves and let inline text run together. Source line breaks
inside a text node are HTML whitespace, not paragraph breaks: between two Chinese characters
they vanish, elsewhere they become one space (``&nbsp;`` and U+3000 are kept).
Headings come out as markdown headings and table rows as ``| a | b |`` so the shared
normaliser treats them exactly like the same constructs in Markdown sources.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

_DROP = ("script", "style", "noscript", "template", "head", "nav", "iframe", "svg", "button", "form")
_BLOCKS = (
    "p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol",
    "tr", "table", "blockquote", "pre", "dd", "dt", "dl", "center", "figcaption", "caption",
    "address", "hr",
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


def _collapse(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    between_chinese = start > 0 and end < len(text) and not text[start - 1].isascii() and not text[end].isascii()
    return "" if "\n" in match.group(0) and between_chinese else " "


def _row(tr: Tag) -> str:
    cells = [" ".join(td.get_text(" ").split()) for td in tr.find_all(("td", "th"))]
    return "| " + " | ".join(cells) + " |" if any(cells) else ""


def html_text(markup: str) -> str:
    """Visible text of an HTML page, one block per line (not yet stripped or rejoined)."""
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for node in soup.find_all(string=True):
        if type(node) is NavigableString and not node.find_parent(("pre", "textarea")):
            node.replace_with(_HTML_SPACE.sub(_collapse, str(node)))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tr in soup.find_all("tr"):
        tr.replace_with(f"\n{_row(tr)}\n")
    for tag in soup.find_all(_HEADINGS):
        text = " ".join(tag.get_text(" ").split())
        tag.replace_with(f"\n{'#' * int(tag.name[1])} {text}\n" if text else "\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.append("\n")
    return soup.get_text()
