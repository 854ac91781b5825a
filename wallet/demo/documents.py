"""Demo administrative documents: one-page A4 PDFs that look like Moroccan certificates.

:func:`make_document_pdf` returns an UNSIGNED PDF (the issuing agency signs it afterwards, and a
shared copy later gets a seal with a QR code stamped in the bottom band, which is left empty:
nothing is drawn below :data:`FREE_BOTTOM` points).

Text rendering:

* Latin text uses the standard (non-embedded) Helvetica fonts with ``WinAnsiEncoding``; their
  metrics are tabulated below, so text can be measured, centred and wrapped.
* Arabic text is shaped with HarfBuzz (``uharfbuzz``) using Noto Naskh Arabic (DejaVu Sans as a
  fallback), and embedded as a Type0/CIDFontType2 font with ``Identity-H`` encoding and a
  ``ToUnicode`` map.  The font program is subset per document (only the glyphs drawn, glyph ids
  kept) by a small TrueType subsetter working on the raw tables: a few hundred microseconds,
  a few KB per font.  Fonts are parsed once per process.
* Mixed Arabic/Latin strings get a minimal bidi treatment (strong-direction runs, visual order
  of the runs reversed in right-to-left paragraphs).

Body lines (``body_lines_fr``) use a light markup, which :func:`demo_body` produces:

* ``"# Heading"``: a section heading;
* ``"A | B | C"``: a table row (consecutive rows form a table, the first row is its header);
* ``"Label : value"`` (label of at most 40 characters): a label/value row, labels aligned;
* ``""``: a small vertical gap;
* anything else: a paragraph, wrapped to the page width.

The output is deterministic: the same arguments give the same bytes (no clock, no randomness;
:func:`demo_body` draws from the ``rng`` it is given).
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import random
import re
import struct
import threading
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["FREE_BOTTOM", "PAGE_HEIGHT", "PAGE_WIDTH", "demo_body", "make_document_pdf"]

PAGE_WIDTH = 595.0  # A4, points
PAGE_HEIGHT = 842.0
#: The bottom band (points) left empty for the seal and its QR code.
FREE_BOTTOM = 150.0

_MARGIN = 50.0
_CONTENT_W = PAGE_WIDTH - 2 * _MARGIN

# --------------------------------------------------------------------------- Helvetica metrics
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
class _Latin:
    res: str  # resource name
    base: str  # BaseFont
    widths: tuple[int, ...]  # codes 32..255

    @property
    def table(self) -> tuple[int, ...]:  # codes 0..255
        return _TABLES[self.base]


_F_REG = _Latin("F1", "Helvetica", _HELV)
_F_BOLD = _Latin("F2", "Helvetica-Bold", _HELV_BOLD)
_F_ITAL = _Latin("F3", "Helvetica-Oblique", _HELV)  # same metrics as the roman
_LATIN_FONTS = (_F_REG, _F_BOLD, _F_ITAL)
_TABLES = {f.base: (0,) * 32 + f.widths for f in _LATIN_FONTS}


def _latin_bytes(text: str) -> bytes:
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


def _latin_width(data: bytes, font: _Latin, size: float) -> float:
    return sum(map(font.table.__getitem__, data)) * size / 1000.0


_ESCAPES = {ord("\\"): b"\\\\", ord("("): b"\\(", ord(")"): b"\\)", ord("\r"): b"\\r", ord("\n"): b"\\n"}


def _pdf_literal(data: bytes) -> bytes:
    if not any(b in _ESCAPES for b in data):
        return b"(" + data + b")"
    return b"(" + b"".join(_ESCAPES.get(b, bytes((b,))) for b in data) + b")"


# --------------------------------------------------------------------------- TrueType + HarfBuzz

_FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"),
              Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"))
_ARABIC_CANDIDATES = {
    "regular": ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabicUI-Regular.ttf", "DejaVuSans.ttf"),
    "bold": ("NotoNaskhArabic-Bold.ttf", "NotoNaskhArabicUI-Bold.ttf", "DejaVuSans-Bold.ttf"),
}
# tables a PDF TrueType font program needs (ISO 32000 9.9); glyph positioning is done by HarfBuzz
_KEEP_TABLES = ("OS/2", "cvt ", "fpgm", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "post", "prep")


def _checksum(data: bytes) -> int:
    if len(data) % 4:
        data += b"\0" * (4 - len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


@dataclass
class _Shaped:
    """A shaped right-to-left run, glyphs in visual (left-to-right) order; units: font units."""
    font: _ArabicFont
    glyphs: list[tuple[int, int, int, int]]  # gid, x_advance, x_offset, y_offset
    advance: int
    text_of: dict[int, tuple[int, str]]  # gid -> (confidence, the characters it stands for) for ToUnicode

    def width(self, size: float) -> float:
        return self.advance * size / self.font.upem


class _ArabicFont:
    """A TrueType font with Arabic glyphs: parsed once, shaped with HarfBuzz, subset per document."""

    def __init__(self, path: Path, res: str) -> None:
        import uharfbuzz as hb

        self.path = path
        self.res = res
        data = path.read_bytes()
        self.ps_name = re.sub(r"[^A-Za-z0-9-]", "", path.stem) or "ArabicFont"
        if data[:4] not in (b"\x00\x01\x00\x00", b"true"):
            raise ValueError(f"{path}: not a TrueType (glyf) font")
        n_tables = struct.unpack(">H", data[4:6])[0]
        self.tables: dict[str, bytes] = {}
        for i in range(n_tables):
            tag, _cs, off, length = struct.unpack(">4sIII", data[12 + 16 * i: 28 + 16 * i])
            self.tables[tag.decode("latin-1")] = data[off: off + length]
        head, hhea, maxp = self.tables["head"], self.tables["hhea"], self.tables["maxp"]
        self.upem = struct.unpack(">H", head[18:20])[0]
        self.bbox = struct.unpack(">hhhh", head[36:44])
        loc_format = struct.unpack(">h", head[50:52])[0]
        self.num_glyphs = struct.unpack(">H", maxp[4:6])[0]
        self.n_hmetrics = struct.unpack(">H", hhea[34:36])[0]
        self.ascent, self.descent = struct.unpack(">hh", hhea[4:8])
        os2 = self.tables.get("OS/2", b"")
        self.cap_height = struct.unpack(">h", os2[88:90])[0] if len(os2) >= 90 else self.ascent
        if not self.cap_height:
            self.cap_height = int(self.ascent * 0.7)
        n = self.num_glyphs
        loca = self.tables["loca"]
        if loc_format == 0:
            offsets = [o * 2 for o in struct.unpack(f">{n + 1}H", loca[: 2 * (n + 1)])]
        else:
            offsets = list(struct.unpack(f">{n + 1}I", loca[: 4 * (n + 1)]))
        glyf = self.tables["glyf"]
        self.glyph_data = [glyf[offsets[i]: offsets[i + 1]] for i in range(n)]
        self.components = [self._components(g) for g in self.glyph_data]
        hmtx = self.tables["hmtx"]
        adv = list(struct.unpack(f">{self.n_hmetrics * 2}H", hmtx[: 4 * self.n_hmetrics])[0::2])
        self.advances = adv + [adv[-1]] * (n - self.n_hmetrics)
        self.cmap_face = hb.Face(hb.Blob(data))
        self.hb_font = hb.Font(self.cmap_face)
        self.coverage = frozenset(self.cmap_face.unicodes)
        self._subset_cache: dict[frozenset[int], bytes] = {}
        self._shape_cache: dict[str, _Shaped] = {}  # (read-only results)
        self._lock = threading.Lock()

    @staticmethod
    def _components(g: bytes) -> tuple[int, ...]:
        if len(g) < 10 or struct.unpack(">h", g[:2])[0] >= 0:
            return ()
        out, pos = [], 10
        while True:
            flags, gid = struct.unpack(">HH", g[pos: pos + 4])
            out.append(gid)
            pos += 4 + (4 if flags & 0x0001 else 2)
            if flags & 0x0008:
                pos += 2
            elif flags & 0x0040:
                pos += 4
            elif flags & 0x0080:
                pos += 8
            if not flags & 0x0020:
                return tuple(out)

    def shape(self, text: str) -> _Shaped:
        shaped = self._shape_cache.get(text)
        if shaped is None:
            shaped = self._shape(text)
            if len(self._shape_cache) > 4096:
                self._shape_cache.clear()
            self._shape_cache[text] = shaped
        return shaped

    def _shape(self, text: str) -> _Shaped:
        import uharfbuzz as hb

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
        return _Shaped(self, glyphs, total, self._attribute(text, by_cluster))

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

    # -- subsetting ---------------------------------------------------------------------------

    def subset(self, gids: Iterable[int]) -> bytes:
        """A TrueType font program holding only ``gids`` (and their components); ids unchanged."""
        key = frozenset(gids)
        cached = self._subset_cache.get(key)
        if cached is not None:
            return cached
        keep = {0}
        stack = [g for g in key if 0 <= g < self.num_glyphs]
        while stack:
            g = stack.pop()
            if g not in keep:
                keep.add(g)
                stack.extend(self.components[g])
        n = max(keep) + 1
        glyf = bytearray()
        offsets = []
        for gid in range(n):
            offsets.append(len(glyf))
            if gid in keep:
                data = self.glyph_data[gid]
                glyf += data
                if len(data) % 4:
                    glyf += b"\0" * (4 - len(data) % 4)
        offsets.append(len(glyf))
        t = self.tables
        nhm = min(self.n_hmetrics, n)
        hmtx = t["hmtx"][: 4 * nhm]
        if n > nhm:
            hmtx += t["hmtx"][4 * self.n_hmetrics: 4 * self.n_hmetrics + 2 * (n - nhm)]
        new = {
            "glyf": bytes(glyf),
            "loca": struct.pack(f">{n + 1}I", *offsets),
            "hmtx": hmtx,
            "maxp": t["maxp"][:4] + struct.pack(">H", n) + t["maxp"][6:],
            "hhea": t["hhea"][:34] + struct.pack(">H", nhm),
            "head": t["head"][:8] + b"\0\0\0\0" + t["head"][12:50] + struct.pack(">h", 1) + t["head"][52:54],
        }
        if "post" in t:
            new["post"] = b"\x00\x03\x00\x00" + t["post"][4:32]
        tables = {tag: new[tag] if tag in new else t[tag] for tag in _KEEP_TABLES if tag in new or tag in t}
        font = self._assemble(tables)
        with self._lock:
            if len(self._subset_cache) > 512:
                self._subset_cache.clear()
            self._subset_cache[key] = font
        return font

    @staticmethod
    def _assemble(tables: dict[str, bytes]) -> bytes:
        tags = sorted(tables)
        num = len(tags)
        entry_selector = max(k for k in range(16) if 2 ** k <= num)
        search_range = 16 * 2 ** entry_selector
        header = struct.pack(">IHHHH", 0x00010000, num, search_range, entry_selector, num * 16 - search_range)
        directory, body = bytearray(), bytearray()
        offset = 12 + 16 * num
        head_at = 0
        for tag in tags:
            data = tables[tag]
            if tag == "head":
                head_at = offset + len(body)
            directory += struct.pack(">4sIII", tag.encode("latin-1"), _checksum(data), offset + len(body), len(data))
            body += data
            if len(data) % 4:
                body += b"\0" * (4 - len(data) % 4)
        font = bytearray(header + directory + body)
        adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
        font[head_at + 8: head_at + 12] = struct.pack(">I", adjustment)
        return bytes(font)


_fonts_lock = threading.Lock()
_fonts: dict[str, _ArabicFont] = {}


def _arabic_font(weight: str) -> _ArabicFont:
    """The Arabic font of that weight ("regular" or "bold"), parsed once per process."""
    font = _fonts.get(weight)
    if font is not None:
        return font
    with _fonts_lock:
        if weight not in _fonts:
            for name in _ARABIC_CANDIDATES[weight]:
                path = next((d / name for d in _FONT_DIRS if (d / name).is_file()), None)
                if path is not None:
                    _fonts[weight] = _ArabicFont(path, "A1" if weight == "regular" else "A2")
                    break
            else:
                raise RuntimeError(
                    "no font with Arabic glyphs found: install fonts-noto-core (Noto Naskh Arabic) "
                    "or fonts-dejavu-core")
        return _fonts[weight]


# --------------------------------------------------------------------------- bidi (minimal)

_ARABIC = re.compile("[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def _is_arabic(ch: str) -> bool:
    return _ARABIC.match(ch) is not None


def _has_arabic(text: str) -> bool:
    return _ARABIC.search(text) is not None


def _strong(ch: str) -> str | None:
    if _is_arabic(ch):
        # Arabic-Indic digits are weak, but they live happily inside an Arabic run
        return "R"
    if ch.isalnum():
        return "L"
    return None


def _visual_runs(text: str) -> tuple[bool, list[tuple[bool, str]]]:
    """(paragraph is RTL, [(run is Arabic, run text)] in visual left-to-right order)."""
    kinds = [_strong(ch) for ch in text]
    first = next((k for k in kinds if k), "L")
    rtl = first == "R"
    # neutrals take the direction of their strong neighbours when both agree, else the paragraph's
    resolved: list[str] = []
    n = len(text)
    for i, k in enumerate(kinds):
        if k:
            resolved.append(k)
            continue
        before = next((kinds[j] for j in range(i - 1, -1, -1) if kinds[j]), None)
        after = next((kinds[j] for j in range(i + 1, n) if kinds[j]), None)
        resolved.append(before if before is not None and before == after else first)
    runs: list[tuple[bool, str]] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or resolved[i] != resolved[start]:
            runs.append((resolved[start] == "R", text[start:i]))
            start = i
    if rtl:
        runs.reverse()
    return rtl, runs


# --------------------------------------------------------------------------- the page canvas

def _num(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


@dataclass
class _Canvas:
    ops: list[str] = field(default_factory=list)
    used: dict[str, dict[int, str]] = field(default_factory=dict)  # font res -> gid -> text
    confidence: dict[str, dict[int, int]] = field(default_factory=dict)

    # -- graphics
    def raw(self, *ops: str) -> None:
        self.ops.extend(ops)

    def fill_rgb(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{_num(r)} {_num(g)} {_num(b)} rg")

    def stroke_rgb(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{_num(r)} {_num(g)} {_num(b)} RG")

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float) -> None:
        self.ops.append(f"{_num(width)} w {_num(x0)} {_num(y0)} m {_num(x1)} {_num(y1)} l S")

    def rect(self, x: float, y: float, w: float, h: float, op: str) -> None:
        self.ops.append(f"{_num(x)} {_num(y)} {_num(w)} {_num(h)} re {op}")

    def circle(self, cx: float, cy: float, r: float, op: str) -> None:
        k = 0.5523 * r
        n = _num
        self.ops.append(
            f"{n(cx + r)} {n(cy)} m "
            f"{n(cx + r)} {n(cy + k)} {n(cx + k)} {n(cy + r)} {n(cx)} {n(cy + r)} c "
            f"{n(cx - k)} {n(cy + r)} {n(cx - r)} {n(cy + k)} {n(cx - r)} {n(cy)} c "
            f"{n(cx - r)} {n(cy - k)} {n(cx - k)} {n(cy - r)} {n(cx)} {n(cy - r)} c "
            f"{n(cx + k)} {n(cy - r)} {n(cx + r)} {n(cy - k)} {n(cx + r)} {n(cy)} c {op}")

    def polygon(self, pts: list[tuple[float, float]], op: str) -> None:
        head, *rest = pts
        self.ops.append(f"{_num(head[0])} {_num(head[1])} m "
                        + " ".join(f"{_num(x)} {_num(y)} l" for x, y in rest) + f" h {op}")

    # -- text
    def latin(self, text: str, x: float, y: float, font: _Latin, size: float) -> float:
        data = _latin_bytes(text)
        self.ops.append(f"BT /{font.res} {_num(size)} Tf {_num(x)} {_num(y)} Td "
                        + _pdf_literal(data).decode("latin-1") + " Tj ET")
        return _latin_width(data, font, size)

    def arabic(self, run: _Shaped, x: float, y: float, size: float) -> float:
        font = run.font
        used = self.used.setdefault(font.res, {})
        best = self.confidence.setdefault(font.res, {})
        for gid, (confidence, txt) in run.text_of.items():
            if gid not in best or best[gid] < confidence:
                best[gid] = confidence
                used[gid] = txt
        scale = 1000.0 / font.upem
        parts = [f"BT /{font.res} {_num(size)} Tf {_num(x)} {_num(y)} Td"]
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
                parts.append(f"{_num(yoff * size / font.upem)} Ts")
            pending -= xoff * scale
            if abs(pending) > 0.005:
                tj.append(_num(pending))
            tj.append(f"<{gid:04X}>")
            pending = -(adv - xoff - font.advances[gid]) * scale
        if tj:
            parts.append("[" + " ".join(tj) + "] TJ")
        if rise:
            parts.append("0 Ts")
        parts.append("ET")
        self.ops.append(" ".join(parts))
        return run.width(size)

    def text(self, text: str, x: float, y: float, size: float, *, bold: bool = False,
             italic: bool = False, align: str = "left") -> float:
        """Draws mixed Latin/Arabic ``text``; ``align``: left (x = left edge), right, center."""
        width, pieces = _measure(text, size, bold=bold, italic=italic)
        if align == "right":
            x -= width
        elif align == "center":
            x -= width / 2
        for piece, w in pieces:
            if isinstance(piece, _Shaped):
                self.arabic(piece, x, y, size)
            else:
                self.latin(piece[1], x, y, piece[0], size)
            x += w
        return width


def _latin_font(bold: bool, italic: bool) -> _Latin:
    return _F_BOLD if bold else (_F_ITAL if italic else _F_REG)


def _measure(text: str, size: float, *, bold: bool = False, italic: bool = False
             ) -> tuple[float, list[tuple[_Shaped | tuple[_Latin, str], float]]]:
    lf = _latin_font(bold, italic)
    if not _has_arabic(text):
        w = _latin_width(_latin_bytes(text), lf, size)
        return w, [((lf, text), w)]
    af = _arabic_font("bold" if bold else "regular")
    pieces: list[tuple[_Shaped | tuple[_Latin, str], float]] = []
    for is_ar, run in _visual_runs(text)[1]:
        if not is_ar:
            pieces.append(((lf, run), _latin_width(_latin_bytes(run), lf, size)))
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
                pieces.append(((lf, mirrored), _latin_width(_latin_bytes(mirrored), lf, size)))
    return sum(w for _, w in pieces), pieces


_MIRROR = str.maketrans("()[]{}<>", ")(][}{><")


def _text_width(text: str, size: float, *, bold: bool = False, italic: bool = False) -> float:
    return _measure(text, size, bold=bold, italic=italic)[0]


def _wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Greedy word wrap (logical order: for Arabic the first line holds the first words)."""
    words = text.split()
    if not words:
        return [""]
    if not _has_arabic(text):
        return _wrap_latin(words, width, size, bold=bold)
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if not current or _text_width(candidate, size, bold=bold) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def _wrap_latin(words: list[str], width: float, size: float, *, bold: bool) -> list[str]:
    font = _latin_font(bold, False)
    space = _latin_width(b" ", font, size)
    lines: list[str] = []
    current: list[str] = []
    current_w = 0.0
    for word in words:
        ww = _latin_width(_latin_bytes(word), font, size)
        if current and current_w + space + ww <= width:
            current.append(word)
            current_w += space + ww
            continue
        if current:
            lines.append(" ".join(current))
        while ww > width and len(word) > 1:  # a single word wider than the line: hard break
            cut = len(word) - 1
            while cut > 1 and _latin_width(_latin_bytes(word[:cut]), font, size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
            ww = _latin_width(_latin_bytes(word), font, size)
        current, current_w = [word], ww
    lines.append(" ".join(current))
    return lines


# --------------------------------------------------------------------------- page parts

_RED = (0.76, 0.11, 0.16)
_GREEN = (0.0, 0.42, 0.24)
_GOLD = (0.80, 0.63, 0.20)
_INK = (0.08, 0.09, 0.12)
_GREY = (0.40, 0.42, 0.45)

_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre")
_CITY = {"OMPIC": "Casablanca"}


def _date(d: datetime) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def _long_date(d: datetime) -> str:
    return f"{'1er' if d.day == 1 else d.day} {_MONTHS_FR[d.month - 1]} {d.year}"


def _emblem(c: _Canvas, cx: float, cy: float) -> None:
    """A simple heraldic emblem: crown, gold ring, red disc with the green pentagram, laurels."""
    import math

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
            c.raw(f"q {_num(ca)} {_num(sa)} {_num(-sa)} {_num(ca)} {_num(x)} {_num(y)} cm")
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
    c = _Canvas()
    _emblem(c, PAGE_WIDTH / 2, 778)
    return tuple(c.ops)


def _letterhead(c: _Canvas, agency_name: str, agency_name_ar: str) -> float:
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
    for line in _wrap(agency_name, col_w, 9.5)[:3]:
        c.text(line, left_cx, y, 9.5, align="center")
        y -= 11.5
    y = 777.0
    for line in _wrap(agency_name_ar, col_w, 12)[:3]:
        c.text(line, right_cx, y, 12, align="center")
        y -= 16
    c.stroke_rgb(*_RED)
    c.line(_MARGIN, 738, PAGE_WIDTH - _MARGIN, 738, 1.3)
    c.stroke_rgb(*_GREEN)
    c.line(_MARGIN, 735, PAGE_WIDTH - _MARGIN, 735, 0.6)
    return 735.0


# -- body layout: a list of drawing steps, measured first so that the body can be scaled to fit

@dataclass
class _Step:
    height: float
    draw: object  # callable(canvas, y_top)


def _body_steps(lines: list[str], scale: float) -> list[_Step]:
    size = 10.5 * scale
    lead = 14.5 * scale
    steps: list[_Step] = []
    # one label column for the whole body, so that label/value rows line up from group to group
    labels = [m.group(1).strip() for m in map(_KV.match, (ln.rstrip() for ln in lines
                                                         if " | " not in ln and not ln.startswith("# "))) if m]
    label_w = min(190.0, max((_text_width(f"{k} :", size, bold=True) for k in labels), default=0) + 14 * scale)
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            steps.append(_Step(lead * 0.5, lambda c, y: None))
            i += 1
        elif line.startswith("# "):
            title = line[2:].strip()
            hs = 11.5 * scale

            def draw_heading(c: _Canvas, y: float, title: str = title, hs: float = hs) -> None:
                c.fill_rgb(*_GREEN)
                w = c.text(title, _MARGIN, y - hs - 3 * scale, hs, bold=True)
                c.stroke_rgb(*_GREEN)
                c.line(_MARGIN, y - hs - 6 * scale, _MARGIN + max(w, 40), y - hs - 6 * scale, 0.5)
                c.fill_rgb(*_INK)

            steps.append(_Step(hs + 12 * scale, draw_heading))
            i += 1
        elif " | " in line:
            rows = []
            while i < len(lines) and " | " in lines[i]:
                rows.append([cell.strip() for cell in lines[i].split(" | ")])
                i += 1
            steps.extend(_table_steps(rows, size, scale))
        elif _KV.match(line):
            group = []
            while i < len(lines) and _KV.match(lines[i].rstrip()):
                m = _KV.match(lines[i].rstrip())
                assert m is not None
                group.append((m.group(1).strip(), m.group(2).strip()))
                i += 1
            for label, value in group:
                wrapped = _wrap(value, _CONTENT_W - label_w, size)

                def draw_kv(c: _Canvas, y: float, label: str = label, wrapped: list[str] = wrapped,
                            label_w: float = label_w) -> None:
                    base = y - size - 1.5 * scale
                    c.text(f"{label} :", _MARGIN, base, size, bold=True)
                    for k, part in enumerate(wrapped):
                        c.text(part, _MARGIN + label_w, base - k * lead, size)

                steps.append(_Step(lead * len(wrapped) + 1.5 * scale, draw_kv))
        else:
            for part in _wrap(line, _CONTENT_W, size):
                steps.append(_Step(lead, lambda c, y, part=part: c.text(part, _MARGIN, y - size - 1.5 * scale, size)))
            steps.append(_Step(3 * scale, lambda c, y: None))
            i += 1
    return steps


_KV = re.compile(r"^([^:|]{1,40}?) : (.+)$")
_NUMERIC = re.compile(r"^[\d\s.,/%+-]+$")


def _table_steps(rows: list[list[str]], size: float, scale: float) -> list[_Step]:
    ncol = max(len(r) for r in rows)
    rows = [r + [""] * (ncol - len(r)) for r in rows]
    pad = 6 * scale
    natural = [max(_text_width(r[k], size, bold=(j == 0)) for j, r in enumerate(rows)) + 2 * pad for k in range(ncol)]
    extra = _CONTENT_W - sum(natural)
    widths = list(natural)
    if extra >= 0:
        widths[0] += extra
    else:
        widths = [w * _CONTENT_W / sum(natural) for w in natural]
    row_h = size + 7 * scale
    steps: list[_Step] = []
    for j, row in enumerate(rows):
        def draw_row(c: _Canvas, y: float, row: list[str] = row, header: bool = j == 0,
                     last: bool = j == len(rows) - 1) -> None:
            if header:
                c.fill_rgb(0.88, 0.93, 0.90)
                c.rect(_MARGIN, y - row_h, _CONTENT_W, row_h, "f")
            c.stroke_rgb(0.55, 0.58, 0.60)
            c.line(_MARGIN, y - row_h, _MARGIN + _CONTENT_W, y - row_h, 0.8 if (header or last) else 0.3)
            if header:
                c.line(_MARGIN, y, _MARGIN + _CONTENT_W, y, 0.8)
            c.fill_rgb(*_INK)
            x = _MARGIN
            base = y - row_h + 2.4 * scale + 0.25 * size
            for k, cell in enumerate(row):
                w = widths[k]
                if k == 0:
                    c.text(cell, x + pad, base, size, bold=header)
                else:
                    c.text(cell, x + w / 2, base, size, bold=header, align="center")
                x += w

        steps.append(_Step(row_h, draw_row))
    steps.append(_Step(6 * scale, lambda c, y: None))
    return steps


def _info_box(c: _Canvas, y_top: float, rows: list[tuple[str, str, str]]) -> float:
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


# --------------------------------------------------------------------------- PDF serialisation

def _pdf_text_string(text: str) -> str:
    try:
        data = text.encode("ascii")
        return _pdf_literal(data).decode("ascii")
    except UnicodeEncodeError:
        return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _pdf_date(d: datetime) -> str:
    s = f"D:{d.year:04d}{d.month:02d}{d.day:02d}{d.hour:02d}{d.minute:02d}{d.second:02d}"
    off = d.utcoffset()
    if off is None:
        return s
    minutes = int(off.total_seconds() // 60)
    if minutes == 0:
        return s + "Z"
    sign = "+" if minutes > 0 else "-"
    minutes = abs(minutes)
    return s + f"{sign}{minutes // 60:02d}'{minutes % 60:02d}'"


def _to_unicode_cmap(used: dict[int, str]) -> bytes:
    entries = []
    for gid in sorted(used):
        text = used[gid]
        if not text:
            continue
        entries.append(f"<{gid:04X}> <{text.encode('utf-16-be').hex().upper()}>")
    body = []
    for k in range(0, len(entries), 100):
        chunk = entries[k: k + 100]
        body.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(body) + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


class _Writer:
    def __init__(self) -> None:
        self.objects: list[bytes] = []

    def reserve(self) -> int:
        self.objects.append(b"")
        return len(self.objects)

    def set(self, num: int, body: bytes | str) -> None:
        self.objects[num - 1] = body.encode("latin-1") if isinstance(body, str) else body

    def add(self, body: bytes | str) -> int:
        num = self.reserve()
        self.set(num, body)
        return num

    def stream(self, data: bytes, extra: str = "", compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 6)
            extra = "/Filter /FlateDecode " + extra
        return self.add(f"<< {extra}/Length {len(data)} >>\nstream\n".encode("latin-1") + data + b"\nendstream")

    def finish(self, root: int, info: int) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for num, body in enumerate(self.objects, start=1):
            offsets.append(len(out))
            out += f"{num} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
        xref_at = len(out)
        doc_id = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().upper()  # the PDF /ID, not security
        out += f"xref\n0 {len(self.objects) + 1}\n0000000000 65535 f \n".encode("ascii")
        out += b"".join(f"{o:010d} 00000 n \n".encode("ascii") for o in offsets)
        out += (f"trailer\n<< /Size {len(self.objects) + 1} /Root {root} 0 R /Info {info} 0 R "
                f"/ID [<{doc_id}> <{doc_id}>] >>\nstartxref\n{xref_at}\n%%EOF\n").encode("ascii")
        return bytes(out)


def _embed_arabic(w: _Writer, font: _ArabicFont, used: dict[int, str]) -> int:
    gids = sorted(set(used) | {0})
    program = font.subset(gids)
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(
        font.ps_name.encode() + b"|" + ",".join(map(str, gids)).encode()).digest()[:6])
    name = f"{tag}+{font.ps_name}"
    scale = 1000.0 / font.upem
    ff = w.stream(program, f"/Length1 {len(program)} ")
    x0, y0, x1, y1 = (round(v * scale) for v in font.bbox)
    desc = w.add(f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{x0} {y0} {x1} {y1}] "
                 f"/ItalicAngle 0 /Ascent {round(font.ascent * scale)} /Descent {round(font.descent * scale)} "
                 f"/CapHeight {round(font.cap_height * scale)} /StemV 80 /FontFile2 {ff} 0 R >>")
    widths = " ".join(f"{g} [{_num(font.advances[g] * scale)}]" for g in gids)
    cid = w.add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
                f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                f"/FontDescriptor {desc} 0 R /DW 1000 /W [{widths}] /CIDToGIDMap /Identity >>")
    tounicode = w.stream(_to_unicode_cmap(used))
    return w.add(f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                 f"/DescendantFonts [{cid} 0 R] /ToUnicode {tounicode} 0 R >>")


# --------------------------------------------------------------------------- public API

def make_document_pdf(*, agency_code: str, agency_name: str, agency_name_ar: str, doc_type: str,
                      type_name_fr: str, type_name_ar: str, holder_name: str, holder_id: str,
                      reference: str, issued_at: datetime, expires_at: datetime | None,
                      body_lines_fr: list[str] | None = None) -> bytes:
    """An unsigned one-page A4 certificate, as PDF bytes (deterministic for given arguments).

    ``body_lines_fr`` defaults to :func:`demo_body` seeded with ``reference``.  Nothing is drawn
    in the bottom :data:`FREE_BOTTOM` points (the sealing stamp goes there).
    """
    if body_lines_fr is None:
        body_lines_fr = demo_body(doc_type, holder_name, random.Random(reference))  # noqa: S311 - demo content
    c = _Canvas()
    y = _letterhead(c, agency_name, agency_name_ar)

    # title, French then Arabic
    c.fill_rgb(*_INK)
    title_size = 18.0
    while title_size > 11 and _text_width(type_name_fr, title_size, bold=True) > _CONTENT_W:
        title_size -= 1
    c.text(type_name_fr, PAGE_WIDTH / 2, y - 32, title_size, bold=True, align="center")
    ar_size = 18.0
    while ar_size > 11 and _text_width(type_name_ar, ar_size, bold=True) > _CONTENT_W:
        ar_size -= 1
    c.fill_rgb(*_GREEN)
    c.text(type_name_ar, PAGE_WIDTH / 2, y - 58, ar_size, bold=True, align="center")
    c.fill_rgb(*_INK)

    rows = [
        ("Référence", reference, "المرجع"),
        ("Titulaire", holder_name, "الاسم الكامل"),
        ("N° CNIE", holder_id, "رقم البطاقة الوطنية"),
        ("Date de délivrance", _date(issued_at), "تاريخ الإصدار"),
        ("Valable jusqu'au", _date(expires_at) if expires_at else "Sans limitation de durée", "صالح إلى غاية"),
    ]
    y = _info_box(c, y - 76, rows) - 16

    # the body, scaled down if needed so that it ends above the footer
    closing = 44.0
    floor = FREE_BOTTOM + 42.0 + closing
    chosen: list[_Step] = []
    for scale in (1.0, 0.94, 0.88, 0.82, 0.76, 0.7):
        chosen = _body_steps(body_lines_fr, scale)
        if sum(s.height for s in chosen) <= y - floor:
            break
    for step in chosen:
        if y - step.height < floor:
            c.fill_rgb(*_GREY)
            c.text("[…]", _MARGIN, y - 10, 9)
            y -= 12
            break
        step.draw(c, y)  # type: ignore[operator]
        y -= step.height

    # closing: place, date, issuer
    city = _CITY.get(agency_code, "Rabat")
    c.fill_rgb(*_INK)
    x_right = PAGE_WIDTH - _MARGIN
    c.text(f"Fait à {city}, le {_long_date(issued_at)}", x_right, y - 16, 10, align="right")
    c.fill_rgb(*_GREY)
    c.text(f"Signé électroniquement par : {agency_name}", x_right, y - 30, 8.5, italic=True, align="right")

    # footer, just above the free band
    c.stroke_rgb(0.6, 0.6, 0.6)
    c.line(_MARGIN, FREE_BOTTOM + 30, PAGE_WIDTH - _MARGIN, FREE_BOTTOM + 30, 0.5)
    c.fill_rgb(*_GREY)
    c.text("Document délivré électroniquement — DEMO, sans valeur légale", PAGE_WIDTH / 2, FREE_BOTTOM + 18,
           9, italic=True, align="center")
    c.text(f"Réf. {reference} · {agency_code} · {doc_type} · page 1/1", PAGE_WIDTH / 2, FREE_BOTTOM + 6, 7.5,
           align="center")

    # -- serialise
    w = _Writer()
    catalog, pages, page = w.reserve(), w.reserve(), w.reserve()
    content = w.stream("\n".join(c.ops).encode("latin-1"))
    font_refs = []
    for lf in _LATIN_FONTS:
        num = w.add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{lf.base} /Encoding /WinAnsiEncoding >>")
        font_refs.append(f"/{lf.res} {num} 0 R")
    for weight in ("regular", "bold"):
        font = _fonts.get(weight)
        if font is not None and font.res in c.used:
            font_refs.append(f"/{font.res} {_embed_arabic(w, font, c.used[font.res])} 0 R")
    w.set(catalog, f"<< /Type /Catalog /Pages {pages} 0 R /Lang (fr-MA) >>")
    w.set(pages, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>")
    w.set(page, f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {_num(PAGE_WIDTH)} {_num(PAGE_HEIGHT)}] "
                f"/Resources << /Font << {' '.join(font_refs)} >> /ProcSet [/PDF /Text] >> "
                f"/Contents {content} 0 R >>")
    info = w.add(
        f"<< /Title {_pdf_text_string(f'{type_name_fr} — {reference}')} "
        f"/Author {_pdf_text_string(agency_name)} /Subject {_pdf_text_string(f'{doc_type} / {holder_name}')} "
        f"/Creator (citizen-wallet demo) /Producer (citizen-wallet demo) "
        f"/CreationDate ({_pdf_date(issued_at)}) /ModDate ({_pdf_date(issued_at)}) >>")
    return w.finish(catalog, info)


# --------------------------------------------------------------------------- demo content

_CITIES = ("Rabat", "Casablanca", "Fès", "Marrakech", "Tanger", "Meknès", "Agadir", "Oujda", "Kénitra",
           "Tétouan", "Salé", "El Jadida", "Béni Mellal", "Nador", "Safi", "Laâyoune")
_FIRST_M = ("Mohammed", "Ahmed", "Youssef", "Omar", "Hassan", "Abdellah", "Rachid", "Mustapha", "Driss", "Karim")
_FIRST_F = ("Fatima", "Khadija", "Aicha", "Naima", "Zineb", "Malika", "Latifa", "Samira", "Hayat", "Saida")
_LAST = ("Alaoui", "Bennani", "El Idrissi", "Tazi", "Berrada", "Cherkaoui", "El Amrani", "Benjelloun",
         "Ouazzani", "Lahlou", "Fassi Fihri", "Chraibi", "Sqalli", "Ziani")
_SCHOOLS = ("Lycée qualifiant Ibn Khaldoun", "Lycée qualifiant Moulay Youssef", "Lycée qualifiant Al Khawarizmi",
            "Lycée qualifiant Ibn Sina", "Lycée qualifiant Lalla Nezha", "Lycée qualifiant Omar Ibn Abdelaziz")
_STREETS = ("boulevard Mohammed V", "avenue Hassan II", "boulevard Zerktouni", "rue Allal Ben Abdellah",
            "avenue des FAR", "boulevard Anfa", "rue Ibn Batouta", "avenue Mohammed VI")


def _fr_number(value: float, decimals: int = 2) -> str:
    whole, _, frac = f"{value:,.{decimals}f}".partition(".")
    whole = whole.replace(",", " ")
    return f"{whole},{frac}" if decimals else whole


def _birth(rng: random.Random, min_age: int, max_age: int, ref_year: int = 2025) -> str:
    year = ref_year - rng.randint(min_age, max_age)
    return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year} à {rng.choice(_CITIES)}"


def _massar(rng: random.Random) -> str:
    return rng.choice("DGJKMPRS") + "".join(str(rng.randint(0, 9)) for _ in range(9))


def _appreciation(mark: float) -> str:
    for threshold, word in ((17, "Excellent"), (15, "Très bien"), (13, "Bien"), (11, "Assez bien"),
                            (10, "Passable")):
        if mark >= threshold:
            return word
    return "Insuffisant"


def demo_body(doc_type: str, holder_name: str, rng: random.Random) -> list[str]:
    """Plausible French body lines for a demo document of ``doc_type`` (markup: see the module doc).

    Only ``rng`` supplies randomness: the same seed gives the same lines.
    """
    parts = holder_name.split()
    surname = " ".join(parts[1:]) if len(parts) > 1 else (parts[0] if parts else "Alaoui")
    if doc_type == "criminal_record":
        court_city = rng.choice(_CITIES[:12])
        return [
            "# Bulletin n° 3 du casier judiciaire",
            f"Nom et prénom : {holder_name}",
            f"Né(e) le : {_birth(rng, 19, 70)}",
            f"Fils/Fille de : {rng.choice(_FIRST_M)} {surname} et de {rng.choice(_FIRST_F)} {rng.choice(_LAST)}",
            "Nationalité : Marocaine",
            "",
            "# Relevé des condamnations",
            "Condamnations : Néant",
            "Déchéances et incapacités : Néant",
            "",
            ("Le présent bulletin atteste qu'aucune condamnation n'est inscrite au casier judiciaire de "
            "l'intéressé(e) à la date de sa délivrance."),
            f"Service du casier judiciaire — Tribunal de première instance de {court_city}.",
            "Délivré à l'intéressé(e) pour servir et valoir ce que de droit.",
        ]
    if doc_type == "nationality":
        court_city = rng.choice(_CITIES[:12])
        father = f"{rng.choice(_FIRST_M)} {surname}"
        return [
            (f"Le Président du Tribunal de première instance de {court_city}, au vu des pièces produites, "
            "certifie que :"),
            "",
            f"Nom et prénom : {holder_name}",
            f"Né(e) le : {_birth(rng, 18, 75)}",
            f"Fils/Fille de : {father}, de nationalité marocaine",
            f"et de : {rng.choice(_FIRST_F)} {rng.choice(_LAST)}",
            f"Registre d'état civil : acte n° {rng.randint(100, 2999)}/{rng.randint(1950, 2007)}",
            "",
            ("est de nationalité marocaine d'origine par la filiation, en application de l'article 6 du "
            "Code de la nationalité marocaine (dahir n° 1-58-250 du 21 safar 1378 — 6 septembre 1958, "
            "tel que modifié par la loi n° 62-06)."),
            "",
            ("Le présent certificat est délivré à l'intéressé(e), sur sa demande, pour servir et valoir ce "
            "que de droit."),
        ]
    if doc_type == "school_report":
        year = rng.randint(2021, 2024)
        subjects = (("Mathématiques", 7), ("Physique-Chimie", 7), ("Sciences de la vie et de la Terre", 5),
                    ("Langue arabe", 2), ("Langue française", 4), ("Langue anglaise", 2), ("Philosophie", 2),
                    ("Éducation islamique", 2), ("Histoire-Géographie", 2), ("Éducation physique", 1))
        level = rng.uniform(9.5, 16.5)
        rows, total, coefs = [], 0.0, 0
        for name, coef in subjects:
            mark = max(3.0, min(20.0, round(rng.gauss(level, 2.2) * 4) / 4))
            rows.append(f"{name} | {coef} | {_fr_number(mark)} | {_appreciation(mark)}")
            total += mark * coef
            coefs += coef
        average = total / coefs
        size = rng.randint(28, 42)
        rank = max(1, min(size, round(size * (17.5 - average) / 9.5) + rng.randint(-2, 2)))
        if average >= 16:
            decision = "Félicitations du conseil de classe"
        elif average >= 14:
            decision = "Tableau d'honneur"
        elif average >= 12:
            decision = "Encouragements"
        elif average >= 10:
            decision = "Travail satisfaisant"
        else:
            decision = "Avertissement pour le travail"
        return [
            f"Établissement : {rng.choice(_SCHOOLS)}, {rng.choice(_CITIES[:10])}",
            "Niveau : 2e année du baccalauréat — Sciences physiques",
            f"Année scolaire : {year}-{year + 1} — Premier semestre",
            f"Code Massar : {_massar(rng)}",
            "",
            "Matière | Coefficient | Note / 20 | Appréciation",
            *rows,
            f"Moyenne du semestre : {_fr_number(average)} / 20",
            f"Rang : {rank} / {size}",
            f"Décision du conseil de classe : {decision}",
        ]
    if doc_type == "school_certificate":
        year = rng.randint(2022, 2025)
        grade = rng.choice(("Tronc commun — Sciences", "1re année du baccalauréat — Sciences expérimentales",
                            "2e année du baccalauréat — Sciences mathématiques A",
                            "3e année du collège", "1re année du baccalauréat — Lettres et sciences humaines"))
        school = rng.choice(_SCHOOLS)
        city = rng.choice(_CITIES[:10])
        return [
            f"Le Directeur du {school}, {city}, certifie que l'élève :",
            "",
            f"Nom et prénom : {holder_name}",
            f"Né(e) le : {_birth(rng, 12, 19)}",
            f"Code Massar : {_massar(rng)}",
            f"Numéro d'inscription : {year}/{rng.randint(100, 1999):04d}",
            "",
            (f"est régulièrement inscrit(e) dans l'établissement au titre de l'année scolaire {year}-{year + 1}, "
            f"en classe de : {grade}."),
            "",
            ("Le présent certificat est délivré à l'intéressé(e), sur sa demande, pour servir et valoir ce que "
            "de droit."),
        ]
    if doc_type == "commerce_register":
        form, form_long, capital = rng.choice((
            ("SARL", "Société à responsabilité limitée", rng.choice((10_000, 50_000, 100_000, 300_000))),
            ("SARL AU", "Société à responsabilité limitée à associé unique", rng.choice((10_000, 100_000))),
            ("SA", "Société anonyme", rng.choice((300_000, 1_000_000, 5_000_000))),
        ))
        activity, word = rng.choice((
            ("Négoce de matériaux de construction", "Matériaux"), ("Import-export de produits agroalimentaires", "Agro"),
            ("Conseil en systèmes informatiques", "Digital"), ("Transport routier de marchandises", "Logistique"),
            ("Travaux divers et de construction", "Travaux"), ("Commerce de textiles et d'habillement", "Textile"),
        ))
        city = rng.choice(("Casablanca", "Rabat", "Tanger", "Marrakech", "Fès", "Agadir"))
        prefix = rng.choice(("Atlas", "Sahara", "Nour", "Al Amal", "Maghreb", surname))
        reg_year = rng.randint(2008, 2024)
        return [
            f"Greffe du Tribunal de commerce de {city} — Registre central du commerce",
            "",
            "# Identification de la personne morale",
            f"Dénomination : {prefix.upper()} {word.upper()} {form}",
            f"Forme juridique : {form_long} ({form})",
            f"Numéro RC : {rng.randint(10_000, 599_999)} — {city}",
            f"ICE : {rng.randint(0, 99_999_999_999_999):015d}",
            f"Identifiant fiscal : {rng.randint(10_000_000, 59_999_999)}",
            f"Capital social : {_fr_number(capital)} MAD",
            f"Siège social : {rng.randint(1, 250)}, {rng.choice(_STREETS)}, {city}",
            f"Activité principale : {activity}",
            f"Date d'immatriculation : {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{reg_year}",
            f"Gérant / représentant légal : {holder_name}",
            "",
            ("Aucune inscription modificative, de nantissement ou de radiation n'est portée au registre à la "
            "date de délivrance du présent certificat."),
        ]
    return [f"Le présent document est délivré à {holder_name} pour servir et valoir ce que de droit."]
