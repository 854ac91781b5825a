"""PDF fixtures built by code (no binary blobs of unknown origin).

Every function returns ``bytes``.  Signed variants need a pyHanko signer, e.g.
``load_signer(manifest["agencies"]["MJ"]["pkcs12"], manifest["agencies"]["MJ"]["pkcs12_password"])``,
and, for B-T and above, a timestamper from :func:`load_timestamper`.

Hostile variants take an already signed PDF and tamper with it the way an
attacker (or a careless tool) would.
"""

from __future__ import annotations

import re
import zlib
from io import BytesIO
from pathlib import Path
from typing import Literal

import pikepdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext

__all__ = [
    "xref_entries_bomb",
    "many_revisions",
    "loop_certificates_signed",
    "byterange_bomb",
    "Level",
    "add_annotation_after",
    "add_form_field_after",
    "add_page_after",
    "append_bytes_after",
    "base_pdf",
    "binary_signature_field_name",
    "byterange_covers_less",
    "certified_no_changes",
    "decompression_bomb",
    "decompression_bomb_after",
    "document_timestamp",
    "encrypted",
    "flip_byte_in_signed_content",
    "info_only_update_after",
    "load_signer",
    "load_timestamper",
    "malformed_signature_contents",
    "many_signatures",
    "not_pdf",
    "offline_validation_context",
    "other_agency_signed",
    "polyglot",
    "rogue_signed",
    "signed",
    "truncated",
    "unsigned",
    "xmp_metadata_update_after",
    "zeroed_signature_contents",
    # forgery
    "FORGED_TEXT",
    "blank_page_pdf",
    "dss_rewriting_page_content_after",
    "overlay_signed",
    "restyled_signature_widget_after",
    "self_signed_signer",
    "self_signed_timestamper",
    "unreferenced_object_after",
]

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]

DEFAULT_TEXT = "Extrait du casier judiciaire - Bulletin n. 3 - Aucune condamnation"


# --------------------------------------------------------------------------- keys


def load_signer(pkcs12: str | Path, password: str) -> signers.SimpleSigner:
    signer = signers.SimpleSigner.load_pkcs12(str(pkcs12), passphrase=password.encode("utf-8"))
    assert signer is not None, f"cannot load {pkcs12}"
    return signer


def load_timestamper(tsa_cert: str | Path, tsa_key: str | Path) -> DummyTimeStamper:
    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder

    return DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(tsa_cert)),
        tsa_key=load_private_key_from_pemder(str(tsa_key), passphrase=None),
    )


def offline_validation_context(root_pem: str | Path) -> ValidationContext:
    """Context used at signing time to embed validation info (B-LT/B-LTA) with no network."""
    from pyhanko.keys import load_cert_from_pemder

    return ValidationContext(
        trust_roots=[load_cert_from_pemder(str(root_pem))], allow_fetching=False, revocation_mode="soft-fail"
    )


# --------------------------------------------------------------------------- documents


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def base_pdf(text: str = DEFAULT_TEXT, pages: int = 1) -> bytes:
    """A small, real, uncompressed text PDF (so that tests can find and flip signed bytes)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type1,
            BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )
    for n in range(pages):
        lines = [f"Royaume du Maroc - page {n + 1}/{pages}", text, "Document de demonstration (DEMO)"]
        ops = ["BT", "/F1 14 Tf", "72 770 Td", "18 TL"]
        ops += [f"({_pdf_string(line)}) '" for line in lines]
        ops.append("ET")
        content = pdf.make_stream("\n".join(ops).encode("latin-1", "replace"))
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 595, 842],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=content,
        )
        pdf.pages.append(pikepdf.Page(page))
    pdf.docinfo["/Title"] = "Document de demonstration"
    pdf.docinfo["/Producer"] = "tests/pdfgen.py"
    out = BytesIO()
    pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable, deterministic_id=True)
    return out.getvalue()


def unsigned(text: str = DEFAULT_TEXT) -> bytes:
    return base_pdf(text)


def signed(
    pdf: bytes,
    signer: signers.Signer,
    level: Level = "B-B",
    timestamper: DummyTimeStamper | None = None,
    validation_context: ValidationContext | None = None,
    *,
    field_name: str = "AgencySignature",
    certify: bool = False,
    docmdp: fields.MDPPerm | None = None,
    document_json: dict | None = None,
) -> bytes:
    """Sign ``pdf`` as PAdES B-B / B-T / B-LT / B-LTA (incremental update).

    ``document_json``: the push metadata, embedded as the signed ``document.json`` in the signed revision.
    """
    if level != "B-B" and timestamper is None:
        raise ValueError(f"{level} needs a timestamper")
    if level in ("B-LT", "B-LTA") and validation_context is None:
        raise ValueError(f"{level} needs a validation context (see offline_validation_context)")
    meta_kwargs: dict = {}
    if docmdp is not None:
        meta_kwargs["docmdp_permissions"] = docmdp
    meta = PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        embed_validation_info=level in ("B-LT", "B-LTA"),
        use_pades_lta=level == "B-LTA",
        validation_context=validation_context if level in ("B-LT", "B-LTA") else None,
        certify=certify,
        **meta_kwargs,
    )
    w = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    if document_json is not None:
        from signing.metadata import embed_document_json

        embed_document_json(w, document_json)
    out = signers.sign_pdf(w, meta, signer=signer, timestamper=timestamper if level != "B-B" else None)
    return out.getvalue()


def rogue_signed(pdf: bytes, rogue_signer: signers.Signer) -> bytes:
    """Signed by a certificate that impersonates an agency under an unrelated root."""
    return signed(pdf, rogue_signer)


def other_agency_signed(pdf: bytes, other_signer: signers.Signer) -> bytes:
    """Signed (validly) by another agency than the one pushing."""
    return signed(pdf, other_signer)


def certified_no_changes(pdf: bytes, signer: signers.Signer, timestamper: DummyTimeStamper | None = None,
                         document_json: dict | None = None) -> bytes:
    """Certification signature with DocMDP P=1: no change at all is allowed afterwards."""
    return signed(
        pdf, signer, "B-T" if timestamper else "B-B", timestamper, certify=True, docmdp=fields.MDPPerm.NO_CHANGES,
        document_json=document_json,
    )


def document_timestamp(pdf: bytes, timestamper: DummyTimeStamper, field_name: str = "DocTS") -> bytes:
    """Append a PAdES document timestamp (no DSS update)."""
    w = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    out = signers.PdfTimeStamper(timestamper, field_name=field_name).timestamp_pdf(w, "sha256")
    return out.getvalue()


# --------------------------------------------------------------------------- incremental tampering


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(BytesIO(pdf), strict=False)


def _finish(w: IncrementalPdfFileWriter) -> bytes:
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def add_page_after(pdf: bytes, text: str = "Page ajoutee apres signature") -> bytes:
    w = _writer(pdf)
    content = generic.StreamObject(stream_data=f"BT /F1 14 Tf 72 770 Td ({_pdf_string(text)}) Tj ET".encode("latin-1"))
    first_page = w.root["/Pages"]["/Kids"][0].get_object()
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(x) for x in (0, 0, 595, 842)]),
            pdf_name("/Resources"): first_page["/Resources"],
            pdf_name("/Contents"): w.add_object(content),
        }
    )
    w.insert_page(page)
    return _finish(w)


def _first_page_ref(w: IncrementalPdfFileWriter) -> generic.IndirectObject:
    return w.root["/Pages"]["/Kids"].raw_get(0)  # type: ignore[no-any-return]


def _append_annot(w: IncrementalPdfFileWriter, annot_ref: generic.IndirectObject) -> None:
    page_ref = _first_page_ref(w)
    page = page_ref.get_object()
    try:
        annots = page["/Annots"]
    except KeyError:
        annots = generic.ArrayObject()
        page[pdf_name("/Annots")] = annots
        w.update_container(page)
    else:
        w.update_container(annots)
    annots.append(annot_ref)
    w.mark_update(page_ref)


def add_form_field_after(pdf: bytes, name: str = "Remarque", value: str = "Falsifie") -> bytes:
    w = _writer(pdf)
    page_ref = _first_page_ref(w)
    field = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): generic.TextStringObject(name),
            pdf_name("/V"): generic.TextStringObject(value),
            pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(x) for x in (72, 600, 300, 620)]),
            pdf_name("/P"): page_ref,
        }
    )
    field_ref = w.add_object(field)
    if "/AcroForm" not in w.root:
        w.root[pdf_name("/AcroForm")] = generic.DictionaryObject(
            {pdf_name("/Fields"): generic.ArrayObject([field_ref])}
        )
        w.update_root()
    else:
        flds = w.root["/AcroForm"]["/Fields"]  # __getitem__ dereferences, .get() does not
        flds.append(field_ref)
        w.update_container(flds)
    _append_annot(w, field_ref)
    return _finish(w)


def add_annotation_after(pdf: bytes, text: str = "Annule") -> bytes:
    w = _writer(pdf)
    annot = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Contents"): generic.TextStringObject(text),
            pdf_name("/DA"): generic.TextStringObject("/Helv 24 Tf 1 0 0 rg"),
            pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(x) for x in (72, 500, 400, 560)]),
        }
    )
    _append_annot(w, w.add_object(annot))
    return _finish(w)


def info_only_update_after(pdf: bytes, title: str = "Document falsifie") -> bytes:
    """Incremental update that only rewrites the /Info dictionary (pyHanko's default policy shrugs at it)."""
    w = _writer(pdf)
    info_ref = w.trailer.raw_get("/Info")
    info = info_ref.get_object()
    info[pdf_name("/Title")] = generic.TextStringObject(title)
    info[pdf_name("/Subject")] = generic.TextStringObject("Aucune condamnation (modifie)")
    w.mark_update(info_ref)
    return _finish(w)


_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def xmp_metadata_update_after(pdf: bytes, title: str = "Document falsifie") -> bytes:
    """Incremental update that only adds / replaces the XMP metadata stream.

    Written as raw bytes (pyHanko's writer would regenerate the XMP itself).
    """
    r = PdfFileReader(BytesIO(pdf), strict=False)
    root_ref = r.trailer.raw_get("/Root")
    meta_id = int(r.trailer["/Size"])
    root = r.root
    xmp = _XMP.format(title=title).encode("utf-8")
    # re-serialise the catalog with a /Metadata entry
    root_copy = generic.DictionaryObject({k: root.raw_get(k) for k in root})
    root_copy[pdf_name("/Metadata")] = generic.IndirectObject(meta_id, 0, r)
    buf = BytesIO()
    root_copy.write_to_stream(buf)
    meta = b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp + b"\nendstream"
    return _raw_update(pdf, {meta_id: meta, root_ref.idnum: buf.getvalue()}, {root_ref.idnum: root_ref.generation})


def append_bytes_after(pdf: bytes, junk: bytes = b"\n% appended after the signature\n") -> bytes:
    return pdf + junk


# --------------------------------------------------------------------------- byte-level tampering


def _last_contents_span(pdf: bytes) -> tuple[int, int]:
    """(start, end) of the hex digits of the last /Contents <...> signature value."""
    matches = list(re.finditer(rb"/Contents\s*<([0-9A-Fa-f]+)>", pdf))
    assert matches, "no signature /Contents found"
    m = matches[-1]
    return m.start(1), m.end(1)


def flip_byte_in_signed_content(pdf: bytes, needle: bytes = b"Aucune") -> bytes:
    """Change one character of the page text, inside the signed byte range."""
    pos = pdf.find(needle)
    assert pos >= 0, "text not found (is the content stream compressed?)"
    data = bytearray(pdf)
    data[pos] = ord("X")
    return bytes(data)


def zeroed_signature_contents(pdf: bytes) -> bytes:
    start, end = _last_contents_span(pdf)
    return pdf[:start] + b"0" * (end - start) + pdf[end:]


def malformed_signature_contents(pdf: bytes) -> bytes:
    """Replace the CMS blob by a DER header that lies about its length, followed by junk."""
    start, end = _last_contents_span(pdf)
    junk = (b"3082FFFF0609" + b"DEADBEEF" * ((end - start) // 8))[: end - start]
    return pdf[:start] + junk + pdf[end:]


def byterange_covers_less(pdf: bytes, shrink: int = 16) -> bytes:
    """Rewrite the last /ByteRange so that its second part stops ``shrink`` bytes early (same length on disk)."""
    matches = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf))
    assert matches, "no /ByteRange found"
    m = matches[-1]
    a, b, c, d = (int(x) for x in m.groups())
    new = b"/ByteRange [%d %d %d %d]" % (a, b, c, d - shrink)
    old_len = m.end() - m.start()
    new = new[:-1] + b" " * (old_len - len(new)) + b"]"
    return pdf[: m.start()] + new + pdf[m.end() :]


def truncated(pdf: bytes, keep: float = 0.6) -> bytes:
    return pdf[: int(len(pdf) * keep)]


def not_pdf() -> bytes:
    return b"PK\x03\x04 this is a zip archive, not a PDF\n" * 20


def polyglot(pdf: bytes) -> bytes:
    """Junk (a GIF header) in front of %PDF: some readers tolerate it, we should not accept it."""
    return b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\n" + pdf


def encrypted(pdf: bytes, owner: str = "owner-secret", user: str = "") -> bytes:
    with pikepdf.open(BytesIO(pdf)) as src:
        out = BytesIO()
        src.save(out, encryption=pikepdf.Encryption(owner=owner, user=user, R=6))
    return out.getvalue()


# --------------------------------------------------------------------------- resource exhaustion


def _deflate_zeros(prefix: bytes, total: int, chunk: int = 1 << 20) -> bytes:
    """Deflate ``prefix`` + ``total`` zero bytes without holding (or compressing) them all.

    After a full flush the compressor's window is reset and its output byte-aligned, so every
    further chunk of zeros compresses to the same bytes: compress one chunk and repeat it.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate; zlib header/trailer written by hand
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(chunk)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    tail = comp.flush()
    count = max(1, total // chunk)
    # Adler-32 of prefix + zeros: zeros leave A unchanged and add A to B once per byte.
    adler = zlib.adler32(prefix)
    a, b = adler & 0xFFFF, adler >> 16
    b = (b + (count * chunk) * a) % 65521
    return b"\x78\xda" + head + block * count + tail + ((b << 16) | a).to_bytes(4, "big")


def _bomb_payload(prefix: bytes, expanded: int) -> bytes:
    """Twice-deflated: a few kB that expand to ``expanded`` bytes through /FlateDecode /FlateDecode."""
    return zlib.compress(_deflate_zeros(prefix, expanded), 9)


def decompression_bomb(expanded: int = 2 << 30) -> bytes:
    """A PDF whose catalog lives in an object stream that inflates to ``expanded`` bytes (2 GiB by default).

    The reader must decode that object stream to find the catalog, so the limits are hit at parse time.
    """
    header = b"1 0 "
    first = len(header)
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    # the object stream's real content is header + catalog + (expanded) zeros: we deflate the prefix
    # and the zeros as one stream by prepending the prefix to the compressor input.
    payload = _bomb_payload(header + catalog + b" ", expanded)
    out = BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    offsets[2] = out.tell()
    out.write(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
    offsets[3] = out.tell()
    out.write(b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n")
    offsets[4] = out.tell()
    out.write(
        b"4 0 obj\n<< /Type /ObjStm /N 1 /First %d /Filter [/FlateDecode /FlateDecode] /Length %d >>\nstream\n"
        % (first, len(payload))
        + payload
        + b"\nendstream\nendobj\n"
    )
    xref_pos = out.tell()
    # xref stream (object 5), uncompressed, W [1 4 2]
    rows = [b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")]  # obj 0
    rows.append(b"\x02" + (4).to_bytes(4, "big") + (0).to_bytes(2, "big"))  # obj 1 in objstm 4, index 0
    for i in (2, 3, 4):
        rows.append(b"\x01" + offsets[i].to_bytes(4, "big") + (0).to_bytes(2, "big"))
    rows.append(b"\x01" + xref_pos.to_bytes(4, "big") + (0).to_bytes(2, "big"))  # obj 5 itself
    xref_data = b"".join(rows)
    out.write(
        b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(xref_data)
        + xref_data
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_pos
    )
    return out.getvalue()


def decompression_bomb_after(pdf: bytes, expanded: int = 2 << 30) -> bytes:
    """A signed PDF followed by an update whose XMP metadata stream is a 2 GiB bomb."""
    payload = _bomb_payload(b"", expanded)
    r = PdfFileReader(BytesIO(pdf), strict=False)
    root_ref = r.trailer.raw_get("/Root")
    size = int(r.trailer["/Size"])
    root = r.root
    root_copy = generic.DictionaryObject({k: root.raw_get(k) for k in root})
    root_copy[pdf_name("/Metadata")] = generic.IndirectObject(size, 0, r)
    cb = BytesIO()
    root_copy.write_to_stream(cb)
    meta = (b"<< /Type /Metadata /Subtype /XML /Filter [/FlateDecode /FlateDecode] /Length %d >>\nstream\n"
            % len(payload) + payload + b"\nendstream")
    return _raw_update(pdf, {size: meta, root_ref.idnum: cb.getvalue()}, {root_ref.idnum: root_ref.generation})


def many_signatures(n: int = 300) -> bytes:
    """``n`` filled signature fields with dummy (not cryptographic) /V dictionaries."""
    pdf = pikepdf.open(BytesIO(base_pdf()))
    page = pdf.pages[0]
    fields_arr = pikepdf.Array()
    annots = pikepdf.Array()
    for i in range(n):
        sig = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Sig,
                Filter=pikepdf.Name("/Adobe.PPKLite"),
                SubFilter=pikepdf.Name("/ETSI.CAdES.detached"),
                ByteRange=[0, 10, 20, 10],
                Contents=pikepdf.String(b"\x30\x03\x02\x01\x00"),
            )
        )
        fld = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Widget,
                FT=pikepdf.Name.Sig,
                T=pikepdf.String(f"Sig{i}"),
                V=sig,
                Rect=[0, 0, 0, 0],
                P=page.obj,
                F=132,
            )
        )
        fields_arr.append(fld)
        annots.append(fld)
    page.obj.Annots = annots
    pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(Fields=fields_arr, SigFlags=3))
    out = BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


# --------------------------------------------------------------------------- forgery (helper `forgery`)
# Later revisions that must never keep an upload "valid": a visible signature whose appearance paints
# over the page, an unsigned update with one unreferenced object, a restyled agency signature widget,
# an untrusted document timestamp. Keys and certificates are made here with `cryptography` (no files).

FORGED_TEXT = (
    "Extrait du casier judiciaire - Bulletin n. 3",
    "CONDAMNATION : 5 ans d'emprisonnement",
    "Tribunal de premiere instance - dossier 2026/4411",
)


def _self_signed(common_name: str, organisation: str, *, tsa: bool = False) -> tuple[object, object]:
    """(asn1crypto certificate, asn1crypto private key) of a fresh self-signed RSA certificate (pyHanko's
    DummyTimeStamper signs with RSA only)."""
    import datetime as dt

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = cx509.Name([
        cx509.NameAttribute(NameOID.COUNTRY_NAME, "MA"),
        cx509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        cx509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    now = dt.datetime.now(dt.UTC)
    builder = (
        cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if tsa:
        builder = builder.add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    else:
        builder = builder.add_extension(
            cx509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                           encipher_only=False, decipher_only=False), critical=True)
    cert = builder.sign(key, hashes.SHA256())
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            asn1_keys.PrivateKeyInfo.load(der_key))


def self_signed_signer(common_name: str = "Ministère de la Justice",
                       organisation: str = "Ministère de la Justice") -> signers.SimpleSigner:
    """A signer whose self-signed certificate claims to be the ministry (trusted by nobody)."""
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert, key = _self_signed(common_name, organisation)
    return signers.SimpleSigner(signing_cert=cert, signing_key=key,  # type: ignore[arg-type]
                                cert_registry=SimpleCertificateStore.from_certs([cert]))  # type: ignore[list-item]


def self_signed_timestamper(common_name: str = "Horodatage National") -> DummyTimeStamper:
    """An RFC 3161 "TSA" with a self-signed timeStamping certificate (intact tokens, trusted by nobody)."""
    cert, key = _self_signed(common_name, common_name, tsa=True)
    return DummyTimeStamper(tsa_cert=cert, tsa_key=key)  # type: ignore[arg-type]


def _quiet_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    """A writer that leaves /Info and XMP alone (pyHanko bumps /ModDate on every update; a forger's tool need not)."""
    w = _writer(pdf)
    w._update_meta = lambda: None  # type: ignore[method-assign]
    return w


def _page_size(pdf: bytes) -> tuple[float, float]:
    r = PdfFileReader(BytesIO(pdf), strict=False)
    box = r.root["/Pages"]["/Kids"][0].get_object()["/MediaBox"]
    return float(box[2]) - float(box[0]), float(box[3]) - float(box[1])


def overlay_signed(pdf: bytes, signer: signers.Signer, lines: tuple[str, ...] = FORGED_TEXT,
                   field_name: str = "Visa") -> bytes:
    """The attack: a NEW visible signature field whose appearance is a white box over the whole first page
    with other text on it. Viewers (pdfium, poppler) then show only the forger's text."""
    from pyhanko.pdf_utils import content, layout
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    width, height = _page_size(pdf)
    style = TextStampStyle(
        stamp_text="\n".join(lines),
        border_width=0,
        background=content.RawContent(b"1 1 1 rg 0 0 %g %g re f" % (width, height),
                                      box=layout.BoxConstraints(width, height)),
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MIN,
            inner_content_scaling=layout.InnerScaling.STRETCH_FILL),
        text_box_style=TextBoxStyle(font_size=14, leading=20),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(left=72, right=72, top=72, bottom=72),
            inner_content_scaling=layout.InnerScaling.NO_SCALING),
    )
    meta = PdfSignatureMetadata(field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256")
    pdf_signer = signers.PdfSigner(
        meta, signer=signer, stamp_style=style,
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, on_page=0, box=(0, 0, int(width), int(height))),
    )
    out = BytesIO()
    pdf_signer.sign_pdf(_quiet_writer(pdf), output=out)
    return out.getvalue()


def _raw_update(pdf: bytes, objects: dict[int, bytes], generations: dict[int, int] | None = None) -> bytes:
    """An incremental update written byte by byte: ``objects`` (id -> body, generation 0 unless ``generations``
    says otherwise), a classic xref, the trailer (/Size grown to cover the new ids, /Prev, /Info and /ID kept).

    Every hostile update of this module goes through here, so a structural bomb or a smuggled object differs from
    an honest update only in what it writes, never in how the update is framed."""
    r = PdfFileReader(BytesIO(pdf), strict=False)
    gens = generations or {}
    size = max([int(r.trailer["/Size"]), *(i + 1 for i in objects)])
    body = BytesIO()
    body.write(b"\n")
    offsets: dict[int, int] = {}
    for idnum, obj in sorted(objects.items()):
        offsets[idnum] = len(pdf) + body.tell()
        body.write(b"%d %d obj\n" % (idnum, gens.get(idnum, 0)) + obj + b"\nendobj\n")
    xref_pos = len(pdf) + body.tell()
    body.write(b"xref\n")
    for idnum, off in sorted(offsets.items()):
        body.write(b"%d 1\n%010d %05d n\r\n" % (idnum, off, gens.get(idnum, 0)))
    trailer = generic.DictionaryObject({
        pdf_name("/Size"): generic.NumberObject(size),
        pdf_name("/Root"): r.trailer.raw_get("/Root"),
        pdf_name("/Prev"): generic.NumberObject(r.last_startxref),
    })
    for key in ("/Info", "/ID"):
        if key in r.trailer:
            trailer[pdf_name(key)] = r.trailer.raw_get(key)
    tb = BytesIO()
    trailer.write_to_stream(tb)
    body.write(b"trailer\n" + tb.getvalue() + b"\nstartxref\n%d\n%%%%EOF\n" % xref_pos)
    return pdf + body.getvalue()


def unreferenced_object_after(pdf: bytes) -> bytes:
    """An unsigned update adding ONE object that nothing refers to (a content stream smuggled in)."""
    size = int(PdfFileReader(BytesIO(pdf), strict=False).trailer["/Size"])
    data = b"BT /F1 40 Tf 72 500 Td (CONDAMNE) Tj ET"
    return _raw_update(pdf, {size: b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"})


def restyled_signature_widget_after(pdf: bytes, field_name: str = "AgencySignature",
                                    lines: tuple[str, ...] = FORGED_TEXT) -> bytes:
    """An unsigned update giving the EXISTING agency signature widget a new, page-sized appearance."""
    w = _quiet_writer(pdf)
    width, height = _page_size(pdf)
    ops = [b"1 1 1 rg 0 0 %g %g re f 0 0 0 rg BT /F1 14 Tf 72 %g Td 20 TL" % (width, height, height - 72)]
    ops += [b"(%s) '" % _pdf_string(line).encode("latin-1", "replace") for line in lines]
    ops.append(b"ET")
    font = generic.DictionaryObject({pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
                                     pdf_name("/BaseFont"): pdf_name("/Helvetica")})
    ap = generic.StreamObject({
        pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
        pdf_name("/BBox"): generic.ArrayObject([generic.NumberObject(x) for x in (0, 0, int(width), int(height))]),
        pdf_name("/Resources"): generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject(
            {pdf_name("/F1"): font})}),
    }, stream_data=b"\n".join(ops))
    ap_ref = w.add_object(ap)
    for field_ref in w.root["/AcroForm"]["/Fields"]:
        widget = field_ref.get_object()
        if widget.get("/T") != field_name:
            continue
        widget[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap_ref})
        widget[pdf_name("/Rect")] = generic.ArrayObject(
            [generic.NumberObject(x) for x in (0, 0, int(width), int(height))])
        w.mark_update(field_ref)
        return _finish(w)
    raise ValueError(f"no signature field {field_name!r}")


def blank_page_pdf(width: int = 595, height: int = 842) -> bytes:
    """One empty page (a control: an overlay that hides everything renders the same on it)."""
    pdf = pikepdf.new()
    pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, width, height],
                                                     Resources=pikepdf.Dictionary(),
                                                     Contents=pdf.make_stream(b""))))
    out = BytesIO()
    pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable, deterministic_id=True)
    return out.getvalue()


def dss_rewriting_page_content_after(pdf: bytes, text: str = "CONDAMNATION : 5 ans") -> bytes:
    """An update shaped like LTV material: a new /DSS whose /Certs lists the page's EXISTING content stream,
    rewritten in the same update with other text (a DSS update may only add new certificate streams)."""
    r = PdfFileReader(BytesIO(pdf), strict=False)
    size = int(r.trailer["/Size"])
    root_ref = r.trailer.raw_get("/Root")
    page = r.root["/Pages"]["/Kids"][0].get_object()
    content_ref = page.raw_get("/Contents")
    data = f"BT /F1 14 Tf 72 770 Td ({_pdf_string(text)}) Tj ET".encode("latin-1")
    catalog = generic.DictionaryObject({k: r.root.raw_get(k) for k in r.root})
    catalog[pdf_name("/DSS")] = generic.IndirectObject(size, 0, r)
    cb = BytesIO()
    catalog.write_to_stream(cb)
    return _raw_update(pdf, {
        size: b"<< /Certs [%d 0 R] >>" % content_ref.idnum,
        content_ref.idnum: b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream",
        root_ref.idnum: cb.getvalue(),
    })


# --------------------------------------------------------------------------- bounds: structural bombs (issue 11, item 2)


def _signature_object(pdf: bytes) -> tuple[int, generic.DictionaryObject]:
    """(idnum, dictionary) of the last signature value (/V) of the file."""
    r = PdfFileReader(BytesIO(pdf), strict=False)
    found = None
    for _name, _value, field_ref in fields.enumerate_sig_fields(r, filled_status=True):
        found = field_ref.get_object().raw_get("/V")
    assert isinstance(found, generic.IndirectObject), "no signature value found"
    return found.idnum, found.get_object()


def _serialise(obj: generic.PdfObject) -> bytes:
    out = BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


def byterange_bomb(pdf: bytes, ranges: int = 100_000, pad_to: int = 1 << 20) -> bytes:
    """The signature value re-defined in a later update with a /ByteRange of ``ranges`` pairs, each the whole file.

    pyHanko hashes every range before anything else looks at them: ``ranges`` times the file (padded to
    ``pad_to`` bytes with a comment) is what an unchecked validator digests.
    """
    idnum, sig = _signature_object(pdf)
    pad = max(0, pad_to - len(pdf))
    filler = b"<< /Length %d >>\nstream\n" % pad + b"P" * pad + b"\nendstream"
    total = len(pdf) + pad + 256 + 14 * 2 * ranges + len(_serialise(sig))  # an upper bound of the final size
    new = generic.DictionaryObject({k: sig.raw_get(k) for k in sig})
    new[pdf_name("/ByteRange")] = generic.ArrayObject(
        [generic.NumberObject(v) for _ in range(ranges) for v in (0, total)])
    spare = int(PdfFileReader(BytesIO(pdf), strict=False).trailer["/Size"])
    return _raw_update(pdf, {idnum: _serialise(new), spare: filler})


def many_revisions(pdf: bytes, n: int = 3000) -> bytes:
    """``n`` empty incremental updates (an xref section and a trailer each) after the signature."""
    r = PdfFileReader(BytesIO(pdf), strict=False)
    trailer = generic.DictionaryObject({pdf_name("/Size"): generic.NumberObject(int(r.trailer["/Size"])),
                                        pdf_name("/Root"): r.trailer.raw_get("/Root")})
    for key in ("/Info", "/ID"):
        if key in r.trailer:
            trailer[pdf_name(key)] = r.trailer.raw_get(key)
    out = BytesIO()
    out.write(pdf)
    prev = r.last_startxref
    for _ in range(n):
        out.write(b"\n")
        pos = out.tell()
        trailer[pdf_name("/Prev")] = generic.NumberObject(prev)
        out.write(b"xref\n0 1\n0000000000 65535 f\r\ntrailer\n")
        trailer.write_to_stream(out)
        out.write(b"\nstartxref\n%d\n%%%%EOF\n" % pos)
        prev = pos
    return out.getvalue()


def xref_entries_bomb(pdf: bytes, entries: int = 5_000_000) -> bytes:
    """An update whose cross-reference stream declares ``entries`` entries (2 bytes each: ~10 MB for 5 million).

    Every entry says "object in object stream 1": the reader allocates one record per entry, whatever the
    decoding limits (which cap bytes, not entries).
    """
    r = PdfFileReader(BytesIO(pdf), strict=False)
    root = r.trailer.raw_get("/Root")
    first = int(r.trailer["/Size"]) + 1
    rows = b"\x02\x01" * entries  # W [1 1 0]: type 2 (in an object stream), stream number 1, index 0
    xref_pos = len(pdf) + 1
    head = (b"%d 0 obj\n<< /Type /XRef /Size %d /Index [%d %d] /W [1 1 0] /Root %d %d R /Prev %d /Length %d >>\n"
            b"stream\n" % (first - 1, first + entries, first, entries, root.idnum, root.generation,
                           r.last_startxref, len(rows)))
    return pdf + b"\n" + head + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_pos


def loop_certificates_signed(pdf: bytes, n: int = 9) -> bytes:
    """Signed by "CN=Signer", issued by "CN=Loop"; the CMS embeds ``n`` CA certificates all named "CN=Loop",
    each signed by the next one's key: a path builder that follows names explores n! candidate chains."""
    import datetime as dt

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    loop = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Loop")])
    now = dt.datetime.now(dt.UTC)
    ca_keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(n)]

    def cert(subject: cx509.Name, key: ec.EllipticCurvePrivateKey, issuer_key: ec.EllipticCurvePrivateKey,
             ca: bool) -> asn1_x509.Certificate:
        b = (cx509.CertificateBuilder().subject_name(subject).issuer_name(loop).public_key(key.public_key())
             .serial_number(cx509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
             .not_valid_after(now + dt.timedelta(days=365))
             .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            b = b.add_extension(cx509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
        return asn1_x509.Certificate.load(b.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))

    loop_certs = [cert(loop, ca_keys[i], ca_keys[(i + 1) % n], True) for i in range(n)]
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_cert = cert(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Signer")]), signer_key, ca_keys[0],
                       False)
    key_info = asn1_keys.PrivateKeyInfo.load(signer_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    signer = signers.SimpleSigner(signing_cert=signer_cert, signing_key=key_info,
                                  cert_registry=SimpleCertificateStore.from_certs(loop_certs))
    return signed(pdf, signer)


# --------------------------------------------------------------------------- metadata (helper: metadata)


def with_raw_document_json(pdf: bytes, raw: bytes, *, name: str = "document.json", mime: str | None = "application/json",
                           relationship: str | None = "/Data", in_af: bool = True, compress: bool = False) -> bytes:
    """``pdf`` plus an embedded file holding ``raw`` as is (hostile document.json variants); unsigned update."""
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file

    w = _writer(pdf)
    ef = EmbeddedFileObject.from_file_data(w, raw, compress=compress, mime_type=mime,
                                           params=EmbeddedFileParams(embed_checksum=False))
    spec = FileSpec(file_spec_string=name, file_name=name, embedded_data=ef,
                    af_relationship=generic.NameObject(relationship) if relationship else None)
    embed_file(w, spec)
    if relationship and not in_af:
        del w.root["/AF"]
        w.update_root()
    return _finish(w)


def document_json_after(pdf: bytes, meta: dict) -> bytes:
    """An already signed ``pdf`` with ``document.json`` added in a LATER, unsigned incremental update."""
    from signing.metadata import document_json_bytes

    return with_raw_document_json(pdf, document_json_bytes(meta))


def deep_json(depth: int = 100_000) -> bytes:
    return b'{"attributes": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


def huge_json(size: int = 4 * 1024 * 1024) -> bytes:
    return b'{"title": "' + b"A" * size + b'"}'


# --------------------------------------------------------------------------- faults (fuzzing finds)


def binary_signature_field_name(pdf: bytes) -> bytes:
    """The signature field's ``/T`` rewritten in place as a literal string of bytes that no PDF text encoding
    decodes (NUL, 0xFF ...), same length, so every offset still holds. pyHanko then names the field with a
    ``ByteStringObject``, which reached the upload's JSON answer (500). Found by tests/fuzz (upload target)."""
    old = b"/T (AgencySignature)"
    assert old in pdf, "expects pdfgen.signed()'s default field name"
    new = b"/T (Agency\x00\xff\x00\xfeature)"
    assert len(new) == len(old)
    return pdf.replace(old, new, 1)
