"""A small TrueType subsetter working on the raw tables.

A PDF that embeds a whole Arabic font weighs hundreds of KB; keeping only the glyphs a page draws (glyph ids
unchanged, so the content stream and ``/W`` array need no remapping) costs a few hundred microseconds and
leaves a few KB.  fontTools would do it too, but it is not a runtime dependency of the wallet.
"""
from __future__ import annotations

import re
import struct
import threading
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TrueTypeFont"]

# tables a PDF TrueType font program needs (ISO 32000 9.9); glyph positioning is done by HarfBuzz
_KEEP_TABLES = ("OS/2", "cvt ", "fpgm", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "post", "prep")


def _checksum(data: bytes) -> int:
    """The sfnt table checksum (sum of big-endian 32-bit words, zero padded)."""
    if len(data) % 4:
        data += b"\0" * (4 - len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f">{len(data) // 4}I", data)
    return sum(words) & 0xFFFFFFFF


def _pad4(data: bytes) -> bytes:
    return b"\0" * (-len(data) % 4)


def _components(g: bytes) -> tuple[int, ...]:
    """The glyph ids a composite glyph is built from (a subset must keep them too)."""
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


class TrueTypeFont:
    """A TrueType (glyf) font: parsed once, with the metrics a PDF font descriptor needs."""

    def __init__(self, path: Path, res: str, data: bytes | None = None) -> None:
        """``res``: the page resource name; ``data``: the file's bytes, when the caller has read them already."""
        self.path = path
        self.res = res
        if data is None:
            data = path.read_bytes()
        self.ps_name = re.sub(r"[^A-Za-z0-9-]", "", path.stem) or "ArabicFont"
        if data[:4] not in (b"\x00\x01\x00\x00", b"true"):
            raise ValueError(f"{path}: not a TrueType (glyf) font")
        self.tables = self._read_tables(data)
        self._read_metrics()
        self._read_glyphs()
        self._subset_cache: dict[frozenset[int], bytes] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _read_tables(data: bytes) -> dict[str, bytes]:
        n_tables = struct.unpack(">H", data[4:6])[0]
        tables: dict[str, bytes] = {}
        for i in range(n_tables):
            tag, _cs, off, length = struct.unpack(">4sIII", data[12 + 16 * i: 28 + 16 * i])
            tables[tag.decode("latin-1")] = data[off: off + length]
        return tables

    def _read_metrics(self) -> None:
        head, hhea, maxp = self.tables["head"], self.tables["hhea"], self.tables["maxp"]
        self.upem: int = struct.unpack(">H", head[18:20])[0]
        self.bbox: tuple[int, int, int, int] = struct.unpack(">hhhh", head[36:44])
        self.loc_format: int = struct.unpack(">h", head[50:52])[0]
        self.num_glyphs: int = struct.unpack(">H", maxp[4:6])[0]
        self.n_hmetrics: int = struct.unpack(">H", hhea[34:36])[0]
        self.ascent, self.descent = struct.unpack(">hh", hhea[4:8])
        os2 = self.tables.get("OS/2", b"")
        self.cap_height: int = struct.unpack(">h", os2[88:90])[0] if len(os2) >= 90 else self.ascent
        if not self.cap_height:
            self.cap_height = int(self.ascent * 0.7)

    def _read_glyphs(self) -> None:
        n = self.num_glyphs
        loca = self.tables["loca"]
        if self.loc_format == 0:
            offsets = [o * 2 for o in struct.unpack(f">{n + 1}H", loca[: 2 * (n + 1)])]
        else:
            offsets = list(struct.unpack(f">{n + 1}I", loca[: 4 * (n + 1)]))
        glyf = self.tables["glyf"]
        self.glyph_data = [glyf[offsets[i]: offsets[i + 1]] for i in range(n)]
        self.components = [_components(g) for g in self.glyph_data]
        hmtx = self.tables["hmtx"]
        adv = list(struct.unpack(f">{self.n_hmetrics * 2}H", hmtx[: 4 * self.n_hmetrics])[0::2])
        self.advances: list[int] = adv + [adv[-1]] * (n - self.n_hmetrics)

    # -- subsetting ---------------------------------------------------------------------------

    def subset(self, gids: Iterable[int]) -> bytes:
        """A TrueType font program holding only ``gids`` (and their components); ids unchanged."""
        key = frozenset(gids)
        cached = self._subset_cache.get(key)
        if cached is not None:
            return cached
        font = self._assemble(self._subset_tables(self._closure(key)))
        with self._lock:
            if len(self._subset_cache) > 512:
                self._subset_cache.clear()
            self._subset_cache[key] = font
        return font

    def _closure(self, gids: frozenset[int]) -> set[int]:
        """``gids``, glyph 0 (.notdef, required) and every component they use."""
        keep = {0}
        stack = [g for g in gids if 0 <= g < self.num_glyphs]
        while stack:
            g = stack.pop()
            if g not in keep:
                keep.add(g)
                stack.extend(self.components[g])
        return keep

    def _subset_tables(self, keep: set[int]) -> dict[str, bytes]:
        """The kept tables, with glyphs outside ``keep`` emptied and the glyph count cut after the last kept."""
        n = max(keep) + 1
        glyf = bytearray()
        offsets = []
        for gid in range(n):
            offsets.append(len(glyf))
            if gid in keep:
                data = self.glyph_data[gid]
                glyf += data + _pad4(data)
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
        return {tag: new[tag] if tag in new else t[tag] for tag in _KEEP_TABLES if tag in new or tag in t}

    @staticmethod
    def _assemble(tables: dict[str, bytes]) -> bytes:
        """An sfnt file from ``tables``: sorted directory, checksums, ``head.checkSumAdjustment``."""
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
            body += data + _pad4(data)
        font = bytearray(header + directory + body)
        adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
        font[head_at + 8: head_at + 12] = struct.pack(">I", adjustment)
        return bytes(font)
