"""Embedding a subset TrueType font as a Type0/CIDFontType2 font (``Identity-H``) with a ``ToUnicode`` map.

CIDs are glyph ids (``/CIDToGIDMap /Identity``), so the shaped glyph ids drawn on the canvas go into the content
stream unchanged; the ``ToUnicode`` map gives text extraction the characters behind each glyph.
"""
from __future__ import annotations

import hashlib

from wallet.demo.pdfkit.canvas import num
from wallet.demo.pdfkit.truetype import TrueTypeFont
from wallet.demo.pdfkit.writer import Writer

__all__ = ["embed_truetype"]


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


def _subset_tag(font: TrueTypeFont, gids: list[int]) -> str:
    """The six-letter subset prefix (ISO 32000 9.9.2), derived from the glyphs so that it is deterministic."""
    digest = hashlib.sha256(font.ps_name.encode() + b"|" + ",".join(map(str, gids)).encode()).digest()
    return "".join(chr(65 + b % 26) for b in digest[:6])


def embed_truetype(w: Writer, font: TrueTypeFont, used: dict[int, str]) -> int:
    """Writes the font subset to ``used`` (gid -> text) and returns the number of its Type0 font object."""
    gids = sorted(set(used) | {0})
    program = font.subset(gids)
    name = f"{_subset_tag(font, gids)}+{font.ps_name}"
    scale = 1000.0 / font.upem
    ff = w.stream(program, f"/Length1 {len(program)} ")
    x0, y0, x1, y1 = (round(v * scale) for v in font.bbox)
    desc = w.add(f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{x0} {y0} {x1} {y1}] "
                 f"/ItalicAngle 0 /Ascent {round(font.ascent * scale)} /Descent {round(font.descent * scale)} "
                 f"/CapHeight {round(font.cap_height * scale)} /StemV 80 /FontFile2 {ff} 0 R >>")
    widths = " ".join(f"{g} [{num(font.advances[g] * scale)}]" for g in gids)
    cid = w.add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
                f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                f"/FontDescriptor {desc} 0 R /DW 1000 /W [{widths}] /CIDToGIDMap /Identity >>")
    tounicode = w.stream(_to_unicode_cmap(used))
    return w.add(f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                 f"/DescendantFonts [{cid} 0 R] /ToUnicode {tounicode} 0 R >>")
