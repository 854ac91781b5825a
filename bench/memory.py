"""Row 6 — memory: peak RSS of validating a ~50 MB signed PDF, each validation in a fresh child process
(peak RSS from the kernel's rusage of that child: ``os.wait4``, the per-child form of RUSAGE_CHILDREN)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pikepdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from bench.report import Section
from bench.stats import fmt_mb
from signing.keys import Pkcs12Custody

ROOT = Path(__file__).resolve().parent.parent
PEAK_TARGET = 300 * 2**20


def big_pdf(path: Path, agency: dict[str, Any], target_bytes: int = 50 * 10**6) -> int:
    """A ~50 MB signed PDF: pages of incompressible scanned images (one agency B-B signature)."""

    side = 1024  # raw RGB image per page: 3 MiB, Flate-compressed noise stays ~3 MiB
    per_page = side * side * 3
    pages = max(1, -(-target_bytes // per_page))
    pdf = pikepdf.new()
    rnd = os.urandom(per_page)
    for n in range(pages):
        data = rnd[n * 7919:] + rnd[:n * 7919]  # distinct pages without paying for more randomness
        img = pdf.make_stream(data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=side, Height=side,
                              ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8)
        content = pdf.make_stream(f"q 500 0 0 500 47 170 cm /Scan Do Q BT /F1 12 Tf 56 800 Td (Page {n + 1}) Tj ET"
                                  .encode())
        font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842], Contents=content,
                                  Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=img),
                                                               Font=pikepdf.Dictionary(F1=font)))
        pdf.pages.append(pikepdf.Page(page))
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    signer = Pkcs12Custody(agency["pkcs12"], agency["pkcs12_password"]).signer()
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(buf.getvalue())),
                           signers.PdfSignatureMetadata(field_name="AgencySignature"), signer=signer,
                           bytes_reserved=12_288)
    path.write_bytes(out.getvalue())
    return path.stat().st_size


_CHILD = {
    "baseline": """
        import pyhanko.sign.validation, signing
        data = open(PATH, "rb").read()
        print("ok")
    """,
    "raw": """
        from io import BytesIO
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko_certvalidator import ValidationContext
        from signing.trust import load_certificates
        roots = [c for p in ROOTS for c in load_certificates(open(p, "rb").read())]
        others = [c for p in CAS for c in load_certificates(open(p, "rb").read())]
        with open(PATH, "rb") as f:
            r = PdfFileReader(f)
            st = validate_pdf_signature(r.embedded_signatures[0],
                                        ValidationContext(trust_roots=roots, other_certs=others, allow_fetching=False))
        print("ok" if st.bottom_line else "rejected")
    """,
    "wallet": """
        from pathlib import Path
        from signing import install_pyhanko_patches, validate_pdf
        from signing.trust import TrustStore, load_certificates
        install_pyhanko_patches()  # as in the wallet's validator processes
        roots = tuple(c for p in ROOTS for c in load_certificates(open(p, "rb").read()))
        cas = tuple(c for p in CAS for c in load_certificates(open(p, "rb").read()))
        report = validate_pdf(Path(PATH).read_bytes(), TrustStore(roots=roots, intermediates=cas), max_size=64 * 2**20)
        sig = report.signatures[0] if report.signatures else None
        print("ok" if sig is not None and sig.passed else f"rejected {report.error} {sig and sig.problems}")
    """,
}


_MEASURE = """
import json, resource, subprocess, sys
proc = subprocess.run([sys.executable, "-c", sys.stdin.read()], capture_output=True, text=True)
print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "rc": proc.returncode,
                  "out": proc.stdout.strip(), "err": proc.stderr[-300:]}))
"""


def child_peak_rss(kind: str, pdf: Path, roots: list[str], cas: list[str]) -> tuple[int, str]:
    """Peak RSS of one validation in a fresh child. A small intermediate Python process runs it and reads
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss``: forking the (big) bench process directly would make the child's
    high-water mark start at the parent's size."""
    code = f"PATH = {str(pdf)!r}\nROOTS = {roots!r}\nCAS = {cas!r}\n" + textwrap.dedent(_CHILD[kind])
    proc = subprocess.run([sys.executable, "-c", _MEASURE], input=code, capture_output=True, text=True, cwd=ROOT,
                          timeout=600, check=True)
    res = json.loads(proc.stdout)
    verdict = res["out"] if res["rc"] == 0 else f"exit {res['rc']}: {res['err']}"
    return int(res["maxrss_kb"]) * 1024, verdict


def run(pdf: Path, roots: list[str], cas: list[str]) -> Section:
    sec = Section("memory", "6. Memory")
    size = pdf.stat().st_size
    base, _ = child_peak_rss("baseline", pdf, roots, cas)
    for kind, label in (("wallet", "wallet `signing.validate_pdf` (size limit raised to 64 MiB for this test)"),
                        ("raw", "raw pyHanko `validate_pdf_signature` (reference)")):
        peaks = []
        verdict = ""
        for _ in range(3):
            peak, verdict = child_peak_rss(kind, pdf, roots, cas)
            peaks.append(peak)
        peak = sorted(peaks)[1]
        sec.add(f"peak RSS validating the {size / 1e6:.0f} MB PDF: {label}", fmt_mb(peak),
                target="≤ 300 MB" if kind == "wallet" else "", met=(peak <= PEAK_TARGET) if kind == "wallet" else None)
        if not verdict.startswith("ok"):
            sec.notes.append(f"{kind}: the validation did not pass: {verdict}")
    sec.add("baseline: a child that imports pyHanko + signing and reads the file", fmt_mb(base))
    sec.notes.append(f"A {size / 1e6:.1f} MB PDF of {size // (3 * 2**20)} pages of uncompressed scanned images, one agency "
                     "B-B signature. Each figure: median of 3 fresh child processes. The service itself refuses such a "
                     "file before validating it (upload limit 20 MB, `DEFAULT_MAX_SIZE` 32 MiB).")
    return sec
