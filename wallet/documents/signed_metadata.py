"""Signed metadata at push (PRODUCT.md, Hardening): the push's metadata must be what the agency signed.

The PDF carries ``document.json`` (read by :mod:`signing.metadata` inside the validation, from the revision the
agency's signature covers). Three small steps, kept apart from :func:`wallet.documents.service.push`:

* :func:`metadata_from_file` -- the ``metadata`` part left out: the file's own ``document.json`` stands in;
* :func:`same_metadata` -- an identical replay is the same file AND the same metadata;
* :func:`check_signed_metadata` -- after the signature checks: ``422 metadata_mismatch`` naming the field.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import ValidationError

from signing import MetadataReading, SignatureReport, peek_metadata
from signing.metadata import ABSENT
from signing.policy import WALLET_DECODE_LIMITS
from wallet.catalogue import TYPES
from wallet.documents.schemas import DocumentMetadata
from wallet.errors import BadMetadata, Unprocessable, UnsupportedMedia

FIELDS = ("holder_id", "type", "reference", "issued_at", "expires_at", "title", "attributes", "replaces")
DOCUMENT_JSON = "document.json"
_schema = DocumentMetadata()


def mismatch(field: str, detail: str, **extra: Any) -> Unprocessable:
    return Unprocessable(detail, code="metadata_mismatch", extra={"field": field, **extra})


def _load_embedded(values: dict[str, Any]) -> dict[str, Any]:
    try:
        return _schema.load(values)  # type: ignore[no-any-return]
    except ValidationError as exc:
        first = sorted(exc.messages)[0] if isinstance(exc.messages, dict) and exc.messages else DOCUMENT_JSON
        raise mismatch(DOCUMENT_JSON, f"document.json: invalid field {first}",
                       errors=exc.messages) from exc


def metadata_from_file(data: bytes) -> dict[str, Any]:
    """The push metadata taken from the file (the ``metadata`` part was left out)."""
    if not data.startswith(b"%PDF-"):
        raise UnsupportedMedia("the file is not a PDF (it must start with %PDF-)", code="not_a_pdf")
    reading = peek_metadata(data, decode_limits=WALLET_DECODE_LIMITS)
    if reading.error == ABSENT:
        raise BadMetadata("the metadata part is required: the file carries no document.json")
    if reading.values is None:
        raise mismatch(DOCUMENT_JSON, reading.detail or "document.json is unreadable", reason=reading.error)
    return _load_embedded(reading.values)


def _instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # stored as UTC
        value = value.replace(tzinfo=dt.UTC)
    return value  # type: ignore[no-any-return]


def same_metadata(stored: Any, meta: dict[str, Any]) -> bool:
    """Does ``meta`` (a loaded metadata part) describe the stored document exactly (instants as instants)?"""
    expires = meta.get("expires_at") or TYPES[meta["type"]].default_expiry(meta["issued_at"])
    return (stored.holder_id == meta["holder_id"].upper() and stored.type == meta["type"]
            and _instant(stored.issued_at) == meta["issued_at"] and _instant(stored.expires_at) == _instant(expires)
            and stored.title == meta.get("title") and (stored.attributes or {}) == (meta.get("attributes") or {})
            and stored.replaces_id == meta.get("replaces"))


def _differs(field: str, pushed: Any, signed: Any) -> bool:
    if field in ("issued_at", "expires_at"):
        return _instant(pushed) != _instant(signed)
    if field == "attributes":
        return (pushed or {}) != (signed or {})
    return bool(pushed != signed)


def check_signed_metadata(reading: MetadataReading | None, meta: dict[str, Any], legacy: bool) -> None:
    """Raise ``422 metadata_mismatch`` unless the signed ``document.json`` says exactly what ``meta`` says.

    ``legacy`` (the agency's ``legacy_metadata`` flag) only excuses a file that carries no ``document.json``;
    a broken or different one is refused all the same.
    """
    if reading is None or reading.error == ABSENT:
        if legacy:
            return
        raise mismatch(DOCUMENT_JSON, "the agency's signature does not cover a document.json "
                                      "(docs/signed-metadata.md)", reason=ABSENT)
    if reading.values is None:
        raise mismatch(DOCUMENT_JSON, reading.detail or "document.json is unreadable", reason=reading.error)
    signed = _load_embedded(reading.values)
    for field in FIELDS:
        if _differs(field, meta.get(field), signed.get(field)):
            raise mismatch(field, f"{field} differs from the signed document.json")


def signed_reading(sig: SignatureReport | None) -> MetadataReading | None:
    return sig.metadata if sig is not None else None
