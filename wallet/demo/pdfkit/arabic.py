"""Arabic text: shaped with HarfBuzz (``uharfbuzz``) in a TrueType font found on the system.

Noto Naskh Arabic is preferred, DejaVu Sans is the fallback.  Fonts are parsed once per process; shaping
results are cached (the same labels come back on every page).  Each shaped run also records which characters
each glyph stands for, so that the PDF's ``ToUnicode`` map gives the logical text back to copy/paste, search
and ``pdftotext``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import uharfbuzz as hb

from wallet.demo.pdfkit.truetype import TrueTypeFont

__all__ = ["WEIGHTS", "ArabicFont", "Shaped", "arabic_font", "loaded_font"]

_FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"),
              Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"))
_ARABIC_CANDIDATES = {
    "regular": ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabicUI-Regular.ttf", "DejaVuSans.ttf"),
    "bold": ("NotoNaskhArabic-Bold.ttf", "NotoNaskhArabicUI-Bold.ttf", "DejaVuSans-Bold.ttf"),
}
_RESOURCE = {"regular": "A1", "bold": "A2"}
#: the order in which a page's Arabic fonts are written
WEIGHTS = ("regular", "bold")


@dataclass
class Shaped:
    """A shaped right-to-left run, glyphs in visual (left-to-right) order; units: font units."""
    font: ArabicFont
    glyphs: list[tuple[int, int, int, int]]  # gid, x_advance, x_offset, y_offset
    advance: int
    text_of: dict[int, tuple[int, str]]  # gid -> (confidence, the characters it stands for) for ToUnicode

    def width(self, size: float) -> float:
        """The run's advance at ``size`` points."""
        return self.advance * size / self.font.upem


class ArabicFont(TrueTypeFont):
    """A TrueType font with Arabic glyphs: parsed once, shaped with HarfBuzz, subset per document."""

    def __init__(self, path: Path, res: str) -> None:
        data = path.read_bytes()
        super().__init__(path, res, data)
        self.cmap_face = hb.Face(hb.Blob(data))
        self.hb_font = hb.Font(self.cmap_face)
        self.coverage = frozenset(self.cmap_face.unicodes)
        self._shape_cache: dict[str, Shaped] = {}  # (read-only results)

    def shape(self, text: str) -> Shaped:
        """``text`` (one right-to-left run, logical order) shaped; cached."""
        shaped = self._shape_cache.get(text)
        if shaped is None:
            shaped = self._shape(text)
            if len(self._shape_cache) > 4096:
                self._shape_cache.clear()
            self._shape_cache[text] = shaped
        return shaped

    def _shape(self, text: str) -> Shaped:
        buf = hb.Buffer()
        buf.add_str(text)
        buf.direction = "rtl"
        buf.script = "Arab"
        buf.language = "ar"
        hb.shape(self.hb_font, buf, {})
        infos, positions = buf.glyph_infos, buf.glyph_positions
        glyphs: list[tuple[int, int, int, int]] = []
        by_cluster: dict[int, list[int]] = {}
        total = 0
        for info, pos in zip(infos, positions):
            glyphs.append((info.codepoint, pos.x_advance, pos.x_offset, pos.y_offset))
            by_cluster.setdefault(info.cluster, []).append(info.codepoint)
            total += pos.x_advance
        return Shaped(self, glyphs, total, self._attribute(text, by_cluster))

    def _attribute(self, text: str, by_cluster: dict[int, list[int]]) -> dict[int, tuple[int, str]]:
        """Which characters each glyph stands for (a glyph is mapped once per document: best guess wins)."""
        out: dict[int, tuple[int, str]] = {}

        def put(gid: int, confidence: int, chars: str) -> None:
            if gid not in out or out[gid][0] < confidence:
                out[gid] = (confidence, chars)

        starts = sorted(by_cluster)
        for k, start in enumerate(starts):
            chars = text[start: starts[k + 1] if k + 1 < len(starts) else len(text)]
            gids = by_cluster[start]
            if len(gids) == 1:
                put(gids[0], 2, chars)
                continue
            # base letter + marks: marks usually keep their nominal glyph, the base takes the rest
            rest = list(chars)
            unmatched = []
            for gid in gids:
                ch = next((c for c in rest if self.hb_font.get_nominal_glyph(ord(c)) == gid), None)
                if ch is not None:
                    rest.remove(ch)
                    put(gid, 2, ch)
                else:
                    unmatched.append(gid)
            for n, gid in enumerate(unmatched):
                put(gid, 1 if len(unmatched) == 1 else 0, "".join(rest) if n == 0 else "")
        return out


_fonts_lock = threading.Lock()
_fonts: dict[str, ArabicFont] = {}


def arabic_font(weight: str) -> ArabicFont:
    """The Arabic font of that weight ("regular" or "bold"), parsed once per process."""
    font = _fonts.get(weight)
    if font is not None:
        return font
    with _fonts_lock:
        if weight not in _fonts:
            for name in _ARABIC_CANDIDATES[weight]:
                path = next((d / name for d in _FONT_DIRS if (d / name).is_file()), None)
                if path is not None:
                    _fonts[weight] = ArabicFont(path, _RESOURCE[weight])
                    break
            else:
                raise RuntimeError(
                    "no font with Arabic glyphs found: install fonts-noto-core (Noto Naskh Arabic) "
                    "or fonts-dejavu-core")
        return _fonts[weight]


def loaded_font(weight: str) -> ArabicFont | None:
    """The font of that weight if some text has needed it already, else None (never loads one)."""
    return _fonts.get(weight)
