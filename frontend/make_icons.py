"""Draw the PWA icons (PNG 192/512, maskable 512) and the SVG favicon; run once, outputs are committed.

    .venv/bin/python frontend/make_icons.py
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "static" / "icons"
GREEN, WHITE, GOLD = (11, 93, 59), (255, 255, 255), (230, 180, 60)


def draw(size: int, maskable: bool) -> Image.Image:
    img = Image.new("RGB", (size, size), GREEN)
    d = ImageDraw.Draw(img)
    # maskable icons keep their content in the central 80 % safe zone
    pad = size * (0.22 if maskable else 0.14)
    w, h = size - 2 * pad, (size - 2 * pad) * 0.72
    top = (size - h) / 2
    d.rounded_rectangle((pad, top, pad + w, top + h), radius=size * 0.05, fill=WHITE)
    d.rectangle((pad, top + h * 0.22, pad + w, top + h * 0.38), fill=GOLD)
    for i in range(3):
        y = top + h * (0.52 + i * 0.13)
        d.rounded_rectangle((pad + w * 0.1, y, pad + w * (0.75 - 0.15 * i), y + h * 0.06), radius=size * 0.01,
                            fill=GREEN)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, False).save(OUT / "icon-192.png", optimize=True)
    draw(512, False).save(OUT / "icon-512.png", optimize=True)
    draw(512, True).save(OUT / "maskable-512.png", optimize=True)
    (OUT / "icon.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="18" '
        'fill="#0b5d3b"/><rect x="14" y="24" width="72" height="52" rx="5" fill="#fff"/><rect x="14" y="35" '
        'width="72" height="8" fill="#e6b43c"/><rect x="21" y="51" width="44" height="4" fill="#0b5d3b"/>'
        '<rect x="21" y="58" width="36" height="4" fill="#0b5d3b"/><rect x="21" y="65" width="28" height="4" '
        'fill="#0b5d3b"/></svg>\n')


if __name__ == "__main__":
    main()
