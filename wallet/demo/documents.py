"""Demo administrative documents: one-page A4 PDFs that look like Moroccan certificates.

:func:`make_document_pdf` returns an UNSIGNED PDF (the issuing agency signs it afterwards, and a
shared copy later gets a seal with a QR code stamped in the bottom band, which is left empty:
nothing is drawn below :data:`FREE_BOTTOM` points).

This module is the page design (letterhead, emblem, information box, closing, footer); the drawing,
text, font and file machinery is :mod:`wallet.demo.pdfkit`, and the body texts are
:mod:`wallet.demo.bodies`.  Latin text uses the standard Helvetica fonts; Arabic text is shaped with
HarfBuzz and embedded as a per-document font subset.

The output is deterministic: the same arguments give the same bytes (no clock, no randomness;
:func:`~wallet.demo.bodies.demo_body` draws from the ``rng`` it is given).
"""
from __future__ import annotations

import functools
import math
import random
from datetime import datetime

from wallet.demo.bodies import demo_body
from wallet.demo.pdfkit.canvas import Canvas, num
from wallet.demo.pdfkit.document import DocInfo, one_page_pdf
from wallet.demo.pdfkit.layout import BodyStyle, Step, body_steps
from wallet.demo.pdfkit.text import text_width, wrap

__all__ = ["FREE_BOTTOM", "PAGE_HEIGHT", "PAGE_WIDTH", "make_document_pdf"]

PAGE_WIDTH = 595.0  # A4, points
PAGE_HEIGHT = 842.0
#: The bottom band (points) left empty for the seal and its QR code.
FREE_BOTTOM = 150.0

_MARGIN = 50.0
_CONTENT_W = PAGE_WIDTH - 2 * _MARGIN

_RED = (0.76, 0.11, 0.16)
_GREEN = (0.0, 0.42, 0.24)
_GOLD = (0.80, 0.63, 0.20)
_INK = (0.08, 0.09, 0.12)
_GREY = (0.40, 0.42, 0.45)

_BODY_STYLE = BodyStyle(left=_MARGIN, width=_CONTENT_W, ink=_INK, heading=_GREEN)
#: body scales tried in turn, until the body fits above the closing lines
_BODY_SCALES = (1.0, 0.94, 0.88, 0.82, 0.76, 0.7)

_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre")
_CITY = {"OMPIC": "Casablanca"}


def _date(d: datetime) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def _long_date(d: datetime) -> str:
    return f"{'1er' if d.day == 1 else d.day} {_MONTHS_FR[d.month - 1]} {d.year}"


def _emblem(c: Canvas, cx: float, cy: float) -> None:
    """A simple heraldic emblem: crown, gold ring, red disc with the green pentagram, laurels."""
    c.raw("q")
    # laurel branches
    c.fill_rgb(*_GREEN)
    for side in (-1, 1):
        for k in range(7):
            a = math.radians(-76 + k * 21) if side > 0 else math.radians(180 + 76 - k * 21)
            r = 29.5
            x, y = cx + r * math.cos(a), cy + r * math.sin(a)
            tangent = a + side * math.pi / 2 + side * 0.5
            ca, sa = math.cos(tangent), math.sin(tangent)
            c.raw(f"q {num(ca)} {num(sa)} {num(-sa)} {num(ca)} {num(x)} {num(y)} cm")
            c.raw("-5 0 m -2.5 2.6 2.5 2.6 5 0 c 2.5 -2.6 -2.5 -2.6 -5 0 c f Q")
    # ring and disc
    c.fill_rgb(*_GOLD)
    c.circle(cx, cy, 24, "f")
    c.fill_rgb(*_RED)
    c.circle(cx, cy, 20.5, "f")
    # the green interlaced pentagram of the flag (outline)
    pts = [(cx + 14.5 * math.cos(math.radians(90 + 144 * k)), cy - 0.8 + 14.5 * math.sin(math.radians(90 + 144 * k)))
           for k in range(5)]
    c.stroke_rgb(*_GREEN)
    c.raw("1 j 2.2 w")
    c.polygon(pts, "S")
    # crown on top of the ring
    c.fill_rgb(*_GOLD)
    base = cy + 24.5
    c.rect(cx - 12, base, 24, 3.6, "f")
    c.polygon([(cx - 12, base + 3.6), (cx - 14, base + 12), (cx - 7, base + 7.5), (cx, base + 14),
               (cx + 7, base + 7.5), (cx + 14, base + 12), (cx + 12, base + 3.6)], "f")
    for dx, dy in ((-14, 12), (0, 14), (14, 12)):
        c.circle(cx + dx, base + dy + 1.2, 1.7, "f")
    c.fill_rgb(*_RED)
    c.circle(cx, base + 1.8, 1.1, "f")
    c.raw("Q")


@functools.cache
def _emblem_ops() -> tuple[str, ...]:
    """The emblem is the same on every page: drawn once per process."""
    c = Canvas()
    _emblem(c, PAGE_WIDTH / 2, 778)
    return tuple(c.ops)


def _letterhead(c: Canvas, agency_name: str, agency_name_ar: str) -> float:
    """Draws the top band; returns the y below it."""
    top = PAGE_HEIGHT
    c.fill_rgb(*_RED)
    c.rect(0, top - 5, PAGE_WIDTH, 5, "f")
    c.fill_rgb(*_GREEN)
    c.rect(0, top - 7, PAGE_WIDTH, 2, "f")
    c.raw(*_emblem_ops())
    col_w = 190.0
    left_cx = _MARGIN + col_w / 2
    right_cx = PAGE_WIDTH - _MARGIN - col_w / 2
    c.fill_rgb(*_INK)
    c.text("ROYAUME DU MAROC", left_cx, 802, 11.5, bold=True, align="center")
    c.text("المملكة المغربية", right_cx, 800, 15, bold=True, align="center")
    c.stroke_rgb(*_INK)
    for cx in (left_cx, right_cx):
        c.line(cx - 18, 793, cx + 18, 793, 0.6)
    y = 780.0
    for line in wrap(agency_name, col_w, 9.5)[:3]:
        c.text(line, left_cx, y, 9.5, align="center")
        y -= 11.5
    y = 777.0
    for line in wrap(agency_name_ar, col_w, 12)[:3]:
        c.text(line, right_cx, y, 12, align="center")
        y -= 16
    c.stroke_rgb(*_RED)
    c.line(_MARGIN, 738, PAGE_WIDTH - _MARGIN, 738, 1.3)
    c.stroke_rgb(*_GREEN)
    c.line(_MARGIN, 735, PAGE_WIDTH - _MARGIN, 735, 0.6)
    return 735.0


def _fitting_size(text: str) -> float:
    """The title size: 18 pt, smaller (down to 11 pt) until ``text`` fits the content width."""
    size = 18.0
    while size > 11 and text_width(text, size, bold=True) > _CONTENT_W:
        size -= 1
    return size


def _titles(c: Canvas, y: float, type_name_fr: str, type_name_ar: str) -> None:
    """The document title, French then Arabic, centred below the letterhead."""
    c.fill_rgb(*_INK)
    c.text(type_name_fr, PAGE_WIDTH / 2, y - 32, _fitting_size(type_name_fr), bold=True, align="center")
    c.fill_rgb(*_GREEN)
    c.text(type_name_ar, PAGE_WIDTH / 2, y - 58, _fitting_size(type_name_ar), bold=True, align="center")
    c.fill_rgb(*_INK)


def _info_box(c: Canvas, y_top: float, rows: list[tuple[str, str, str]]) -> float:
    """The shaded box of (French label, value, Arabic label) rows; returns its bottom y."""
    row_h = 19.0
    h = row_h * len(rows) + 10
    c.fill_rgb(0.965, 0.965, 0.955)
    c.stroke_rgb(0.70, 0.70, 0.68)
    c.raw("0.6 w")
    c.rect(_MARGIN, y_top - h, _CONTENT_W, h, "B")
    c.fill_rgb(*_GOLD)
    c.rect(_MARGIN, y_top - h, 3, h, "f")
    y = y_top - 5 - row_h + 6
    for label_fr, value, label_ar in rows:
        c.fill_rgb(*_GREY)
        c.text(label_fr, _MARGIN + 14, y, 9, bold=True)
        c.fill_rgb(*_INK)
        c.text(value, _MARGIN + 150, y, 10.5, bold=True)
        c.fill_rgb(*_GREY)
        c.text(label_ar, PAGE_WIDTH - _MARGIN - 12, y - 0.5, 10.5, align="right")
        y -= row_h
    c.fill_rgb(*_INK)
    return y_top - h


def _body(c: Canvas, y: float, lines: list[str]) -> float:
    """The body, scaled down if needed so that it ends above the closing and footer; returns the y below it.

    What still does not fit at the smallest scale is cut, and ``[…]`` says so.
    """
    closing = 44.0
    floor = FREE_BOTTOM + 42.0 + closing
    chosen: list[Step] = []
    for scale in _BODY_SCALES:
        chosen = body_steps(lines, scale, _BODY_STYLE)
        if sum(s.height for s in chosen) <= y - floor:
            break
    for step in chosen:
        if y - step.height < floor:
            c.fill_rgb(*_GREY)
            c.text("[…]", _MARGIN, y - 10, 9)
            y -= 12
            break
        step.draw(c, y)
        y -= step.height
    return y


def _closing(c: Canvas, y: float, agency_code: str, agency_name: str, issued_at: datetime) -> None:
    """Place, date and issuer, right-aligned below the body."""
    city = _CITY.get(agency_code, "Rabat")
    c.fill_rgb(*_INK)
    x_right = PAGE_WIDTH - _MARGIN
    c.text(f"Fait à {city}, le {_long_date(issued_at)}", x_right, y - 16, 10, align="right")
    c.fill_rgb(*_GREY)
    c.text(f"Signé électroniquement par : {agency_name}", x_right, y - 30, 8.5, italic=True, align="right")


def _footer(c: Canvas, reference: str, agency_code: str, doc_type: str) -> None:
    """The rule and two lines just above the free band."""
    c.stroke_rgb(0.6, 0.6, 0.6)
    c.line(_MARGIN, FREE_BOTTOM + 30, PAGE_WIDTH - _MARGIN, FREE_BOTTOM + 30, 0.5)
    c.fill_rgb(*_GREY)
    c.text("Document délivré électroniquement — DEMO, sans valeur légale", PAGE_WIDTH / 2, FREE_BOTTOM + 18,
           9, italic=True, align="center")
    c.text(f"Réf. {reference} · {agency_code} · {doc_type} · page 1/1", PAGE_WIDTH / 2, FREE_BOTTOM + 6, 7.5,
           align="center")


def make_document_pdf(*, agency_code: str, agency_name: str, agency_name_ar: str, doc_type: str,
                      type_name_fr: str, type_name_ar: str, holder_name: str, holder_id: str,
                      reference: str, issued_at: datetime, expires_at: datetime | None,
                      body_lines_fr: list[str] | None = None) -> bytes:
    """An unsigned one-page A4 certificate, as PDF bytes (deterministic for given arguments).

    ``body_lines_fr`` defaults to :func:`~wallet.demo.bodies.demo_body` seeded with ``reference``.
    Nothing is drawn in the bottom :data:`FREE_BOTTOM` points (the sealing stamp goes there).
    """
    if body_lines_fr is None:
        body_lines_fr = demo_body(doc_type, holder_name, random.Random(reference))  # noqa: S311 - demo content
    c = Canvas()
    y = _letterhead(c, agency_name, agency_name_ar)
    _titles(c, y, type_name_fr, type_name_ar)
    rows = [
        ("Référence", reference, "المرجع"),
        ("Titulaire", holder_name, "الاسم الكامل"),
        ("N° CNIE", holder_id, "رقم البطاقة الوطنية"),
        ("Date de délivrance", _date(issued_at), "تاريخ الإصدار"),
        ("Valable jusqu'au", _date(expires_at) if expires_at else "Sans limitation de durée", "صالح إلى غاية"),
    ]
    y = _info_box(c, y - 76, rows) - 16
    y = _body(c, y, body_lines_fr)
    _closing(c, y, agency_code, agency_name, issued_at)
    _footer(c, reference, agency_code, doc_type)
    info = DocInfo(title=f"{type_name_fr} — {reference}", author=agency_name, subject=f"{doc_type} / {holder_name}",
                   creator="citizen-wallet demo", producer="citizen-wallet demo", created=issued_at)
    return one_page_pdf(c, PAGE_WIDTH, PAGE_HEIGHT, lang="fr-MA", info=info)
