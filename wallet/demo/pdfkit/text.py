"""Measuring and wrapping mixed Latin/Arabic text: what a line is made of, and how wide it is.

A line becomes a list of pieces in visual order, each either a Latin string in a Helvetica face or a shaped
Arabic run; :class:`~wallet.demo.pdfkit.canvas.Canvas` draws exactly those pieces, so what is measured is what
is drawn.
"""
from __future__ import annotations

import itertools

from wallet.demo.pdfkit.arabic import Shaped, arabic_font
from wallet.demo.pdfkit.bidi import has_arabic, visual_runs
from wallet.demo.pdfkit.helvetica import LatinFont, latin_bytes, latin_font, latin_width

__all__ = ["Piece", "measure", "text_width", "wrap"]

#: a Latin string and its face, or a shaped Arabic run
Piece = Shaped | tuple[LatinFont, str]

_MIRROR = str.maketrans("()[]{}<>", ")(][}{><")


def measure(text: str, size: float, *, bold: bool = False, italic: bool = False
            ) -> tuple[float, list[tuple[Piece, float]]]:
    """(total width, [(piece, its width)] in visual left-to-right order) of ``text`` at ``size`` points."""
    lf = latin_font(bold, italic)
    if not has_arabic(text):
        w = latin_width(latin_bytes(text), lf, size)
        return w, [((lf, text), w)]
    af = arabic_font("bold" if bold else "regular")
    pieces: list[tuple[Piece, float]] = []
    for is_ar, run in visual_runs(text)[1]:
        if not is_ar:
            pieces.append(((lf, run), latin_width(latin_bytes(run), lf, size)))
            continue
        # characters the Arabic font lacks (brackets, hyphens, slashes ...) are drawn with Helvetica,
        # in right-to-left order, mirrored
        segments = [(covered, "".join(chars)) for covered, chars in
                    itertools.groupby(run, key=lambda ch: ord(ch) in af.coverage)]
        for covered, segment in reversed(segments):
            if covered:
                shaped = af.shape(segment)
                pieces.append((shaped, shaped.width(size)))
            else:
                mirrored = segment[::-1].translate(_MIRROR)
                pieces.append(((lf, mirrored), latin_width(latin_bytes(mirrored), lf, size)))
    return sum(w for _, w in pieces), pieces


def text_width(text: str, size: float, *, bold: bool = False, italic: bool = False) -> float:
    """The width :meth:`Canvas.text` will take for ``text``."""
    return measure(text, size, bold=bold, italic=italic)[0]


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Greedy word wrap (logical order: for Arabic the first line holds the first words)."""
    words = text.split()
    if not words:
        return [""]
    if not has_arabic(text):
        return _wrap_latin(words, width, size, bold=bold)
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if not current or text_width(candidate, size, bold=bold) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def _wrap_latin(words: list[str], width: float, size: float, *, bold: bool) -> list[str]:
    """The fast path: widths summed per word, and words wider than the line broken by force."""
    font = latin_font(bold, False)
    space = latin_width(b" ", font, size)
    lines: list[str] = []
    current: list[str] = []
    current_w = 0.0
    for word in words:
        ww = latin_width(latin_bytes(word), font, size)
        if current and current_w + space + ww <= width:
            current.append(word)
            current_w += space + ww
            continue
        if current:
            lines.append(" ".join(current))
        while ww > width and len(word) > 1:  # a single word wider than the line: hard break
            cut = len(word) - 1
            while cut > 1 and latin_width(latin_bytes(word[:cut]), font, size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
            ww = latin_width(latin_bytes(word), font, size)
        current, current_w = [word], ww
    lines.append(" ".join(current))
    return lines
