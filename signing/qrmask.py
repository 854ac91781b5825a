"""The QR code of ``qrcode`` with its mask chosen faster, the same mask every time.

``qrcode.QRCode.best_mask_pattern`` lays the symbol out eight times (pure Python, one module at a time) and
scores each with ``qrcode.util.lost_point``: about 22 ms of the 28 ms a share's dense QR costs (the link plus
its signed offline payload, version 17, 85 × 85 modules; issue 16). Here the layout is made once: the eight
candidates differ only in the data modules, so each is the unmasked layout XOR that mask on the data modules,
one Python int per row (and per column); the four penalty rules of ``lost_point`` are counted with bit operations. Same
rules, same scores, same tie-break (the lowest mask): the same mask, hence the same symbol, module for module
(tests/signing/test_qrmask.py compares the matrices with qrcode's on thousands of payloads of every size).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import qrcode
from qrcode import util


@lru_cache(maxsize=64)
def _mask_bits(pattern: int, n: int) -> tuple[int, ...]:
    """Row r's mask as an int (bit c: the mask flips module (r, c))."""
    f = util.mask_func(pattern)
    return tuple(sum(1 << c for c in range(n) if f(r, c)) for r in range(n))


def _line_string(value: int, n: int) -> str:
    return format(value, f"0{n}b")[::-1]  # index c = module c


_P1 = (1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0)  # rule 3: dark-light-dark(3)-light-dark, then four light modules
_P2 = tuple(reversed(_P1))  # or four light modules first


def _matches(x: int, pattern: tuple[int, ...], valid: int) -> int:
    """Bit c set: the line ``x`` reads ``pattern`` from module c on."""
    m = valid
    for k, bit in enumerate(pattern):
        m &= (x >> k) if bit else ~(x >> k)
    return m


@lru_cache(maxsize=16)
def _starts(n: int, lines: int, width: int) -> int:
    """Packed lines of ``n + 11`` bits: bits 0 .. width-1 of each set (where a window may start)."""
    stride, one = n + 11, (1 << width) - 1
    return sum(one << (i * stride) for i in range(lines))


def lost_point(rows: list[int], n: int) -> int:
    """``qrcode.util.lost_point`` of the symbol whose row r is ``rows[r]`` (bit c: module (r, c) dark).

    The 2n lines (rows, then columns) are packed into one int, ``n + 11`` bits apart (light padding, never
    read by a window that starts where it may), and counted together. Rule 1 (runs of L >= 5 alike, L - 2
    points each) is counted as U + 2R, U the windows of five alike modules (L - 4 per run) and R the runs
    (the windows that start one); rule 3 as qrcode counts it, every position where either pattern starts
    (its skip never passes a match); rules 2 and 4 as written there."""
    text = [format(r, f"0{n}b")[::-1] for r in rows]  # index c = module c
    lines = rows + [int("".join(col)[::-1], 2) for col in zip(*text)]
    stride = n + 11
    x = 0
    for i, line in enumerate(lines):
        x |= line << (i * stride)
    count = len(lines)
    alike = ~(x ^ (x >> 1)) & _starts(n, count, n - 1)  # bit c: modules c and c+1 alike
    windows = alike & (alike >> 1) & (alike >> 2) & (alike >> 3) & _starts(n, count, n - 4)
    points = windows.bit_count() + 2 * (windows & ~(alike << 1)).bit_count()
    eleven = _starts(n, count, n - 10)
    points += 40 * (_matches(x, _P1, eleven).bit_count() + _matches(x, _P2, eleven).bit_count())
    inner = (1 << (n - 1)) - 1  # a 2x2 block starts at columns 0 .. n-2
    for a, b in zip(rows, rows[1:]):
        same = ~(a ^ b)  # column c: both rows alike
        points += 3 * (same & (same >> 1) & ~(a ^ (a >> 1)) & inner).bit_count()
    dark = sum(r.bit_count() for r in rows)
    percent = float(dark) / (n**2)
    return points + int(abs(percent * 100 - 50) / 5) * 10


_BITS = bytes.maketrans(b"\x00\x01", b"01")


def _row_int(row: list[bool]) -> int:
    return int(bytes(row)[::-1].translate(_BITS), 2)


#: version -> each row's data modules as an int (where ``map_data`` writes: the same for every mask)
_DATA_CELLS: dict[int, tuple[int, ...]] = {}


class QRCode(qrcode.QRCode):
    """``qrcode.QRCode`` whose ``best_mask_pattern`` lays the symbol out once (see the module docstring)."""

    def best_mask_pattern(self) -> int:
        self._note_cells = self.version not in _DATA_CELLS
        self.makeImpl(True, 0)  # the test layout (format and version areas light), mask 0
        self._note_cells = False
        n = self.modules_count
        data, m0 = _DATA_CELLS[self.version], _mask_bits(0, n)
        plain = [_row_int(row) ^ (m0[r] & data[r]) for r, row in enumerate(self.modules)]  # data unmasked
        best, best_points = 0, 0
        for pattern in range(8):
            mask = _mask_bits(pattern, n)
            points = lost_point([plain[r] ^ (mask[r] & data[r]) for r in range(n)], n)
            if pattern == 0 or best_points > points:
                best, best_points = pattern, points
        return best

    def map_data(self, data: Any, mask_pattern: int) -> None:
        if getattr(self, "_note_cells", False):  # where data goes: the cells still empty (once per version)
            _DATA_CELLS[self.version] = tuple(sum(1 << c for c, v in enumerate(row) if v is None)
                                              for row in self.modules)
        super().map_data(data, mask_pattern)
