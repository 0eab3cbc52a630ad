"""Cut a parsed document into the chunks we embed and cite.

One chunk per article (条), per numbered plan item, per case section. A provision longer
than the embedding model's window is split at 款 boundaries (then 项, then sentences), each
part keeping the article's breadcrumb, so a hit on part 2 still cites 第六十四条.
Every chunk's text is the verbatim slice ``source[start:end]``: a citation can always be
checked against the document.
"""

from __future__ import annotations

import re

from kb.model import Chunk, Provision
from kb.structure import ParsedDocument

# e5-small reads 512 tokens; Chinese legal text runs ~1.7 characters a token, and the
# breadcrumb prefix needs room too.
MAX_CHARS = 600
_SENTENCE_END = re.compile(r"(?<=[。；！？])")
_SUBSTANTIVE_PREAMBLE = 60


def chunk_document(
    doc_key: str, short_title: str, source: str, parsed: ParsedDocument, max_chars: int = MAX_CHARS
) -> list[Chunk]:
    """All chunks of one document, in document order."""
    units: list[tuple[str, list[str], Provision]] = []  # (path, heading chain, provision)
    _collect(parsed.style, parsed.roots, [], [], units)
    chunks: list[Chunk] = []
    for path, chain, node in units:
        if node.kind == "preamble" and not _substantive(source[node.start:node.end], parsed.style):
            continue
        heading = " ".join(chain)
        label = _display_label(parsed.style, node)
        breadcrumb = " ".join(x for x in (f"《{short_title}》", heading, label) if x)
        spans = _split(node, source, max_chars)
        for part, (start, end) in enumerate(spans, start=1 if len(spans) > 1 else 0):
            chunks.append(Chunk(
                doc_key=doc_key, path=path, part=part, breadcrumb=breadcrumb, heading=heading,
                text=source[start:end], start=start, end=end, ordinal=len(chunks),
                attrs=dict(node.attrs),
            ))
    return chunks


def embed_text(chunk: Chunk) -> str:
    """What the embedding model and the sparse index see: breadcrumb, then the text.

    The law's short name and chapter headings carry words the article body omits
    (「行政处罚的决定」「听证程序」), which is how officers phrase questions.
    """
    return f"{chunk.breadcrumb}\n{chunk.text}"


def part_texts(chunk: Chunk) -> list[str]:
    """What the ``parts`` vectors embed: each line of a chunk of several lines (its 款, and
    项 items that stand on lines of their own), under the breadcrumb. One vector for a whole
    article averages its paragraphs away; a question about one 款 (「查封扣押最长多少天」)
    matches that 款 far better on its own. A one-line chunk has none: its own vector is it."""
    lines = [line.strip() for line in chunk.text.split("\n") if line.strip()]
    if len(lines) < 2:
        return []
    return [f"{chunk.breadcrumb}\n{line}" for line in lines]


def stored_chunk(payload: dict) -> Chunk:
    """The chunk a vector-store payload was written from, for code that rebuilds what the
    model and the sparse index saw (:func:`embed_text`, :func:`part_texts`)."""
    p = payload
    return Chunk(p["doc_key"], p["path"], p.get("part", 0), p["breadcrumb"], p.get("heading", ""),
                 p["text"], p["start"], p["end"], p.get("ordinal", 0))


def stored_embed_text(payload: dict) -> str:
    """:func:`embed_text` of a chunk as stored in the vector store (its payload)."""
    return embed_text(stored_chunk(payload))


def _collect(style: str, nodes: list[Provision], chain: list[str], labels: list[str],
             out: list[tuple[str, list[str], Provision]]) -> None:
    for node in nodes:
        if style == "law":
            if node.kind == "article":
                out.append((node.label, chain, node))
            elif node.kind == "preamble":
                out.append(("序言", chain, node))
            else:  # 编/章/节
                _collect(style, node.children, [*chain, _heading_text(node)], labels, out)
        elif style == "outline" and node.kind == "heading":
            path = [*labels, node.label]
            if not node.children:
                out.append(("/".join(path), chain, node))
                continue
            own_end = node.children[0].start
            if own_end - node.start > len(node.label) + len(node.title) + 8:
                own = Provision(node.kind, node.label, node.title, node.start, own_end, [], node.attrs)
                out.append(("/".join(path), chain, own))
            _collect(style, node.children, [*chain, _heading_text(node, outline=True)], path, out)
        else:  # preamble, case sections, flat
            out.append((node.label, chain, node))


def _heading_text(node: Provision, outline: bool = False) -> str:
    if outline:
        sep = "、" if not node.label.startswith("（") and not node.label.isdigit() else ""
        sep = "." if node.label.isdigit() else sep
        return f"{node.label}{sep}{node.title}"
    return f"{node.label} {node.title}".strip()


def _display_label(style: str, node: Provision) -> str:
    if node.kind == "preamble":
        return ""
    if style == "law" and node.kind == "article":
        return node.label
    if style == "outline":
        return _heading_text(node, outline=True)
    return node.label


def _substantive(text: str, style: str) -> bool:
    """A law's header block (title, adoption and revision dates) is not worth a chunk;
    a plan's or case's opening paragraph is."""
    if style != "law":
        return len(text.strip()) >= 20
    body = [ln for ln in text.split("\n") if len(ln) >= _SUBSTANTIVE_PREAMBLE
            and not re.match(r"^\d{4}年|^（\d{4}年", ln) and "通过" not in ln[:60]]
    return bool(body)


def _split(node: Provision, source: str, max_chars: int) -> list[tuple[int, int]]:
    """Spans covering the provision, each within ``max_chars`` where the structure allows."""
    if node.end - node.start <= max_chars:
        return [(node.start, node.end)]
    pieces = _pieces(node, source, max_chars)
    spans: list[tuple[int, int]] = []
    cur_start, cur_end = pieces[0]
    for start, end in pieces[1:]:
        if end - cur_start <= max_chars:
            cur_end = end
        else:
            spans.append((cur_start, cur_end))
            cur_start, cur_end = start, end
    spans.append((cur_start, cur_end))
    return spans


def _pieces(node: Provision, source: str, max_chars: int) -> list[tuple[int, int]]:
    """Smallest structural pieces: 款 (or 项 of an over-long 款), lines, then sentences.

    The first piece starts at the node start so the article label stays in part 1.
    """
    if node.children:
        bounds: list[tuple[int, int]] = []
        for child in node.children:
            if child.end - child.start > max_chars and child.children:
                bounds.extend(_pieces(child, source, max_chars))
            else:
                bounds.append((child.start, child.end))
    else:
        bounds = _line_spans(source, node.start, node.end)
    bounds[0] = (node.start, bounds[0][1])
    out: list[tuple[int, int]] = []
    for start, end in bounds:
        if end - start <= max_chars:
            out.append((start, end))
        else:
            out.extend(_sentence_spans(source, start, end))
    return out


def _line_spans(source: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, pos = [], start
    for line in source[start:end].split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans or [(start, end)]


def _sentence_spans(source: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, pos = [], start
    for sentence in _SENTENCE_END.split(source[start:end]):
        if sentence:
            spans.append((pos, pos + len(sentence)))
        pos += len(sentence)
    return spans
