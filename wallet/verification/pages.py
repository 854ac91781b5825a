"""The shared documents' pages as images on the verification page: rendered on the server, watermarked.

A clerk must see the document itself ("Condamnations : Néant"), even when the holder did not allow a download.
The renders are the holder's page previews (``wallet.citizens.previews``: pypdfium2, bounded pages and pixels,
cached encrypted in the blob store); each answer stamps them with a repeated diagonal "verification view — valid
until …" in the page's language, so a screenshot says where it came from and until when it was meant to be seen.
The images are served under the look's download grant (``views.grant_for``): they are part of the counted look.
"""
from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from PIL import Image, ImageDraw, ImageFont, features

from wallet.citizens.previews import DEFAULT_WIDTH, page_sizes, preview
from wallet.documents.models import Document
from wallet.extensions import Runtime
from wallet.verification.looks import SharedDocument

PAGE_WIDTH = DEFAULT_WIDTH
# fonts with Latin and Arabic glyphs, first found wins (Pillow shapes Arabic with Raqm when it has it)
_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf")


@dataclass(frozen=True)
class PageImage:
    number: int  # 1-based
    width: int
    height: int


def page_images(rt: Runtime, doc: SharedDocument) -> list[PageImage]:
    """The pages the verification page shows (at most ``previews.MAX_PAGES``); none when the file cannot be read."""
    try:
        sizes = page_sizes(rt, cast(Document, doc))  # duck-typed: id, blob and key are what it reads
    except Exception:  # noqa: BLE001 - a damaged or unreadable original: the page shows the facts without images
        return []
    return [PageImage(n, PAGE_WIDTH, size.height_for(PAGE_WIDTH)) for n, size in enumerate(sizes, start=1)]


def page_png(rt: Runtime, doc: SharedDocument, page: int, stamp: str) -> bytes:
    """Page ``page`` (1-based) as a PNG carrying the watermark ``stamp``; ``NotFound`` past the last page."""
    return watermark(preview(rt, cast(Document, doc), page, PAGE_WIDTH), stamp)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> Any:
    for path in _FONTS:
        if Path(path).is_file():
            engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
            return ImageFont.truetype(path, size, layout_engine=engine)
    return ImageFont.load_default(size)


def watermark(png: bytes, stamp: str) -> bytes:
    """``png`` with ``stamp`` written diagonally across it, repeated, translucent (the text stays readable)."""
    with Image.open(io.BytesIO(png)) as src:
        base = src.convert("RGBA")
    w, h = base.size
    font = _font(max(14, w // 40))
    diagonal = int(math.hypot(w, h))
    layer = Image.new("RGBA", (diagonal * 2, diagonal * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    box = draw.textbbox((0, 0), stamp, font=font)
    tw, th = int(box[2] - box[0]), int(box[3] - box[1])
    step_x, step_y = tw + w // 6, th * 5
    for row, y in enumerate(range(0, layer.height, max(1, step_y))):
        offset = (row % 2) * (step_x // 2)
        for x in range(-offset, layer.width, max(1, step_x)):
            draw.text((x, y), stamp, font=font, fill=(160, 20, 20, 70))
    rotated = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    left, top = (rotated.width - w) // 2, (rotated.height - h) // 2
    base.alpha_composite(rotated.crop((left, top, left + w, top + h)))
    out = io.BytesIO()
    base.convert("RGB").quantize(colors=64).save(out, format="PNG", optimize=True)
    return out.getvalue()
