"""Flowing body text in a light line markup, measured before it is drawn so that it can be scaled to fit.

Each body line is one of:

* ``"# Heading"``: a section heading;
* ``"A | B | C"``: a table row (consecutive rows form a table, the first row is its header);
* ``"Label : value"`` (label of at most 40 characters): a label/value row, labels aligned;
* ``""``: a small vertical gap;
* anything else: a paragraph, wrapped to the frame width.

:func:`body_steps` turns the lines into :class:`Step` objects (a height and a drawing function), so a caller
can add the heights up, pick a scale at which the body fits, and stop drawing where the room ends.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from wallet.demo.pdfkit.canvas import Canvas
from wallet.demo.pdfkit.text import text_width, wrap

__all__ = ["RGB", "BodyStyle", "Step", "body_steps"]

RGB = tuple[float, float, float]

_KV = re.compile(r"^([^:|]{1,40}?) : (.+)$")


@dataclass(frozen=True)
class BodyStyle:
    """Where the body goes (left edge and width, points) and its colours."""
    left: float
    width: float
    ink: RGB
    heading: RGB
    table_header: RGB = (0.88, 0.93, 0.90)
    table_rule: RGB = (0.55, 0.58, 0.60)


@dataclass
class Step:
    """A slice of the body: its height, and how to draw it with its top at ``y``."""
    height: float
    draw: Callable[[Canvas, float], None]  # (canvas, y_top)


def _nothing(c: Canvas, y: float) -> None:
    """A gap draws nothing."""


def body_steps(lines: list[str], scale: float, style: BodyStyle) -> list[Step]:
    """The steps of ``lines`` at ``scale`` (1.0: 10.5 pt text on a 14.5 pt lead)."""
    return _Body(lines, scale, style).steps()


class _Body:
    """One layout pass; holds the sizes derived from the scale and the shared label column."""

    def __init__(self, lines: list[str], scale: float, style: BodyStyle) -> None:
        self.lines = lines
        self.scale = scale
        self.style = style
        self.size = 10.5 * scale
        self.lead = 14.5 * scale
        # one label column for the whole body, so that label/value rows line up from group to group
        labels = [m.group(1).strip() for m in map(_KV.match, (ln.rstrip() for ln in lines
                                                             if " | " not in ln and not ln.startswith("# "))) if m]
        self.label_w = min(190.0, max((text_width(f"{k} :", self.size, bold=True) for k in labels), default=0)
                           + 14 * scale)

    def steps(self) -> list[Step]:
        lines = self.lines
        steps: list[Step] = []
        i = 0
        while i < len(lines):
            line = lines[i].rstrip()
            if not line.strip():
                steps.append(Step(self.lead * 0.5, _nothing))
                i += 1
            elif line.startswith("# "):
                steps.append(self._heading(line[2:].strip()))
                i += 1
            elif " | " in line:
                rows = []
                while i < len(lines) and " | " in lines[i]:
                    rows.append([cell.strip() for cell in lines[i].split(" | ")])
                    i += 1
                steps.extend(_table_steps(rows, self.size, self.scale, self.style))
            elif _KV.match(line):
                while i < len(lines) and (m := _KV.match(lines[i].rstrip())):
                    steps.append(self._label_value(m.group(1).strip(), m.group(2).strip()))
                    i += 1
            else:
                steps.extend(self._paragraph(line))
                i += 1
        return steps

    def _heading(self, title: str) -> Step:
        hs = 11.5 * self.scale
        scale, style = self.scale, self.style

        def draw(c: Canvas, y: float) -> None:
            c.fill_rgb(*style.heading)
            w = c.text(title, style.left, y - hs - 3 * scale, hs, bold=True)
            c.stroke_rgb(*style.heading)
            c.line(style.left, y - hs - 6 * scale, style.left + max(w, 40), y - hs - 6 * scale, 0.5)
            c.fill_rgb(*style.ink)

        return Step(hs + 12 * scale, draw)

    def _label_value(self, label: str, value: str) -> Step:
        size, lead, scale, label_w, left = self.size, self.lead, self.scale, self.label_w, self.style.left
        wrapped = wrap(value, self.style.width - label_w, size)

        def draw(c: Canvas, y: float) -> None:
            base = y - size - 1.5 * scale
            c.text(f"{label} :", left, base, size, bold=True)
            for k, part in enumerate(wrapped):
                c.text(part, left + label_w, base - k * lead, size)

        return Step(lead * len(wrapped) + 1.5 * scale, draw)

    def _paragraph(self, line: str) -> list[Step]:
        steps = [self._line(part) for part in wrap(line, self.style.width, self.size)]
        steps.append(Step(3 * self.scale, _nothing))
        return steps

    def _line(self, part: str) -> Step:
        """One wrapped line of a paragraph."""
        size, scale, left = self.size, self.scale, self.style.left

        def draw(c: Canvas, y: float) -> None:
            c.text(part, left, y - size - 1.5 * scale, size)

        return Step(self.lead, draw)


def _column_widths(rows: list[list[str]], size: float, pad: float, width: float) -> list[float]:
    """Natural widths; spare room goes to the first column, a shortfall shrinks all columns alike."""
    ncol = len(rows[0])
    natural = [max(text_width(r[k], size, bold=(j == 0)) for j, r in enumerate(rows)) + 2 * pad for k in range(ncol)]
    extra = width - sum(natural)
    widths = list(natural)
    if extra >= 0:
        widths[0] += extra
    else:
        widths = [w * width / sum(natural) for w in natural]
    return widths


def _table_steps(rows: list[list[str]], size: float, scale: float, style: BodyStyle) -> list[Step]:
    """One step per row (the first is the header: shaded, bold, ruled above), then a small gap."""
    ncol = max(len(r) for r in rows)
    rows = [r + [""] * (ncol - len(r)) for r in rows]
    pad = 6 * scale
    widths = _column_widths(rows, size, pad, style.width)
    row_h = size + 7 * scale
    left, width = style.left, style.width
    steps: list[Step] = []
    for j, row in enumerate(rows):
        def draw_row(c: Canvas, y: float, row: list[str] = row, header: bool = j == 0,
                     last: bool = j == len(rows) - 1) -> None:
            if header:
                c.fill_rgb(*style.table_header)
                c.rect(left, y - row_h, width, row_h, "f")
            c.stroke_rgb(*style.table_rule)
            c.line(left, y - row_h, left + width, y - row_h, 0.8 if (header or last) else 0.3)
            if header:
                c.line(left, y, left + width, y, 0.8)
            c.fill_rgb(*style.ink)
            x = left
            base = y - row_h + 2.4 * scale + 0.25 * size
            for k, cell in enumerate(row):
                w = widths[k]
                if k == 0:
                    c.text(cell, x + pad, base, size, bold=header)
                else:
                    c.text(cell, x + w / 2, base, size, bold=header, align="center")
                x += w

        steps.append(Step(row_h, draw_row))
    steps.append(Step(6 * scale, _nothing))
    return steps
