"""Build test documents at test time: real PDFs, DOCX files and encoded text, never committed.

PDFs are drawn with reportlab's built-in CID font STSong-Light, which writes Chinese without
a font file and which pypdf extracts back as Unicode; the layout (a fixed number of characters
per visual line, a fixed number of lines per page) is explicit so tests know exactly where
lines wrap and pages break.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from docx import Document
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

Footer = Callable[[int, int], str]


def wrap(paragraph: str, width: int) -> list[str]:
    """Cut a paragraph into visual lines of ``width`` characters, as a typesetter would."""
    return [paragraph[i : i + width] for i in range(0, len(paragraph), width)]


def paginate(paragraphs: Sequence[str], width: int = 30, lines_per_page: int = 12) -> list[list[str]]:
    """Wrap paragraphs and fill pages with ``lines_per_page`` visual lines each."""
    lines = [line for para in paragraphs for line in wrap(para, width)]
    return [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)]


def pdf_bytes(
    pages: Sequence[Sequence[str]],
    *,
    header: str | None = None,
    footer: Footer | None = None,
    font_size: int = 12,
) -> bytes:
    """A text PDF: optional running header on every page, body lines, optional footer."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    _, height = A4
    total = len(pages)
    for number, lines in enumerate(pages, 1):
        pdf.setFont(FONT, font_size)
        if header:
            pdf.drawString(72, height - 50, header)
        for i, line in enumerate(lines):
            pdf.drawString(72, height - 90 - i * (font_size + 8), line)
        if footer:
            pdf.drawString(280, 40, footer(number, total))
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def scanned_pdf_bytes(pages: int = 2) -> bytes:
    """Pages that carry only a picture of text, like a scan: no text layer at all."""
    image = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(image)
    for y in range(20, 280, 20):
        draw.line((20, y, 380, y), fill="black", width=3)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    for _ in range(pages):
        pdf.drawImage(ImageReader(image), 72, 300, width=400, height=300)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def encrypt_pdf(data: bytes, user_password: str, owner_password: str = "owner") -> bytes:
    """The same PDF with a password (RC4, which pypdf writes without extra packages)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(
    title: str,
    paragraphs: Sequence[str],
    table: Sequence[Sequence[str]] = (),
    page_header: str = "",
) -> bytes:
    """A Word file: a heading, body paragraphs, an optional table and page header."""
    document = Document()
    document.add_heading(title, level=1)
    for text in paragraphs:
        paragraph = document.add_paragraph()
        half = len(text) // 2  # two runs, one bold: formatting must not split the paragraph
        paragraph.add_run(text[:half]).bold = True
        paragraph.add_run(text[half:])
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    if page_header:
        document.sections[0].header.paragraphs[0].text = page_header
        document.sections[0].footer.paragraphs[0].text = page_header
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
