"""A page's content stream, built as a list of PDF operators, and the glyphs each embedded font must carry.

Drawing is in PDF user space (points, origin at the bottom left).  Every number goes through :func:`num`, so
the same drawing always gives the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from wallet.demo.pdfkit.arabic import Shaped
from wallet.demo.pdfkit.helvetica import LatinFont, latin_bytes, latin_width, pdf_literal
from wallet.demo.pdfkit.text import measure

__all__ = ["Canvas", "num"]


def num(v: float) -> str:
    """A PDF number: two decimals at most, no trailing zeros, never ``-0``."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


@dataclass
class Canvas:
    """Operators in drawing order, plus, per embedded font resource, the glyphs drawn and their text."""
    ops: list[str] = field(default_factory=list)
    used: dict[str, dict[int, str]] = field(default_factory=dict)  # font res -> gid -> text
    confidence: dict[str, dict[int, int]] = field(default_factory=dict)

    # -- graphics
    def raw(self, *ops: str) -> None:
        self.ops.extend(ops)

    def fill_rgb(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{num(r)} {num(g)} {num(b)} rg")

    def stroke_rgb(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{num(r)} {num(g)} {num(b)} RG")

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float) -> None:
        self.ops.append(f"{num(width)} w {num(x0)} {num(y0)} m {num(x1)} {num(y1)} l S")

    def rect(self, x: float, y: float, w: float, h: float, op: str) -> None:
        self.ops.append(f"{num(x)} {num(y)} {num(w)} {num(h)} re {op}")

    def circle(self, cx: float, cy: float, r: float, op: str) -> None:
        """Four Bézier quarter arcs (``op``: ``f`` fill, ``S`` stroke, ``B`` both)."""
        k = 0.5523 * r
        n = num
        self.ops.append(
            f"{n(cx + r)} {n(cy)} m "
            f"{n(cx + r)} {n(cy + k)} {n(cx + k)} {n(cy + r)} {n(cx)} {n(cy + r)} c "
            f"{n(cx - k)} {n(cy + r)} {n(cx - r)} {n(cy + k)} {n(cx - r)} {n(cy)} c "
            f"{n(cx - r)} {n(cy - k)} {n(cx - k)} {n(cy - r)} {n(cx)} {n(cy - r)} c "
            f"{n(cx + k)} {n(cy - r)} {n(cx + r)} {n(cy - k)} {n(cx + r)} {n(cy)} c {op}")

    def polygon(self, pts: list[tuple[float, float]], op: str) -> None:
        head, *rest = pts
        self.ops.append(f"{num(head[0])} {num(head[1])} m "
                        + " ".join(f"{num(x)} {num(y)} l" for x, y in rest) + f" h {op}")

    # -- text
    def latin(self, text: str, x: float, y: float, font: LatinFont, size: float) -> float:
        """One Latin string at (x, y); returns its width."""
        data = latin_bytes(text)
        self.ops.append(f"BT /{font.res} {num(size)} Tf {num(x)} {num(y)} Td "
                        + pdf_literal(data).decode("latin-1") + " Tj ET")
        return latin_width(data, font, size)

    def arabic(self, run: Shaped, x: float, y: float, size: float) -> float:
        """One shaped run at (x, y), HarfBuzz's positions as ``TJ`` adjustments and rises; returns its width."""
        font = run.font
        self._record(run)
        used = self.used[font.res]
        scale = 1000.0 / font.upem
        parts = [f"BT /{font.res} {num(size)} Tf {num(x)} {num(y)} Td"]
        tj: list[str] = []
        pending = 0.0  # TJ adjustment (thousandths of an em, positive = move left)
        rise = 0
        for gid, adv, xoff, yoff in run.glyphs:
            used.setdefault(gid, "")
            if yoff != rise:
                if tj:
                    parts.append("[" + " ".join(tj) + "] TJ")
                    tj = []
                rise = yoff
                parts.append(f"{num(yoff * size / font.upem)} Ts")
            pending -= xoff * scale
            if abs(pending) > 0.005:
                tj.append(num(pending))
            tj.append(f"<{gid:04X}>")
            pending = -(adv - xoff - font.advances[gid]) * scale
        if tj:
            parts.append("[" + " ".join(tj) + "] TJ")
        if rise:
            parts.append("0 Ts")
        parts.append("ET")
        self.ops.append(" ".join(parts))
        return run.width(size)

    def _record(self, run: Shaped) -> None:
        """Notes the run's glyphs for subsetting and ``ToUnicode`` (the surest attribution of a glyph wins)."""
        used = self.used.setdefault(run.font.res, {})
        best = self.confidence.setdefault(run.font.res, {})
        for gid, (confidence, txt) in run.text_of.items():
            if gid not in best or best[gid] < confidence:
                best[gid] = confidence
                used[gid] = txt

    def text(self, text: str, x: float, y: float, size: float, *, bold: bool = False,
             italic: bool = False, align: str = "left") -> float:
        """Draws mixed Latin/Arabic ``text``; ``align``: left (x = left edge), right, center."""
        width, pieces = measure(text, size, bold=bold, italic=italic)
        if align == "right":
            x -= width
        elif align == "center":
            x -= width / 2
        for piece, w in pieces:
            if isinstance(piece, Shaped):
                self.arabic(piece, x, y, size)
            else:
                self.latin(piece[1], x, y, piece[0], size)
            x += w
        return width
