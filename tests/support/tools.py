"""Outside tools on a PDF: poppler's pdfsig verdicts, pages rendered by pdftoppm and their QR codes read by zxing-cpp."""
from __future__ import annotations

import glob
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

PDFSIG = "/usr/bin/pdfsig"
PDFTOPPM = "/usr/bin/pdftoppm"


def pdfsig(pdf: bytes) -> list[str]:
    """poppler's verdict on each signature (document timestamps, which it cannot check, left out)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "copy.pdf")
        with open(path, "wb") as fh:
            fh.write(pdf)
        out = subprocess.run(["pdfsig", "-nocert", path], capture_output=True, text=True, timeout=60,
                             check=False).stdout
    blocks = out.split("Signature #")[1:]
    return [b for b in blocks if "Signature Type: unknown" not in b]


def qr_codes(pdf: bytes, dpi: int = 110) -> list[str]:
    """Render every page with pdftoppm and read the QR codes on them with zxing-cpp."""
    import zxingcpp
    from PIL import Image

    found: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "copy.pdf")
        with open(path, "wb") as fh:
            fh.write(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", path, os.path.join(d, "pg")], check=True,
                       capture_output=True, timeout=60)
        for name in sorted(os.listdir(d)):
            if name.endswith(".png"):
                with Image.open(os.path.join(d, name)) as img:
                    found += [b.text for b in zxingcpp.read_barcodes(img)]
    return found


def pdfsig_verdicts(pdf: bytes, tmp_path: Path) -> list[str]:
    if not os.path.exists(PDFSIG):
        pytest.skip(reason="pdfsig not installed (apt-get install poppler-utils)")
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([PDFSIG, "-nocert", str(path)], check=False, capture_output=True, text=True, timeout=30).stdout
    return [line.split(":", 1)[1].strip() for line in out.splitlines() if "Signature Validation:" in line]


def decode_qr(pdf: bytes, tmp_path: Path, page: int = 1) -> list[str]:
    if not os.path.exists(PDFTOPPM):
        pytest.skip(reason="pdftoppm not installed (apt-get install poppler-utils)")
    import zxingcpp
    from PIL import Image

    path = tmp_path / "render.pdf"
    path.write_bytes(pdf)
    prefix = tmp_path / "page"
    subprocess.run(
        [PDFTOPPM, "-r", "110", "-png", "-f", str(page), "-l", str(page), str(path), str(prefix)],
        check=True,
        timeout=30,
    )
    (png,) = glob.glob(f"{prefix}-*.png")
    with Image.open(png) as img:
        return [r.text for r in zxingcpp.read_barcodes(img)]
