"""A finished one-page PDF from a :class:`Canvas`: page tree, font resources, document information."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wallet.demo.pdfkit.arabic import WEIGHTS, loaded_font
from wallet.demo.pdfkit.canvas import Canvas, num
from wallet.demo.pdfkit.embed import embed_truetype
from wallet.demo.pdfkit.helvetica import LATIN_FONTS
from wallet.demo.pdfkit.writer import Writer, pdf_date, pdf_text_string

__all__ = ["DocInfo", "one_page_pdf"]


@dataclass(frozen=True)
class DocInfo:
    """The document information dictionary; ``created`` is also the modification date (no clock is read)."""
    title: str
    author: str
    subject: str
    creator: str
    producer: str
    created: datetime


def _font_resources(w: Writer, c: Canvas) -> list[str]:
    """The page's ``/Font`` entries: the three Helvetica faces always, the Arabic fonts the canvas used."""
    refs = []
    for lf in LATIN_FONTS:
        number = w.add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{lf.base} /Encoding /WinAnsiEncoding >>")
        refs.append(f"/{lf.res} {number} 0 R")
    for weight in WEIGHTS:
        font = loaded_font(weight)
        if font is not None and font.res in c.used:
            refs.append(f"/{font.res} {embed_truetype(w, font, c.used[font.res])} 0 R")
    return refs


def one_page_pdf(c: Canvas, width: float, height: float, *, lang: str, info: DocInfo) -> bytes:
    """The PDF bytes of a single page of ``width`` x ``height`` points drawn on ``c`` (deterministic)."""
    w = Writer()
    catalog, pages, page = w.reserve(), w.reserve(), w.reserve()
    content = w.stream("\n".join(c.ops).encode("latin-1"))
    font_refs = _font_resources(w, c)
    w.set(catalog, f"<< /Type /Catalog /Pages {pages} 0 R /Lang {pdf_text_string(lang)} >>")
    w.set(pages, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>")
    w.set(page, f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {num(width)} {num(height)}] "
                f"/Resources << /Font << {' '.join(font_refs)} >> /ProcSet [/PDF /Text] >> "
                f"/Contents {content} 0 R >>")
    when = pdf_date(info.created)
    info_num = w.add(
        f"<< /Title {pdf_text_string(info.title)} /Author {pdf_text_string(info.author)} "
        f"/Subject {pdf_text_string(info.subject)} /Creator {pdf_text_string(info.creator)} "
        f"/Producer {pdf_text_string(info.producer)} /CreationDate ({when}) /ModDate ({when}) >>")
    return w.finish(catalog, info_num)
