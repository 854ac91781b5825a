"""Benchmark documents: realistic agency PDFs padded to a target size with an embedded photo, signed
by the demo agency keys BEFORE anything is timed (in a process pool: signing is CPU-bound)."""
from __future__ import annotations

import datetime as dt
import io
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pikepdf
from PIL import Image, ImageFilter
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from signing.keys import Pkcs12Custody
from signing.metadata import embed_document_json
from wallet.catalogue import TYPES
from wallet.demo.push import build_document

AGENCY_TYPES = (("MJ", "criminal_record"), ("MJ", "nationality"), ("MEN", "school_report"),
                ("MEN", "school_certificate"), ("OMPIC", "commerce_register"))
FIRST_NAMES = ("Amina", "Youssef", "Fatima", "Mehdi", "Khadija", "Omar", "Salma", "Hamza", "Imane", "Rachid")
LAST_NAMES = ("El Idrissi", "Benali", "Alaoui", "Berrada", "Tazi", "Chraibi", "Bennani", "Fassi", "Lahlou", "Kettani")


@dataclass(frozen=True)
class BenchDoc:
    agency: str
    pdf: bytes
    meta: dict[str, Any]
    variants: dict[str, bytes] = field(default_factory=dict)
    """suffix -> the same document signed with ``reference + suffix`` in its document.json (one per round)."""


@lru_cache(maxsize=64)
def photo_jpeg(nbytes: int, seed: int = 7) -> bytes:
    """A photo-like JPEG (smooth gradient + grain) of about ``nbytes`` (the scanned seal / ID photo of a
    real certificate): incompressible, like the images that make real certificates 100 KB."""
    rng = random.Random(seed)
    side = 200
    while True:
        noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).filter(ImageFilter.GaussianBlur(1))
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=85)
        if out.tell() >= nbytes or side > 4000:
            break
        side = int(side * max(1.05, min(2.0, (nbytes / max(out.tell(), 1)) ** 0.5)))
    # shrink in small steps to land close to the target
    best = out.getvalue()
    for q in range(85, 20, -5):
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=q)
        if out.tell() <= nbytes:
            return out.getvalue()
        best = out.getvalue()
    return best


def _pdf_str(text: str) -> bytes:
    data = text.encode("cp1252", "replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_pdf(lines: list[str], title: str) -> bytes:
    """A one-page A4 text certificate (Helvetica, WinAnsi), compressed like a real producer writes it."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica,
                                                Encoding=pikepdf.Name.WinAnsiEncoding))
    ops = [b"BT /F1 11 Tf 56 640 Td 15 TL"]
    ops += [_pdf_str(line) + b" '" for line in lines]
    ops.append(b"ET")
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
                              Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                              Contents=pdf.make_stream(b"\n".join(ops)))
    pdf.pages.append(pikepdf.Page(page))
    pdf.docinfo["/Title"] = title
    pdf.docinfo["/Producer"] = "bench/docs.py"
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


def add_photo(pdf_bytes: bytes, jpeg: bytes, width_px: int, height_px: int) -> bytes:
    """Draw ``jpeg`` in the top-right corner of page 1 (a new image XObject + a content stream)."""
    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    page = pdf.pages[0]
    img = pdf.make_stream(jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width_px,
                          Height=height_px, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                          Filter=pikepdf.Name.DCTDecode)
    resources = page.obj.get("/Resources") or pikepdf.Dictionary()
    xobjects = resources.get("/XObject") or pikepdf.Dictionary()
    xobjects["/BenchPhoto"] = img
    resources["/XObject"] = xobjects
    page.obj["/Resources"] = resources
    page.contents_add(pdf.make_stream(b"q 120 0 0 120 420 690 cm /BenchPhoto Do Q"), prepend=False)
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as im:
        return im.size


def unsigned_document(i: int, code: str, doc_type: str, holder_id: str, holder_name: str, reference: str,
                      issued_at: dt.datetime, target_bytes: int, rng: random.Random) -> tuple[bytes, dict[str, Any]]:
    """The demo agency document (wallet.demo.documents when present, else a plain text certificate),
    padded with a photo to about ``target_bytes``."""
    try:
        pdf, meta = build_document(code, doc_type, holder_id, holder_name, reference, issued_at, rng)
    except ImportError:  # the demo document generator is not there: a text certificate of our own

        t = TYPES[doc_type]
        expires = t.default_expiry(issued_at)
        lines = ["ROYAUME DU MAROC", t.names["fr"], "", f"Reference : {reference}", f"Titulaire : {holder_name}",
                 f"Numero de la carte nationale : {holder_id}", f"Delivre le : {issued_at:%d/%m/%Y}"]
        lines += [f"Mention {n + 1} : " + " ".join(rng.choice(("neant", "conforme", "valide", "registre", "extrait",
                                                               "certifie", "original")) for _ in range(8))
                  for n in range(12)]
        pdf = text_pdf(lines, t.names["fr"])
        meta = {"holder_id": holder_id, "type": doc_type, "reference": reference,
                "issued_at": issued_at.isoformat(timespec="seconds"), "title": t.names["fr"],
                "attributes": {"holder_name": holder_name}}
        if expires:
            meta["expires_at"] = expires.isoformat(timespec="seconds")
    missing = target_bytes - len(pdf) - 2_000  # the signature adds a few kB
    if missing > 2_000:
        jpeg = photo_jpeg(missing // 10_000 * 10_000)  # few distinct sizes: the JPEG is cached
        w, h = jpeg_size(jpeg)
        pdf = add_photo(pdf, jpeg, w, h)
    return pdf, meta


# ---------------------------------------------------------------------------- signing pool

_SIGNERS: dict[str, Any] = {}


def _init_signers(agencies: list[dict[str, Any]]) -> None:
    # the key parsed once (pyHanko's SimpleSigner re-parses it on every signature): pre-generation only

    for a in agencies:
        _SIGNERS[a["code"]] = Pkcs12Custody(a["pkcs12"], a["pkcs12_password"]).signer()


def sign_agency(pdf: bytes, code: str, meta: dict[str, Any] | None = None) -> bytes:
    """What the agency simulator (wallet.demo.push.AgencyClient.sign) does: document.json, one B-B signature."""

    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if meta is not None:
        embed_document_json(w, meta)
    out = signers.sign_pdf(w,
                           signers.PdfSignatureMetadata(field_name="AgencySignature", reason="Document officiel",
                                                        location="Rabat"),
                           signer=_SIGNERS[code])
    return out.getvalue()  # type: ignore[no-any-return]


def _make(args: tuple[int, str, str, str, str, int, int, tuple[str, ...]]) -> BenchDoc:
    i, code, doc_type, holder_id, reference, target, seed, suffixes = args
    rng = random.Random(seed * 1_000_003 + i)
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    issued = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=rng.randint(0, 20))
    pdf, meta = unsigned_document(i, code, doc_type, holder_id, name, reference, issued, target, rng)
    variants = {sfx: sign_agency(pdf, code, dict(meta, reference=meta["reference"] + sfx)) for sfx in suffixes}
    return BenchDoc(code, sign_agency(pdf, code, meta), meta, variants)


def make_documents(agencies: list[dict[str, Any]], n: int, *, target_bytes: int = 100_000, seed: int = 1,
                   holder_id: str | None = None, prefix: str = "BENCH", processes: int | None = None,
                   suffixes: tuple[str, ...] = (),
                   kinds: tuple[tuple[str, str], ...] = AGENCY_TYPES) -> list[BenchDoc]:
    """``n`` signed documents, round-robin over the demo agencies and their types; each also signed once per
    reference suffix (the signed document.json names the reference, so a round needs its own files)."""
    tasks = []
    for i in range(n):
        code, doc_type = kinds[i % len(kinds)]
        holder = holder_id or f"BK{(seed * 100_000 + i) % 1_000_000:06d}"
        tasks.append((i, code, doc_type, holder, f"{prefix}-{seed}-{i:06d}-{os.urandom(3).hex()}", target_bytes,
                      seed, suffixes))
    procs = processes or min(os.cpu_count() or 1, 4)
    if procs <= 1 or n < 8:
        _init_signers(agencies)
        return [_make(t) for t in tasks]
    with ProcessPoolExecutor(procs, initializer=_init_signers, initargs=(agencies,)) as pool:
        return list(pool.map(_make, tasks, chunksize=max(1, n // (procs * 8))))
