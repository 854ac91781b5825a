"""A real HTTP server around the app (threaded werkzeug on a free port), and outside-tool helpers."""
from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serve(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


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
