"""Outside-tool helpers (pdfsig, QR decoding) and the live HTTP server, for the verification tests."""
from __future__ import annotations

import os
import subprocess
import tempfile

from livehttp import serve  # noqa: F401 - re-exported for the tests here


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
