"""Structural limits checked before any signature is hashed or any certificate path is built.

A PDF from outside decides how much work its reader does: how many cross-reference sections (revisions) and
entries are read, which byte ranges are hashed, how many certificates the path builder may combine.  The checks
here bound each of those by a count, cheaply, before the expensive step runs:

- cross-reference sections and entries are counted *while pyHanko reads them* (its own parser, so no second
  parser can disagree with it): a section beyond ``max_revisions``, or an xref stream whose ``/Index`` / ``/Size``
  declares more entries than are left in the budget, stops the reader before it allocates them;
- each signature's ``/ByteRange`` must be exactly ``[0 a b c]`` where ``a..b`` is its own ``/Contents`` hex
  string and ``b + c`` the end of the revision that contains it (the first ``startxref ... %%EOF`` after it):
  the digest then covers at most the file once, and later revisions are left to the modification rules;
- each CMS blob (signature, its timestamp token, document timestamps) may embed at most
  ``max_embedded_certs`` certificates, and at most ``max_same_subject`` of them may share a subject: path
  building branches on certificates that share a name, so this bounds the number of candidate paths.

The hard backstop for whatever a count cannot foresee is :mod:`signing.sandbox` (CPU, memory, wall clock).
"""

from __future__ import annotations

import binascii
import contextvars
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, core
from pyhanko.pdf_utils import generic, misc, xref

__all__ = ["Limits", "TooComplex", "byte_range_problem", "check_cms", "install", "installed", "reading"]


@dataclass(frozen=True)
class Limits:
    max_revisions: int = 64
    """Cross-reference sections (incremental updates) in one file; a B-LTA document renewed for decades has < 30."""
    max_xref_entries: int = 200_000
    """Cross-reference entries over all sections (a citizen certificate has a few hundred objects)."""
    max_embedded_certs: int = 24
    """Certificates in one CMS blob (signer chain, OCSP responders, a TSA chain: about ten in practice)."""
    max_same_subject: int = 2
    """Embedded certificates of one CMS that share a subject name (2 allows a re-keyed CA)."""


class TooComplex(Exception):  # noqa: N818 - a verdict about the file, not a bug
    """The file is beyond a structural limit; ``detail`` says which, in plain words."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# --------------------------------------------------------------------------- cross-reference budget


@dataclass
class _Budget:
    limits: Limits
    sections: int = 0
    entries: int = 0

    def section(self) -> None:
        self.sections += 1
        if self.sections > self.limits.max_revisions:
            raise TooComplex(f"more than {self.limits.max_revisions} revisions (incremental updates)")

    def take(self, n: int) -> None:
        self.entries += n
        if self.entries > self.limits.max_xref_entries:
            raise TooComplex(f"more than {self.limits.max_xref_entries} cross-reference entries")


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("signing_limits_budget", default=None)


@contextmanager
def reading(limits: Limits) -> Iterator[None]:
    """Within this block, pyHanko's cross-reference reader counts sections and entries against ``limits``.

    Installs the counting reader first if no one has (idempotent): nothing is patched at import, and a
    caller that skipped :func:`signing.install_pyhanko_patches` must not read an outside file unbounded.
    """
    install()
    token = _budget.set(_Budget(limits))
    try:
        yield
    finally:
        _budget.reset(token)


def _declared_entries(xref_stream: generic.StreamObject, limit: int) -> int:
    size = xref_stream.get("/Size")
    idx = xref_stream.get("/Index", [0, size])
    widths = xref_stream.get("/W")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise TooComplex("cross-reference stream without a valid /Size")
    if not isinstance(widths, list) or len(widths) != 3 or not all(isinstance(w, int) and 0 <= w <= 8 for w in widths):
        raise TooComplex("cross-reference stream with an invalid /W")
    if not isinstance(idx, list) or len(idx) % 2 or not all(isinstance(v, int) and v >= 0 for v in idx):
        raise TooComplex("cross-reference stream with an invalid /Index")
    if size > limit:
        raise TooComplex(f"a cross-reference stream declares /Size {size} (limit {limit})")
    return sum(int(idx[i]) for i in range(1, len(idx), 2))


def _counting(entries: Iterator[Any], budget: _Budget) -> Iterator[Any]:
    for entry in entries:
        budget.take(1)
        yield entry


_orig_parse_stream = xref.parse_xref_stream
_orig_parse_table = xref.parse_xref_table
_orig_read_stream = xref.XRefBuilder._read_xref_stream
_orig_read_table = xref.XRefBuilder._read_xref_table


def _parse_xref_stream(xref_stream: generic.StreamObject, strict: bool = True) -> Iterator[Any]:
    budget = _budget.get()
    if budget is None:
        return _orig_parse_stream(xref_stream, strict)
    declared = _declared_entries(xref_stream, budget.limits.max_xref_entries)
    # /Size and /Index are checked against what is left before a single entry is read or allocated
    if declared > budget.limits.max_xref_entries - budget.entries:
        raise TooComplex(f"a cross-reference stream declares {declared} entries "
                         f"(limit {budget.limits.max_xref_entries})")
    return _counting(_orig_parse_stream(xref_stream, strict), budget)


def _parse_xref_table(stream: Any, strict: bool) -> Iterator[Any]:
    budget = _budget.get()
    if budget is None:
        return _orig_parse_table(stream, strict)
    return _counting(_orig_parse_table(stream, strict), budget)


def _read_xref_stream(self: Any, declared_startxref: int) -> Any:
    budget = _budget.get()
    if budget is not None:
        budget.section()
    return _orig_read_stream(self, declared_startxref)


def _read_xref_table(self: Any, declared_startxref: int) -> Any:
    budget = _budget.get()
    if budget is not None:
        budget.section()
    return _orig_read_table(self, declared_startxref)


def install() -> None:
    """Idempotent: route pyHanko's cross-reference reader through the counters (inactive outside :func:`reading`).

    Called explicitly (:func:`signing.install_pyhanko_patches`, and by :func:`reading`), never at import.
    """
    if installed():
        return
    xref.parse_xref_stream = _parse_xref_stream
    xref.parse_xref_table = _parse_xref_table
    xref.XRefBuilder._read_xref_stream = _read_xref_stream  # type: ignore[method-assign]
    xref.XRefBuilder._read_xref_table = _read_xref_table  # type: ignore[method-assign]


def installed() -> bool:
    """Is pyHanko's cross-reference reader routed through the counters?"""
    return (xref.parse_xref_stream is _parse_xref_stream and xref.parse_xref_table is _parse_xref_table
            and xref.XRefBuilder._read_xref_stream is _read_xref_stream
            and xref.XRefBuilder._read_xref_table is _read_xref_table)


# --------------------------------------------------------------------------- byte ranges

_REVISION_END = re.compile(rb"startxref\s+\d+\s+%%EOF")
_HEX = re.compile(rb"[0-9A-Fa-f]*")


def _revision_ends_after(data: bytes, pos: int) -> tuple[int, ...]:
    """Where the first revision ending after ``pos`` may end: right after its ``%%EOF``, or after one EOL."""
    m = _REVISION_END.search(data, pos)
    if m is None:
        return ()
    end = m.end()
    ends = [end]
    if data[end:end + 2] == b"\r\n":
        ends.append(end + 2)
    elif data[end:end + 1] in (b"\n", b"\r"):
        ends.append(end + 1)
    return tuple(ends)


def byte_range_problem(data: bytes, sig_obj: generic.DictionaryObject) -> str | None:
    """Why this signature's /ByteRange does not tile its own revision around its /Contents (None: it does)."""
    try:
        raw = sig_obj.raw_get("/ByteRange")
        contents = sig_obj.raw_get("/Contents")
    except (KeyError, misc.PdfReadError):
        return "no /ByteRange or /Contents"
    if isinstance(raw, generic.IndirectObject) or isinstance(contents, generic.IndirectObject):
        return "/ByteRange and /Contents must be direct objects"
    if not isinstance(raw, generic.ArrayObject) or len(raw) != 4:
        return "/ByteRange must hold exactly two ranges"
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw):
        return "/ByteRange must hold non-negative integers"
    if not isinstance(contents, (generic.ByteStringObject, generic.TextStringObject)):
        return "/Contents is not a string"
    start, gap_start, gap_end, tail = (int(v) for v in raw)
    if start != 0:
        return "/ByteRange does not start at byte 0"
    if not 0 < gap_start < gap_end <= len(data) or gap_end + tail > len(data):
        return "/ByteRange points outside the file"
    hex_digits = data[gap_start + 1:gap_end - 1]
    if data[gap_start:gap_start + 1] != b"<" or data[gap_end - 1:gap_end] != b">" or not _HEX.fullmatch(hex_digits):
        return "/ByteRange does not skip exactly the /Contents hex string"
    value = contents.original_bytes
    if len(hex_digits) % 2 or binascii.unhexlify(hex_digits) != value:
        return "/ByteRange skips another string than the signature's /Contents"
    if gap_end + tail not in _revision_ends_after(data, gap_end):
        return "/ByteRange does not end at the end of the signature's own revision"
    return None


# --------------------------------------------------------------------------- certificates in CMS


def _check_signed_data(signed_data: cms.SignedData, limits: Limits, depth: int) -> None:
    certs = signed_data["certificates"]
    if isinstance(certs, core.Void):
        return
    if len(certs) > limits.max_embedded_certs:
        raise TooComplex(f"a signature embeds {len(certs)} certificates (limit {limits.max_embedded_certs})")
    subjects = Counter(c.chosen["tbs_certificate"]["subject"].dump() for c in certs if c.name == "certificate")
    if subjects and max(subjects.values()) > limits.max_same_subject:
        raise TooComplex(f"a signature embeds {max(subjects.values())} certificates with the same name "
                         f"(limit {limits.max_same_subject})")
    if depth:
        return
    for signer_info in signed_data["signer_infos"]:
        unsigned = signer_info["unsigned_attrs"]
        if unsigned.native is None:
            continue
        for attr in unsigned:
            if attr["type"].native == "signature_time_stamp_token":
                for token in attr["values"]:
                    if token["content_type"].native == "signed_data":
                        _check_signed_data(token["content"], limits, depth + 1)


def check_cms(contents: bytes, limits: Limits) -> None:
    """Raise :class:`TooComplex` if a CMS blob embeds too many certificates, or too many with one name.

    A blob that does not parse is left to the validator (it reports a malformed signature).
    """
    try:
        info = cms.ContentInfo.load(bytes(contents).rstrip(b"\x00") or b"\x30\x00", strict=False)
        if info["content_type"].native != "signed_data":
            return
        signed_data = info["content"]
        _check_signed_data(signed_data, limits, 0)
    except TooComplex:
        raise
    except Exception:  # noqa: BLE001, S110 - unparseable: pyHanko reports it as a malformed signature
        return
