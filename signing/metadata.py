"""Signed metadata: the ``document.json`` embedded file an agency adds to its PDF before signing it.

Format (docs/signed-metadata.md): an embedded file named ``document.json`` listed both in the catalog's
``/Names /EmbeddedFiles`` name tree and in the catalog's ``/AF`` array, with ``/AFRelationship /Data`` and the
MIME type ``application/json``; its content is a UTF-8 JSON object with the push metadata's own field names.

:func:`read_signed_metadata` reads it from ONE revision (the one a signature signed, through pyHanko's
historical resolver), so a ``document.json`` added or changed after that signature is not seen.  Every byte is
hostile: the name tree walk, the stream size, the JSON size, depth and keys are bounded, and a bad file gives a
:class:`MetadataReading` with an ``error`` code instead of an exception.  Nothing here imports Flask.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Final, Literal

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from .limits import Limits, TooComplex, reading

__all__ = [
    "ALLOWED_KEYS",
    "FILE_NAME",
    "MAX_DEPTH",
    "MAX_JSON_BYTES",
    "MetadataError",
    "MetadataReading",
    "document_json_bytes",
    "embed_document_json",
    "peek_metadata",
    "read_signed_metadata",
]

FILE_NAME = "document.json"
MIME_TYPE = "application/json"
ALLOWED_KEYS = frozenset({"holder_id", "type", "reference", "issued_at", "expires_at", "title", "attributes",
                          "replaces"})
MAX_JSON_BYTES = 16 * 1024
"""The push's own ``metadata`` part is at most 8 KiB of JSON; the embedded copy gets twice that."""
MAX_DEPTH = 8
MAX_NAME_TREE_NODES = 64
MAX_NAME_TREE_DEPTH = 4
MAX_ENTRIES = 256

# error codes (stable: the push turns them into ``422 metadata_mismatch`` with ``field: document.json``)
ABSENT: Final = "document_json_absent"
MALFORMED: Final = "document_json_malformed"
TOO_LARGE: Final = "document_json_too_large"
NOT_UTF8: Final = "document_json_not_utf8"
BAD_JSON: Final = "document_json_invalid"
TOO_DEEP: Final = "document_json_too_deep"
NOT_OBJECT: Final = "document_json_not_object"
DUPLICATE_KEY: Final = "document_json_duplicate_key"
UNKNOWN_KEY: Final = "document_json_unknown_key"
MetadataError = Literal["document_json_absent", "document_json_malformed", "document_json_too_large",
                        "document_json_not_utf8", "document_json_invalid", "document_json_too_deep",
                        "document_json_not_object", "document_json_duplicate_key", "document_json_unknown_key"]
"""Why a revision's ``document.json`` could not be read (:attr:`MetadataReading.error`)."""


@dataclass(frozen=True)
class MetadataReading:
    """What a revision says about itself: ``values`` (plain JSON data) or an ``error`` code with a detail."""

    values: dict[str, Any] | None = None
    error: MetadataError | None = None
    detail: str | None = None
    revision: int | None = None

    @property
    def present(self) -> bool:
        return self.values is not None

    def to_dict(self) -> dict[str, Any]:
        return {"values": self.values, "error": self.error, "detail": self.detail, "revision": self.revision}


class _Bad(Exception):
    def __init__(self, code: MetadataError, detail: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


# --------------------------------------------------------------------------- writing


def document_json_bytes(meta: dict[str, Any]) -> bytes:
    """The canonical encoding the wallet's own tools use (any UTF-8 JSON object with the same values is fine)."""
    unknown = set(meta) - ALLOWED_KEYS
    if unknown:
        raise ValueError(f"unknown metadata fields: {', '.join(sorted(unknown))}")
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def embed_document_json(writer: BasePdfFileWriter, meta: dict[str, Any]) -> None:
    """Add ``document.json`` to ``writer`` (e.g. an ``IncrementalPdfFileWriter`` about to be signed).

    Sign with the same writer afterwards (``signers.sign_pdf(writer, ...)``): the embedded file is then in the
    signed revision.
    """
    data = document_json_bytes(meta)
    ef = EmbeddedFileObject.from_file_data(writer, data, compress=False, mime_type=MIME_TYPE,
                                           params=EmbeddedFileParams(embed_checksum=False))
    embed_file(writer, FileSpec(file_spec_string=FILE_NAME, file_name=FILE_NAME, embedded_data=ef,
                                description="Signed document metadata",
                                af_relationship=generic.NameObject("/Data")))


# --------------------------------------------------------------------------- reading


def _deref(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, generic.IndirectObject) else obj


def _find_in_name_tree(node: Any, depth: int, budget: list[int]) -> Any:
    node = _deref(node)
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_NAME_TREE_DEPTH:
        raise _Bad(MALFORMED, "the EmbeddedFiles name tree is too large or too deep")
    if not isinstance(node, generic.DictionaryObject):
        raise _Bad(MALFORMED, "an EmbeddedFiles name tree node is not a dictionary")
    found = None
    if "/Names" in node:
        names = _deref(node.raw_get("/Names"))
        if not isinstance(names, generic.ArrayObject) or len(names) % 2 or len(names) > 2 * MAX_ENTRIES:
            raise _Bad(MALFORMED, "the EmbeddedFiles /Names array is malformed")
        for i in range(0, len(names), 2):
            key = _deref(names[i])
            if isinstance(key, (generic.TextStringObject, generic.ByteStringObject)) and str(key) == FILE_NAME:
                if found is not None:
                    raise _Bad(MALFORMED, "document.json is embedded more than once")
                found = names.raw_get(i + 1)
    if "/Kids" in node:
        kids = _deref(node.raw_get("/Kids"))
        if not isinstance(kids, generic.ArrayObject) or len(kids) > MAX_NAME_TREE_NODES:
            raise _Bad(MALFORMED, "the EmbeddedFiles /Kids array is malformed")
        for j in range(len(kids)):
            hit = _find_in_name_tree(kids.raw_get(j), depth + 1, budget)
            if hit is not None:
                if found is not None:
                    raise _Bad(MALFORMED, "document.json is embedded more than once")
                found = hit
    return found


def _same_object(a: Any, b: Any) -> bool:
    if isinstance(a, generic.IndirectObject) and isinstance(b, generic.IndirectObject):
        return bool(a.reference == b.reference)
    return a is b


def _stream_bytes(stream: generic.StreamObject) -> bytes:
    raw = stream.encoded_data
    if len(raw) > 4 * MAX_JSON_BYTES + 1024:
        raise _Bad(TOO_LARGE, f"document.json is larger than {MAX_JSON_BYTES} bytes")
    filters = stream.get("/Filter")
    if filters is None:
        chain: list[str] = []
    elif isinstance(filters, generic.NameObject):
        chain = [str(filters)]
    elif isinstance(filters, generic.ArrayObject) and len(filters) <= 1:
        chain = [str(f) for f in filters]
    else:
        raise _Bad(MALFORMED, "document.json may only be stored plain or with one /FlateDecode filter")
    if chain and (chain != ["/FlateDecode"] or "/DecodeParms" in stream):
        raise _Bad(MALFORMED, "document.json may only be stored plain or with one /FlateDecode filter")
    if not chain:
        data = bytes(raw)
    else:
        try:
            d = zlib.decompressobj()
            data = d.decompress(bytes(raw), MAX_JSON_BYTES + 1)
        except zlib.error as exc:
            raise _Bad(MALFORMED, "document.json: broken /FlateDecode data") from exc
    if len(data) > MAX_JSON_BYTES:
        raise _Bad(TOO_LARGE, f"document.json is larger than {MAX_JSON_BYTES} bytes")
    return data


def _locate(root: generic.DictionaryObject) -> bytes:
    names = _deref(root.raw_get("/Names")) if "/Names" in root else None
    if not isinstance(names, generic.DictionaryObject) or "/EmbeddedFiles" not in names:
        raise _Bad(ABSENT, "the signed revision carries no document.json")
    spec_ref = _find_in_name_tree(names.raw_get("/EmbeddedFiles"), 0, [MAX_NAME_TREE_NODES])
    if spec_ref is None:
        raise _Bad(ABSENT, "the signed revision carries no document.json")
    spec = _deref(spec_ref)
    if not isinstance(spec, generic.DictionaryObject):
        raise _Bad(MALFORMED, "the document.json file specification is not a dictionary")
    af = _deref(root.raw_get("/AF")) if "/AF" in root else None
    if not isinstance(af, generic.ArrayObject) or len(af) > MAX_ENTRIES or \
            not any(_same_object(af.raw_get(i), spec_ref) for i in range(len(af))):
        raise _Bad(MALFORMED, "document.json is not listed in the catalog's /AF array")
    if spec.get("/AFRelationship") != "/Data":
        raise _Bad(MALFORMED, "document.json must have /AFRelationship /Data")
    ef = _deref(spec.raw_get("/EF")) if "/EF" in spec else None
    if not isinstance(ef, generic.DictionaryObject):
        raise _Bad(MALFORMED, "the document.json file specification has no /EF dictionary")
    streams = [_deref(ef.raw_get(k)) for k in ("/UF", "/F") if k in ef]
    if not streams or not all(isinstance(s, generic.StreamObject) for s in streams):
        raise _Bad(MALFORMED, "the document.json file specification has no embedded stream")
    if len(streams) == 2 and not _same_object(ef.raw_get("/UF"), ef.raw_get("/F")):
        raise _Bad(MALFORMED, "document.json: /EF /F and /UF point to different streams")
    stream = streams[0]
    if stream.get("/Subtype") != "/" + MIME_TYPE:
        raise _Bad(MALFORMED, "document.json must have the MIME type application/json")
    return _stream_bytes(stream)


def _check_depth(text: str) -> None:
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _Bad(TOO_DEEP, f"document.json nests deeper than {MAX_DEPTH} levels")
        elif ch in "]}":
            depth -= 1


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Bad(DUPLICATE_KEY, f"document.json repeats the key {k[:64]!r}")
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise _Bad(BAD_JSON, f"document.json contains {name}, which JSON does not allow")


def parse_document_json(data: bytes) -> dict[str, Any]:
    """Decode and check the JSON text (raises :class:`ValueError` subclasses internally; use the readers)."""
    if len(data) > MAX_JSON_BYTES:
        raise _Bad(TOO_LARGE, f"document.json is larger than {MAX_JSON_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(NOT_UTF8, "document.json is not UTF-8") from exc
    if text.startswith("\ufeff"):
        raise _Bad(NOT_UTF8, "document.json starts with a byte order mark")
    _check_depth(text)
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except _Bad:
        raise
    except (ValueError, RecursionError) as exc:
        raise _Bad(BAD_JSON, "document.json is not valid JSON") from exc
    if not isinstance(value, dict):
        raise _Bad(NOT_OBJECT, "document.json must be a JSON object")
    unknown = sorted(set(value) - ALLOWED_KEYS)
    if unknown:
        raise _Bad(UNKNOWN_KEY, f"document.json has an unknown field {unknown[0][:64]!r}")
    return value


def read_signed_metadata(revision: HistoricalResolver) -> MetadataReading:
    """``document.json`` as the given revision (a signature's ``signed_revision``) has it; never raises."""
    try:
        data = _locate(revision.root)
        return MetadataReading(values=parse_document_json(data), revision=revision.revision)
    except _Bad as bad:
        return MetadataReading(error=bad.code, detail=bad.detail, revision=revision.revision)
    except (RecursionError, MemoryError):
        return MetadataReading(error=MALFORMED, detail="document.json: resource limit", revision=revision.revision)
    except Exception as exc:  # noqa: BLE001 -- the PDF stack raises everything
        return MetadataReading(error=MALFORMED, detail=f"document.json unreadable ({exc.__class__.__name__})",
                               revision=revision.revision)


def peek_metadata(data: bytes, *, decode_limits: Any = None, limits: Limits | None = None) -> MetadataReading:
    """``document.json`` of the file's LAST revision, before any validation (the push's metadata part omitted).

    It only tells the push which type and reference the file claims; the values are checked again after
    validation against the revision the agency's signature covers. It runs in the caller's process, so the
    structural limits (revisions, cross-reference entries: :mod:`signing.limits`) apply while the file is read.
    """
    try:
        with reading(limits or Limits()):
            reader = PdfFileReader(BytesIO(data), strict=True, decode_limits=decode_limits)
            if reader.encrypted:
                return MetadataReading(error=MALFORMED, detail="encrypted PDF")
            return read_signed_metadata(reader.get_historical_resolver(reader.xrefs.total_revisions - 1))
    except TooComplex as exc:
        return MetadataReading(error=MALFORMED, detail=f"too complex: {exc}")
    except (RecursionError, MemoryError):
        return MetadataReading(error=MALFORMED, detail="unreadable PDF (resource limit)")
    except Exception as exc:  # noqa: BLE001
        return MetadataReading(error=MALFORMED, detail=f"unreadable PDF ({exc.__class__.__name__})")
