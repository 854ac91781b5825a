"""The fonts of the seal's stamp: Latin lines in Courier, Arabic lines shaped by HarfBuzz in an embedded font.

pyHanko's text box draws every line with ONE font engine and lays each line out left to right; HarfBuzz shapes
a run but does no bidi. :class:`StampFontEngine` is that one engine: a line without right-to-left letters is
Courier (a standard font, WinAnsi); a line with them is an Arabic paragraph, split by :func:`visual_runs` (the
Unicode bidi algorithm's rules for one right-to-left line: numbers and ``LRI … PDI`` isolates such as a URL stay
left to right) into runs drawn in visual order, right-aligned, each in the Arabic font when that font has all its
characters (HarfBuzz joins the letters) and in Courier otherwise (a URL, an em dash). The embedded subset's
``/ToUnicode`` maps each glyph back to its letter (a ligature to its presentation form, which NFKC turns back
into letters): text extraction (Poppler, pdf.js) orders right-to-left glyphs itself, so the Arabic comes out in
reading order. (No ``/ActualText``: Poppler reverses it as if it were visual.)

The Arabic font (an OpenType/TrueType file, Noto Sans Arabic by default) is read once per process
(:func:`load_arabic_font`); a missing or unusable file is logged once and the stamp keeps its Latin lines.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from io import BytesIO
from pathlib import Path
from typing import Any

import uharfbuzz as hb
from fontTools import subset, ttLib  # type: ignore[import-untyped]
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory, ShapeResult
from pyhanko.pdf_utils.font.basic import COURIER_META, SimpleFontEngine, SimpleFontEngineFactory
from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator, _read_ps_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

__all__ = ["ARABIC_FONT_DEFAULT", "ArabicFont", "LRI", "PDI", "StampFontFactory", "load_arabic_font",
           "visual_runs", "winansi_courier"]

log = logging.getLogger(__name__)

#: Debian's fonts-noto-core: a sans face legible at the stamp's 5-8 pt.
ARABIC_FONT_DEFAULT = "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf"
LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate and its end: what a caller wraps a URL or a Latin date in
COURIER_ADVANCE = 0.6  # Courier glyph width, in font size units
ARABIC_RESOURCE = "/FAr"  # the Arabic font's name in the stamp's resources (Courier is the text box's /F1)
_COURIER_RESOURCE = b"/F1"
_RTL_TYPES = frozenset({"R", "AL"})
_SUBSETS_KEPT = 64
_SHAPING_ONLY_TABLES = ("GSUB", "GPOS", "GDEF", "JSTF", "BASE", "MATH", "meta", "DSIG")


# -- Courier that really encodes in WinAnsi (pyHanko's writes PDFDocEncoding, which differs for the em dash) ----


def pdf_literal(data: bytes) -> bytes:
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _winansi(text: str) -> bytes:
    return text.replace(LRI, "").replace(PDI, "").encode("cp1252", errors="replace")


class _WinAnsiCourierEngine(SimpleFontEngine):
    def shape(self, txt: str) -> Any:
        data = _winansi(txt)
        return ShapeResult(graphics_ops=pdf_literal(data) + b" Tj", x_advance=len(data) * self.avg_width,
                           y_advance=0)


class _WinAnsiCourierFactory(SimpleFontEngineFactory):
    def __init__(self) -> None:
        super().__init__("Courier", COURIER_ADVANCE, COURIER_META)

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: Any = None) -> SimpleFontEngine:
        return _WinAnsiCourierEngine(writer, self.name, self.avg_width, self.meta)


winansi_courier = _WinAnsiCourierFactory()


# -- bidi for one right-to-left line ---------------------------------------------------------------------------


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in _RTL_TYPES for ch in text)


def visual_runs(text: str) -> list[tuple[str, bool]]:
    """The runs of a right-to-left line in visual order (left to right), each ``(text in logical order, rtl)``.

    The bidi algorithm's weak and neutral rules (W1-W7, N1-N2, L1) for a paragraph at level 1 with no
    embeddings: Arabic letters at level 1; Latin letters and numbers (with the separators between their
    digits) at level 2; neutrals take the direction of both neighbours when they agree, else the line's.
    ``LRI … PDI`` content is one left-to-right unit (level 2) that counts as a neutral outside; the controls
    themselves are dropped. Mirroring is HarfBuzz's job (right-to-left runs are shaped right to left).
    """
    chars = list(text)
    n = len(chars)
    inside = [False] * n
    depth = 0
    for i, ch in enumerate(chars):
        if ch == PDI and depth:
            depth -= 1
        inside[i] = depth > 0
        if ch == LRI:
            depth += 1
    outer = [i for i in range(n) if not inside[i]]
    types = ["ON" if chars[i] in (LRI, PDI) else (unicodedata.bidirectional(chars[i]) or "ON") for i in outer]
    prev = "R"  # sos: the paragraph's direction
    for k, t in enumerate(types):  # W1: a mark takes its base's type
        if t == "NSM":
            types[k] = prev
        prev = types[k]
    strong = "R"
    for k, t in enumerate(types):  # W2 (EN after AL is AN), W3 (AL is R)
        if t in ("L", "R", "AL"):
            strong = t
        if t == "EN" and strong == "AL":
            types[k] = "AN"
        if t == "AL":
            types[k] = "R"
    for k in range(1, len(types) - 1):  # W4: one separator between two numbers of a kind
        before, t, after = types[k - 1], types[k], types[k + 1]
        if t == "ES" and before == after == "EN" or t == "CS" and before == after and before in ("EN", "AN"):
            types[k] = before
    for k, t in enumerate(types):  # W5: terminators next to a European number
        if t == "ET":
            j = k
            while j < len(types) and types[j] == "ET":
                j += 1
            if (j < len(types) and types[j] == "EN") or (k > 0 and types[k - 1] == "EN"):
                for m in range(k, j):
                    types[m] = "EN"
    types = ["ON" if t in ("ES", "ET", "CS") else t for t in types]  # W6
    strong = "R"
    for k, t in enumerate(types):  # W7: a European number after Latin is Latin
        if t in ("L", "R"):
            strong = t
        if t == "EN" and strong == "L":
            types[k] = "L"
    k = 0
    while k < len(types):  # N1, N2: neutral sequences
        if types[k] in ("L", "R", "EN", "AN"):
            k += 1
            continue
        j = k
        while j < len(types) and types[j] not in ("L", "R", "EN", "AN"):
            j += 1
        before = "R" if k == 0 or types[k - 1] != "L" else "L"
        after = "R" if j == len(types) or types[j] != "L" else "L"
        for m in range(k, j):
            types[m] = before if before == after else "R"
        k = j
    levels = [2] * n
    for k, i in enumerate(outer):
        levels[i] = 1 if types[k] == "R" else 2
    i = n - 1  # L1: trailing white space at the line's level
    while i >= 0 and not inside[i] and (chars[i] in (LRI, PDI) or unicodedata.bidirectional(chars[i]) == "WS"):
        levels[i] = 1
        i -= 1
    runs: list[tuple[str, bool]] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or levels[i] != levels[start]:
            piece = "".join(ch for ch in chars[start:i] if ch not in (LRI, PDI))
            if piece:
                runs.append((piece, levels[start] == 1))
            start = i
    return runs[::-1]


# -- the Arabic font, read once ----------------------------------------------------------------------------------


class ArabicFont:
    """An OpenType/TrueType font with Arabic letters, parsed once; each seal embeds its own subset of it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.data = Path(path).read_bytes()
        tt = ttLib.TTFont(BytesIO(self.data), lazy=True)
        self.cmap = frozenset(tt.getBestCmap() or {})
        if not all(ord(ch) in self.cmap for ch in "\u0627\u0628\u062a\u0644\u0645\u0646\u0647\u0648\u064a"):
            raise ValueError("the font has no Arabic letters")
        self.units_per_em = int(tt["head"].unitsPerEm)
        self.face = hb.Face(self.data)
        # what each seal subsets and embeds: the font without its layout tables (HarfBuzz shapes with the full
        # font; the PDF needs only the glyphs). Subsetting would otherwise decompile GSUB/GPOS on every seal.
        for tag in _SHAPING_ONLY_TABLES:
            if tag in tt:
                del tt[tag]
        out = BytesIO()
        tt.save(out)
        self.glyph_data = out.getvalue()
        # read by every seal, written by none: parsed once (fontTools tables are plain data once loaded)
        self.shared_tt = shared = ttLib.TTFont(BytesIO(self.glyph_data))
        self.ps_name = _read_ps_name(shared)
        self.glyph_set = shared.getGlyphSet(preferCFF=True)
        for name in shared.getGlyphOrder():
            self.glyph_set[name].width  # noqa: B018 - loads hmtx and every glyph's entry now, not in a seal
        self.reverse_cmap = shared["cmap"].buildReversed()
        for tag in ("head", "hhea", "OS/2", "post", "name", "glyf", "loca"):
            shared[tag]  # noqa: B018
        self._subsets: dict[frozenset[int], bytes] = {}
        self._lock = threading.Lock()

    def covers(self, text: str) -> bool:
        return all(ord(ch) in self.cmap for ch in text)

    def measure(self, text: str, rtl: bool) -> float:
        """The advance of ``text`` shaped as one run, in em."""
        buf = hb.Buffer()
        buf.add_str(text)
        buf.direction = "rtl" if rtl else "ltr"
        buf.guess_segment_properties()
        hb.shape(hb.Font(self.face), buf)
        return float(sum(pos.x_advance for pos in buf.glyph_positions)) / self.units_per_em

    def accumulator(self, writer: BasePdfFileWriter, font_size: int) -> GlyphAccumulator:
        return _ArabicAccumulator(writer, self, font_size)

    def subset_program(self, glyphs: frozenset[int]) -> bytes:
        """The embedded font program for this set of glyphs, made once: a seal's Arabic lines differ only by
        their date, so a few glyph sets come back on every seal (subsetting takes longer than signing).
        As pyHanko subsets: glyph ids kept (the content stream's CIDs are glyph ids), no layout tables."""
        with self._lock:
            found = self._subsets.get(glyphs)
        if found is None:
            tt = ttLib.TTFont(BytesIO(self.glyph_data))
            options = subset.Options(layout_closure=False, retain_gids=True)
            subsetter = subset.Subsetter(options=options)
            subsetter.populate(gids=sorted(glyphs))
            subsetter.subset(tt)
            out = BytesIO()
            tt.save(out)
            found = out.getvalue()
            with self._lock:
                if len(self._subsets) >= _SUBSETS_KEPT:
                    self._subsets.clear()
                self._subsets[glyphs] = found
        return found


_loaded: dict[str, ArabicFont | None] = {}
_load_lock = threading.Lock()


def load_arabic_font(path: str | Path | None) -> ArabicFont | None:
    """The Arabic font at ``path``, read once per process; None (logged once) when it is missing or unusable,
    or when ``path`` is empty (Arabic lines turned off)."""
    if not path:
        return None
    key = str(path)
    with _load_lock:
        if key not in _loaded:
            try:
                _loaded[key] = ArabicFont(key)
            except Exception as exc:  # noqa: BLE001 - any unreadable font: the stamp keeps its Latin lines
                log.warning("seal stamp: Arabic font %s unusable (%s: %s); sealed copies carry no Arabic line",
                            key, type(exc).__name__, exc)
                _loaded[key] = None
        return _loaded[key]


class _ArabicAccumulator(GlyphAccumulator):
    """pyHanko's glyph accumulator with a ``/ToUnicode`` that is right for right-to-left runs too: HarfBuzz hands
    them back in visual order (clusters decreasing), which pyHanko 0.38 reads as empty clusters. Its font
    program comes from :meth:`ArabicFont.subset_program`."""

    def __init__(self, writer: BasePdfFileWriter, source: ArabicFont, font_size: int) -> None:
        # GlyphAccumulator.__init__ (pyHanko 0.38) minus parsing the font again: the glyph tables are the
        # source's, parsed once and only read here (the subset is made from a copy, see _extract_subset)
        tt = source.shared_tt
        FontEngine.__init__(self, writer, source.ps_name, embedded_subset=True, font_size=font_size)
        self.source = source
        self.hb_font = hb.Font(source.face)
        self.tt = tt
        self._font_ref = writer.allocate_placeholder()
        self.cff_charset = None
        self.use_raw_gids = True
        self.cidfont_obj = CIDFontType2(tt, source.ps_name, self.subset_prefix)
        self.features = None
        self.units_per_em = source.units_per_em
        self._glyphs: dict[int, tuple[int, int]] = {}
        self._glyph_set = source.glyph_set
        self._cid_to_unicode: dict[int, str] = {}
        self._GlyphAccumulator__reverse_cmap = source.reverse_cmap
        self.ot_language_tag = self.ot_script_tag = None
        self.writing_direction: str | None = None
        self.bcp47_lang_code = None
        self._subset_created = self._write_prepared = False

    def _extract_subset(self, options: Any = None) -> None:
        program = self.source.subset_program(frozenset(self._glyphs))
        cidfont = self.cidfont_obj

        def set_font_file(writer: BasePdfFileWriter) -> generic.IndirectObject:
            stream = generic.StreamObject(stream_data=program)
            stream.compress()
            ref = writer.add_object(stream)
            cidfont._font_descriptor[generic.pdf_name("/FontFile2")] = ref
            return ref

        cidfont.set_font_file = set_font_file  # type: ignore[method-assign]

    def shape(self, txt: str, with_actual_text: bool = True) -> ShapeResult:
        result = super().shape(txt, with_actual_text=with_actual_text)
        if txt and self.writing_direction == "rtl":
            self._map_clusters(txt)
        return result

    def _map_clusters(self, txt: str) -> None:
        buf = hb.Buffer()
        buf.add_str(txt)
        buf.direction = "rtl"
        buf.guess_segment_properties()
        hb.shape(self.hb_font, buf, self.features)
        glyphs: dict[int, list[int]] = {}
        for info in buf.glyph_infos:
            glyphs.setdefault(info.cluster, []).append(info.codepoint)
        starts = sorted(glyphs)
        for k, start in enumerate(starts):
            text = txt[start:starts[k + 1] if k + 1 < len(starts) else len(txt)]
            gids = [g for g in glyphs[start] if g]
            if len(gids) == 1:
                cid, _ = self._get_cid_and_width(gids[0])
                self._cid_to_unicode[cid] = self._one_character(gids[0], text)
                continue
            for gid in gids:  # several glyphs for one cluster: each its own character, when the cmap says which
                cid, _ = self._get_cid_and_width(gid)
                names = self.tt.getGlyphName(gid)
                codepoints = [cp for cp in self._reverse_cmap.get(names, ()) if chr(cp) in text]
                if codepoints:
                    self._cid_to_unicode[cid] = chr(codepoints[0])

    def _one_character(self, gid: int, text: str) -> str:
        """What a glyph stands for: a ligature (lam + alef maksura) as its presentation form when the font maps
        one (U+FC86; NFKC gives the letters back), so that a reader reversing a right-to-left word character by
        character (Poppler does) cannot reverse the letters inside it."""
        if len(text) > 1:
            wanted = unicodedata.normalize("NFKC", text)
            for cp in sorted(self._reverse_cmap.get(self.tt.getGlyphName(gid), ())):
                if unicodedata.normalize("NFKC", chr(cp)) == wanted:
                    return chr(cp)
        return text


# -- the stamp's one font engine ------------------------------------------------------------------------------


class StampFontEngine(FontEngine):
    """Courier for Latin lines; Arabic lines in visual runs, right-aligned to ``width_em``."""

    def __init__(self, writer: BasePdfFileWriter, arabic: ArabicFont | None, width_em: float) -> None:
        super().__init__(writer, "WalletSealStamp", embedded_subset=False)
        self._courier = winansi_courier.create_font_engine(writer)
        self._arabic = arabic
        self._width_em = width_em
        self._accumulator: GlyphAccumulator | None = None

    @property
    def arabic_resource(self) -> generic.PdfObject | None:
        """The embedded Arabic subset, once a line used it (the stamp names it ``/FAr``)."""
        return None if self._accumulator is None else self._accumulator.as_resource()

    def as_resource(self) -> generic.PdfObject:
        resource: generic.PdfObject = self._courier.as_resource()
        return resource

    def shape(self, txt: str) -> ShapeResult:
        if self._arabic is None or not has_rtl(txt):
            ops, advance = self._courier_run(txt)
            return ShapeResult(graphics_ops=ops, x_advance=advance, y_advance=0)
        parts: list[bytes] = []
        total = 0.0
        for run, rtl in visual_runs(txt):
            for piece, in_arabic in self._pieces(run, rtl):
                ops, advance = self._arabic_run(piece, rtl) if in_arabic else self._courier_run(piece)
                parts.append(ops)
                total += advance
        pad = max(0.0, self._width_em - total)
        ops = b"%g 0 Td %s" % (pad * self.font_size, b" ".join(parts))
        return ShapeResult(graphics_ops=ops, x_advance=total + pad, y_advance=0)

    def _pieces(self, run: str, rtl: bool) -> list[tuple[str, bool]]:
        """A run's pieces in visual order, each ``(text, in the Arabic font)``; Courier pieces of a right-to-left
        run are reversed here (HarfBuzz reverses the Arabic ones)."""
        assert self._arabic is not None
        if not rtl:
            return [(run, self._arabic.covers(run))]
        pieces = _coverage_split(run, self._arabic)
        return [(text if covered else text[::-1], covered) for text, covered in reversed(pieces)]

    def _courier_run(self, text: str) -> tuple[bytes, float]:
        data = _winansi(text)
        advance = len(data) * COURIER_ADVANCE
        return (b"%s %d Tf %s Tj %g 0 Td" % (_COURIER_RESOURCE, self.font_size, pdf_literal(data),
                                               advance * self.font_size), advance)

    def _arabic_run(self, text: str, rtl: bool) -> tuple[bytes, float]:
        assert self._arabic is not None
        if self._accumulator is None:  # made on first use: a stamp without Arabic embeds no font
            self._accumulator = self._arabic.accumulator(self.writer, self.font_size)
        acc = self._accumulator
        acc.font_size = self.font_size
        acc.writing_direction = "rtl" if rtl else "ltr"
        result = acc.shape(text, with_actual_text=False)
        return b"%s %d Tf %s" % (ARABIC_RESOURCE.encode(), self.font_size, result.graphics_ops), result.x_advance


def line_width_em(line: str, arabic: ArabicFont | None) -> float:
    """How wide :class:`StampFontEngine` draws ``line``, in em (before right-alignment)."""
    if arabic is None or not has_rtl(line):
        return len(_winansi(line)) * COURIER_ADVANCE
    total = 0.0
    for run, rtl in visual_runs(line):
        if not rtl:
            total += arabic.measure(run, False) if arabic.covers(run) else len(_winansi(run)) * COURIER_ADVANCE
            continue
        for ch_run, covered in _coverage_split(run, arabic):
            total += arabic.measure(ch_run, True) if covered else len(_winansi(ch_run)) * COURIER_ADVANCE
    return total


def _coverage_split(run: str, arabic: ArabicFont) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    for ch in run:
        covered = arabic.covers(ch)
        if pieces and pieces[-1][1] == covered:
            pieces[-1] = (pieces[-1][0] + ch, covered)
        else:
            pieces.append((ch, covered))
    return pieces


class StampFontFactory(FontEngineFactory):
    """Makes the stamp's :class:`StampFontEngine` (one per seal: it holds that seal's Arabic subset)."""

    def __init__(self, arabic: ArabicFont | None, width_em: float) -> None:
        self.arabic = arabic
        self.width_em = width_em

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: Any = None) -> StampFontEngine:
        return StampFontEngine(writer, self.arabic, self.width_em)
