"""The sealed copy of each shared document carries that document's QR text (link + signed payload), and it
decodes from a 100 dpi rendering (the stamp grows for the denser code)."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image


def qr_texts_of(pdf: bytes, tmp: Path) -> list[str]:
    (tmp / "c.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(tmp / "c.pdf"), str(tmp / "p")], check=True, timeout=120)
    return [x.text for f in sorted(tmp.glob("p*.png")) for x in zxingcpp.read_barcodes(Image.open(f))]


def test_each_sealed_copy_carries_its_own_qr_text_readable_at_100_dpi(app: Any, holder: Any,
                                                                      issue: Callable[..., Any],
                                                                      tmp_path: Path) -> None:
    first, second = issue(), issue(type="nationality")
    body = holder.share([first["id"], second["id"]], expires_in=86400).get_json()
    assert all(len(t) > 400 for t in body["qr_texts"])  # the dense case the stamp grew for
    for pos, text in enumerate(body["qr_texts"]):
        r = app.test_client().get(f"/v/{body['token']}/copy.pdf?item={pos}")
        assert r.status_code == 200, r.get_data(as_text=True)
        out = tmp_path / str(pos)
        out.mkdir()
        assert qr_texts_of(r.data, out) == [text]
        if os.environ.get("SEAL_SHOTS"):  # a look at the stamp: SEAL_SHOTS=<dir>
            shutil.copy(sorted(out.glob("p*.png"))[0], Path(os.environ["SEAL_SHOTS"]) / f"sealed-copy-{pos}.png")
