"""The standard Helvetica fonts (not embedded, ``WinAnsiEncoding``): metrics, encoding, string literals.

PDF viewers supply these fonts, so a page of Latin text costs no font program; their widths are tabulated
here so that text can be measured, centred and wrapped without a font file.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

__all__ = ["BOLD", "ITALIC", "LATIN_FONTS", "REGULAR", "LatinFont", "latin_bytes", "latin_font", "latin_width",
           "pdf_literal"]

# Advance widths (1/1000 em) of Helvetica and Helvetica-Bold for the WinAnsi (cp1252) codes
# 32..255, from Adobe's AFM files (as shipped by groff's devps fonts HR/HB); 0 = undefined code.
_HELV = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778,
    722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278,
    278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0, 556, 0, 222, 556,
    333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, 0, 222, 222, 333, 333, 350, 556, 1000,
    333, 1000, 500, 333, 944, 0, 500, 667, 278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556,
    584, 333, 737, 333, 400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778,
    778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 500,
    556, 556, 556, 556, 278, 278, 278, 278, 556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556,
    556, 500, 556, 500,
)
_HELV_BOLD = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778,
    722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333,
    278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0, 556, 0, 278, 556,
    500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, 0, 278, 278, 500, 500, 350, 556, 1000,
    333, 1000, 556, 333, 944, 0, 500, 667, 278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556,
    584, 333, 737, 333, 400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778,
    778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 556,
    556, 556, 556, 556, 278, 278, 278, 278, 611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611,
    611, 556, 611, 556,
)


@dataclass(frozen=True)
class LatinFont:
    """One standard font: its page resource name, its ``/BaseFont`` and its advance widths."""
    res: str  # resource name
    base: str  # BaseFont
    widths: tuple[int, ...]  # codes 32..255
    table: tuple[int, ...] = field(init=False, repr=False, compare=False)  # codes 0..255

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", (0,) * 32 + self.widths)


REGULAR = LatinFont("F1", "Helvetica", _HELV)
BOLD = LatinFont("F2", "Helvetica-Bold", _HELV_BOLD)
ITALIC = LatinFont("F3", "Helvetica-Oblique", _HELV)  # same metrics as the roman
#: Every page declares all three (in this order), used or not.
LATIN_FONTS = (REGULAR, BOLD, ITALIC)


def latin_font(bold: bool, italic: bool) -> LatinFont:
    """Bold wins over italic: there is no bold-oblique face in the set."""
    return BOLD if bold else (ITALIC if italic else REGULAR)


def latin_bytes(text: str) -> bytes:
    """``text`` in cp1252; characters outside it lose their accents, or become ``?``."""
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError:
        out = bytearray()
        for ch in text:
            try:
                out += ch.encode("cp1252")
            except UnicodeEncodeError:
                base = unicodedata.normalize("NFKD", ch).encode("cp1252", "ignore")
                out += base if base else b"?"
        return bytes(out)


def latin_width(data: bytes, font: LatinFont, size: float) -> float:
    """The advance of encoded ``data`` at ``size`` points."""
    return sum(map(font.table.__getitem__, data)) * size / 1000.0


_ESCAPES = {ord("\\"): b"\\\\", ord("("): b"\\(", ord(")"): b"\\)", ord("\r"): b"\\r", ord("\n"): b"\\n"}


def pdf_literal(data: bytes) -> bytes:
    """``data`` as a PDF literal string ``(...)``, escaped only when it has to be."""
    if not any(b in _ESCAPES for b in data):
        return b"(" + data + b")"
    return b"(" + b"".join(_ESCAPES.get(b, bytes((b,))) for b in data) + b")"
