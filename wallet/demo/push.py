"""Agency simulator: generate realistic documents, sign them with the agency's key, push them over HTTP.

Integrators can copy this: it is exactly what an agency's system does.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from signing.metadata import embed_document_json
from wallet.catalogue import TYPES
from wallet.demo.agencies import DEMO_AGENCIES
from wallet.demo.bodies import demo_content
from wallet.demo.documents import make_document_pdf


@dataclass
class AgencyClient:
    base_url: str
    code: str
    api_key: str
    signer: signers.Signer
    session: requests.Session

    @classmethod
    def from_demo(cls, demo: dict[str, Any], code: str) -> AgencyClient:
        spec = next((a for a in demo["agencies"] if a["code"] == code.upper()), None)
        if spec is None:
            raise KeyError(f"no demo agency {code}")
        signer = signers.SimpleSigner.load_pkcs12(spec["pkcs12"], passphrase=spec["pkcs12_password"].encode())
        if signer is None:
            raise ValueError(f"cannot open {spec['pkcs12']}")
        return cls(demo["base_url"].rstrip("/"), spec["code"], spec["api_key"], signer, requests.Session())

    def sign(self, pdf: bytes, metadata: dict[str, Any] | None = None) -> bytes:
        """Sign ``pdf``; with ``metadata``, embed it first as the signed document.json (docs/signed-metadata.md)."""
        w = IncrementalPdfFileWriter(io.BytesIO(pdf))
        if metadata is not None:
            embed_document_json(w, metadata)
        out: io.BytesIO = signers.sign_pdf(w,  # pyHanko leaves its return type out: the output stream
                               signers.PdfSignatureMetadata(field_name="AgencySignature",
                                                            reason="Document officiel", location="Rabat"),
                               signer=self.signer)
        return out.getvalue()

    def push(self, pdf: bytes, metadata: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.base_url}/api/v1/documents",
                                 headers={"Authorization": f"Bearer {self.api_key}"},
                                 files={"file": ("document.pdf", pdf, "application/pdf")},
                                 data={"metadata": json.dumps(metadata)}, timeout=120)

    def push_batch(self, entries: list[tuple[str, bytes, dict[str, Any]]]) -> requests.Response:
        """POST /api/v1/batches: the manifest part first, then one file part per entry (part name, PDF, metadata)."""
        manifest = {"documents": [{"file": part, "metadata": meta} for part, _, meta in entries]}
        files: list[tuple[str, tuple[str | None, bytes | str, str]]] = [
            ("manifest", (None, json.dumps(manifest), "application/json"))]
        files += [(part, (f"{part}.pdf", pdf, "application/pdf")) for part, pdf, _ in entries]
        return self.session.post(f"{self.base_url}/api/v1/batches", headers={"Authorization": f"Bearer {self.api_key}"},
                                 files=files, timeout=600)

    def batch(self, batch_id: str) -> dict[str, Any]:
        resp = self.session.get(f"{self.base_url}/api/v1/batches/{batch_id}",
                                headers={"Authorization": f"Bearer {self.api_key}"}, timeout=60)
        resp.raise_for_status()
        out: dict[str, Any] = resp.json()
        return out


def build_document(code: str, doc_type: str, holder_id: str, holder_name: str, reference: str,
                   issued_at: dt.datetime, rng: random.Random) -> tuple[bytes, dict[str, Any]]:
    """An unsigned realistic PDF and its metadata."""
    spec = next(a for a in DEMO_AGENCIES if a["code"] == code)
    t = TYPES[doc_type]
    expires_at = t.default_expiry(issued_at)
    facts, body = demo_content(doc_type, holder_name, rng)  # the signed attributes say what the page says
    pdf = make_document_pdf(agency_code=code, agency_name=spec["names"]["fr"], agency_name_ar=spec["names"]["ar"],
                            doc_type=doc_type, type_name_fr=t.names["fr"], type_name_ar=t.names["ar"],
                            holder_name=holder_name, holder_id=holder_id, reference=reference, issued_at=issued_at,
                            expires_at=expires_at, body_lines_fr=body)
    meta = {"holder_id": holder_id, "type": doc_type, "reference": reference,
            "issued_at": issued_at.isoformat(timespec="seconds"), "title": t.names["fr"],
            "attributes": {"holder_name": holder_name, **facts}}
    if expires_at:
        meta["expires_at"] = expires_at.isoformat(timespec="seconds")
    return pdf, meta


def generate(client: AgencyClient, holder_id: str, holder_name: str, doc_type: str, count: int,
             seed: int | None = None, reference_prefix: str | None = None) -> Iterator[requests.Response]:
    rng = random.Random(seed)  # noqa: S311 - demo content, not secrets
    for i in range(count):
        reference = (f"{reference_prefix}-{i + 1:04d}" if reference_prefix
                     else f"{client.code}-{dt.date.today():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}")
        issued = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=rng.randint(0, 20))
        pdf, meta = build_document(client.code, doc_type, holder_id, holder_name, reference, issued, rng)
        yield client.push(client.sign(pdf, meta), meta)


BAD_KINDS = ("unsigned", "not_a_pdf", "metadata_mismatch")


def build_batch(client: AgencyClient, count: int, doc_type: str, holder_id: str | None, holder_name: str,
                seed: int | None = None, bad: int = 0, progress: Callable[[], None] | None = None,
                ) -> list[tuple[str, bytes, dict[str, Any]]]:
    """``count`` signed documents (a term's school reports: one pupil each unless ``holder_id`` is given), then
    ``bad`` bad ones in turn unsigned, not a PDF, and signed with other metadata than the manifest says."""
    rng = random.Random(seed)  # noqa: S311 - demo content, not secrets
    run = uuid.uuid4().hex[:6].upper()
    entries = []
    for i in range(count + bad):
        reference = f"{client.code}-{dt.date.today():%Y%m%d}-{run}-{i + 1:04d}"
        holder = holder_id or f"S{rng.randrange(10 ** 8, 10 ** 9)}"
        issued = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=rng.randint(0, 20))
        pdf, meta = build_document(client.code, doc_type, holder, holder_name, reference, issued, rng)
        kind = BAD_KINDS[(i - count) % len(BAD_KINDS)] if i >= count else None
        if kind == "unsigned":
            data = pdf
        elif kind == "not_a_pdf":
            data = b"GIF89a" + pdf[:64]
        elif kind == "metadata_mismatch":
            data = client.sign(pdf, meta)
            meta = {**meta, "title": "Autre titre"}
        else:
            data = client.sign(pdf, meta)
        entries.append((f"doc{i + 1:04d}", data, meta))
        if progress is not None:
            progress()
    return entries
