"""Page previews rendered on the server (pypdfium2), cached encrypted in the blob store.

A phone never downloads a multi-megabyte PDF to draw a thumbnail: it gets a PNG of the width it asks for
(one of ``WIDTHS``). Renders are cached under ``previews/<doc_id>/<page>-<width>.png``, encrypted with the
envelope like the original (AAD ``document:<id>:preview:<page>:<width>``), so the cache leaks nothing at rest.
"""
from __future__ import annotations

import io
import json
import struct
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium

from wallet.crypto import DecryptionError, Sealed
from wallet.documents.models import Document
from wallet.documents.service import read_original
from wallet.errors import NotFound
from wallet.extensions import Runtime
from wallet.storage import BlobNotFound

WIDTHS = (480, 960, 1440)
DEFAULT_WIDTH = 960
MAX_PAGES = 30
MAX_PIXELS = 1440 * 2400  # a page with an absurd aspect ratio does not become a huge bitmap
_pdfium = threading.Lock()  # PDFium is not thread-safe


@dataclass(frozen=True)
class PageSize:
    width: float  # PDF points
    height: float

    def height_for(self, width: int) -> int:
        return max(1, round(width * self.height / self.width)) if self.width > 0 else width


def preview_key(doc_id: str, page: int, width: int) -> str:
    return f"previews/{doc_id}/{page}-{width}.png"


def preview_aad(doc_id: str, page: int, width: int) -> str:
    return f"document:{doc_id}:preview:{page}:{width}"


def _pack(sealed: Sealed) -> bytes:
    return struct.pack(">H", len(sealed.wrapped_key)) + sealed.wrapped_key + sealed.ciphertext


def _unpack(blob: bytes) -> Sealed:
    (n,) = struct.unpack(">H", blob[:2])
    return Sealed(blob[2:2 + n], blob[2 + n:])


def _cached(rt: Runtime, key: str, aad: str) -> bytes | None:
    try:
        return rt.envelope.decrypt(_unpack(rt.store.get(key)), aad)
    except (BlobNotFound, DecryptionError, struct.error):
        return None


def _store(rt: Runtime, key: str, aad: str, data: bytes) -> None:
    rt.store.put(key, _pack(rt.envelope.encrypt(data, aad)))


def page_sizes(rt: Runtime, doc: Document) -> list[PageSize]:
    """Sizes of the pages (at most MAX_PAGES), cached next to the previews: width/height attributes need them."""
    key, aad = f"previews/{doc.id}/pages.json", f"document:{doc.id}:preview:pages"
    raw = _cached(rt, key, aad)
    if raw is None:
        pdf_bytes = read_original(rt, doc)
        with _pdfium:
            pdf = pdfium.PdfDocument(pdf_bytes)
            try:
                sizes = [pdf.get_page_size(i) for i in range(min(len(pdf), MAX_PAGES))]
            finally:
                pdf.close()
        raw = json.dumps(sizes).encode()
        _store(rt, key, aad, raw)
    return [PageSize(float(w), float(h)) for w, h in json.loads(raw)]


def render_png(pdf_bytes: bytes, page_index: int, width: int) -> bytes:
    with _pdfium:
        pdf = pdfium.PdfDocument(pdf_bytes)
        try:
            page = pdf[page_index]
            try:
                pw, ph = page.get_size()
                scale = width / pw if pw > 0 else 1.0
                if pw * ph * scale * scale > MAX_PIXELS:
                    scale = (MAX_PIXELS / (pw * ph)) ** 0.5
                bitmap = page.render(scale=scale, grayscale=False, fill_color=(255, 255, 255, 255))
                image = bitmap.to_pil()
                bitmap.close()
            finally:
                page.close()
        finally:
            pdf.close()
    # certificates are mostly text on white: a 64-colour palette keeps them sharp at a fraction of the size
    image = image.convert("RGB").quantize(colors=64)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def preview(rt: Runtime, doc: Document, page: int, width: int) -> bytes:
    """PNG of page ``page`` (1-based) at ``width`` pixels (snapped to WIDTHS); 404 past the last page."""
    width = min(WIDTHS, key=lambda w: abs(w - width))
    sizes = page_sizes(rt, doc)
    if not 1 <= page <= len(sizes):
        raise NotFound("no such page")
    key, aad = preview_key(doc.id, page, width), preview_aad(doc.id, page, width)
    png = _cached(rt, key, aad)
    if png is None:
        png = render_png(read_original(rt, doc), page - 1, width)
        _store(rt, key, aad, png)
    return png
