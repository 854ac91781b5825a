"""The wallet's reading policy for PDFs from outside: size and signature caps, tightened decode limits and the
difference-analysis policy.

No Flask, no wallet: used by :mod:`signing.validation` (and by the push's early read of ``document.json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import (
    DEFAULT_PURPOSE_LIMITS,
    DecodeLimits,
    DecodePurpose,
    DocumentDecodeBudget,
    StreamDecodeLimits,
)
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DocInfoRule,
    DSSCompareRule,
    FormUpdatingRule,
    GenericFieldModificationRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    XrefStreamRule,
)

__all__ = ["DEFAULT_MAX_SIGNATURES", "DEFAULT_MAX_SIZE", "METADATA_MARKER", "WALLET_DECODE_LIMITS",
           "WALLET_DIFF_POLICY", "LtvGatedMetadataRule"]

MiB = 1024 * 1024

DEFAULT_MAX_SIZE = 32 * MiB
"""Largest file :func:`signing.validate_pdf` reads (callers pass the deployment's upload limit)."""
DEFAULT_MAX_SIGNATURES = 20
"""Signatures and document timestamps one file may carry (a B-LTA document renewed for decades has < 20)."""

# Tighter than pyHanko's defaults (256 MiB per stream, 256 MiB or 100x the file per document):
# signature validation never needs page content, and a citizen certificate is a few hundred kB.
WALLET_DECODE_LIMITS = DecodeLimits(
    per_stream=StreamDecodeLimits(max_ratio=200, ratio_floor=MiB, max_output_size=32 * MiB),
    per_purpose={
        **DEFAULT_PURPOSE_LIMITS,
        DecodePurpose.OBJECT_STREAM: StreamDecodeLimits(max_ratio=100, ratio_floor=MiB, max_output_size=16 * MiB),
        DecodePurpose.XMP_METADATA: StreamDecodeLimits(max_ratio=100, ratio_floor=256 * 1024, max_output_size=4 * MiB),
    },
    document_budget=DocumentDecodeBudget(base_allowance=64 * MiB, max_ratio=20),
)

METADATA_MARKER = "wallet-policy: info/XMP metadata changed without long-term-validation material"


# --------------------------------------------------------------------------- diff policy


def _revision_has_ltv_material(new: HistoricalResolver) -> bool:
    """Does this revision add or update a DSS, or add a document timestamp?"""
    refs = new.explicit_refs_in_revision()
    root = new.root
    if "/DSS" in root:
        dss = root.raw_get("/DSS")
        if isinstance(dss, generic.IndirectObject):
            if dss.reference in refs:
                return True
        elif new.root_ref in refs:
            prev_root = new.reader.get_historical_resolver(new.revision - 1).root
            if "/DSS" not in prev_root:
                return True
    for ref in refs:
        obj = new(ref)
        if isinstance(obj, generic.DictionaryObject) and obj.get("/Type") == "/DocTimeStamp":
            return True
    return False


def _raw_or_none(d: generic.DictionaryObject, key: str) -> Any:
    return d.raw_get(key) if key in d else None


class LtvGatedMetadataRule(QualifiedWhitelistRule):
    """Info / XMP changes are acceptable only as a side effect of an LTV update.

    pyHanko's default policy rates an Info-only or XMP-only incremental update
    as harmless (LTA_UPDATES).  For issued documents we do not: a revision
    that touches the Info dictionary or the XMP stream must also add DSS
    material or a document timestamp, and the Info dictionary may then only
    gain a new ``/ModDate`` and ``/Producer`` (what pyHanko's writer does).
    Anything else raises :class:`SuspiciousModification`, i.e. ModificationLevel.OTHER.
    """

    _INFO_KEYS_ALLOWED_TO_CHANGE = frozenset({"/ModDate", "/Producer"})

    def __init__(self) -> None:
        self._info_rule = DocInfoRule()
        self._xmp_rule = MetadataUpdateRule()

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterator[tuple[ModificationLevel, ReferenceUpdate]]:
        prev = new.reader.get_historical_resolver(new.revision - 1) if new.revision - 1 > old.revision else old
        refs = new.explicit_refs_in_revision()
        new_info = _raw_or_none(new.trailer_view, "/Info")
        new_xmp = _raw_or_none(new.root, "/Metadata")
        info_changed = new_info != _raw_or_none(prev.trailer_view, "/Info") or (
            isinstance(new_info, generic.IndirectObject) and new_info.reference in refs
        )
        xmp_changed = new_xmp != _raw_or_none(prev.root, "/Metadata") or (
            isinstance(new_xmp, generic.IndirectObject) and new_xmp.reference in refs
        )
        if not (info_changed or xmp_changed):
            return
        ltv = _revision_has_ltv_material(new)
        if xmp_changed and not ltv:
            raise SuspiciousModification(METADATA_MARKER + " (XMP)")
        if info_changed:
            changed = self._substantive_info_changes(old, new)
            if changed:
                raise SuspiciousModification(METADATA_MARKER + f" ({', '.join(sorted(changed))})")
            if ltv:
                for upd in self._info_rule.apply(old, new):
                    yield ModificationLevel.LTA_UPDATES, upd
            # else: a bare /ModDate bump stays unexplained; the revision is judged on the rest.
        if xmp_changed:
            for upd in self._xmp_rule.apply(old, new):
                yield ModificationLevel.LTA_UPDATES, upd

    def _substantive_info_changes(self, old: HistoricalResolver, new: HistoricalResolver) -> set[str]:
        old_info = _info_at(old)
        new_info = _info_at(new)
        if new_info is None:
            return {"/Info"}
        old_info = old_info if old_info is not None else generic.DictionaryObject()
        return {
            str(key)
            for key in set(old_info.keys()) | set(new_info.keys())
            if key not in self._INFO_KEYS_ALLOWED_TO_CHANGE
            and _raw_or_none(old_info, key) != _raw_or_none(new_info, key)
        }


def _info_at(rev: HistoricalResolver) -> generic.DictionaryObject | None:
    """The Info dictionary as it was in that revision (trailer_view dereferences to the latest version)."""
    raw = _raw_or_none(rev.trailer_view, "/Info")
    if isinstance(raw, generic.IndirectObject):
        raw = rev(raw.reference)
    return raw if isinstance(raw, generic.DictionaryObject) else None


WALLET_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        LtvGatedMetadataRule(),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(
        field_rules=[SigFieldCreationRule(), SigFieldModificationRule(), GenericFieldModificationRule()],
    ),
)
"""pyHanko's default policy, minus its blanket approval of Info / XMP updates (see :class:`LtvGatedMetadataRule`)."""
