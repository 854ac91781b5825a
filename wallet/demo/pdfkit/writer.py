"""PDF file serialisation: numbered objects, compressed streams, the xref table and trailer.

Deterministic on purpose: no clock, and the file ``/ID`` is a hash of the body, so the same objects always
give the same bytes (tests and agencies can compare documents by hash).
"""
from __future__ import annotations

import hashlib
import zlib
from datetime import datetime

from wallet.demo.pdfkit.helvetica import pdf_literal

__all__ = ["Writer", "pdf_date", "pdf_text_string"]


def pdf_text_string(text: str) -> str:
    """A PDF text string: a literal when ASCII, else UTF-16BE with a byte order mark."""
    try:
        data = text.encode("ascii")
        return pdf_literal(data).decode("ascii")
    except UnicodeEncodeError:
        return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def pdf_date(d: datetime) -> str:
    """A PDF date (``D:YYYYMMDDHHmmSS`` and the UTC offset, when ``d`` has one)."""
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


class Writer:
    """Objects numbered from 1 in the order they are reserved or added; :meth:`finish` lays out the file."""

    def __init__(self) -> None:
        self.objects: list[bytes] = []

    def reserve(self) -> int:
        """A number for an object whose body is set later (it refers to objects not written yet)."""
        self.objects.append(b"")
        return len(self.objects)

    def set(self, num: int, body: bytes | str) -> None:
        self.objects[num - 1] = body.encode("latin-1") if isinstance(body, str) else body

    def add(self, body: bytes | str) -> int:
        num = self.reserve()
        self.set(num, body)
        return num

    def stream(self, data: bytes, extra: str = "", compress: bool = True) -> int:
        """A stream object (Flate-compressed unless told otherwise); ``extra``: more dictionary entries."""
        if compress:
            data = zlib.compress(data, 6)
            extra = "/Filter /FlateDecode " + extra
        return self.add(f"<< {extra}/Length {len(data)} >>\nstream\n".encode("latin-1") + data + b"\nendstream")

    def finish(self, root: int, info: int) -> bytes:
        """The whole file, PDF 1.7, with a classic xref table."""
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
