"""What each incremental update (revision) of a PDF adds or changes, object by object.

pyHanko's difference analysis gives one modification *level* per signature (``LTA_UPDATES``,
``FORM_FILLING`` ...). That level is too coarse to tell a long-term-validation tail from a forger's
overlay: a new visible signature field whose appearance paints a white box over the page is
"form filling", and an unreferenced object is harmless to the diff policy. The issuance rule and the
public verifier need to know, revision by revision, exactly what was written.

:func:`analyse_revisions` walks every revision after a given one (``HistoricalResolver.explicit_refs_in_revision``
with the previous revision as reference) and classifies each object written in it. A revision is:

* ``ltv_only`` — it writes nothing but DSS material (the ``/DSS`` dictionary, ``/VRI`` entries, certificate /
  OCSP / CRL streams), invisible document-timestamp fields with their ``/DocTimeStamp`` value, the bookkeeping
  every such update carries (the page's ``/Annots`` and the form's ``/Fields`` gaining exactly those fields, the
  catalog gaining ``/DSS``, the Info dictionary's ``/ModDate`` and ``/Producer``) and xref / object streams;
* ``seal_shaped`` — it writes exactly one new filled ``/Sig`` field on the first page with its widget, its
  appearance streams (and their fonts / images, reachable only from that appearance) and the same
  bookkeeping: what :class:`signing.seal.Sealer` writes. Whether the signer is the platform is for the caller;
* anything else carries at least one change code naming what it did (see :data:`CHANGE_CODES`).

Everything is plain data (the report crosses a process boundary). Never raises: a revision that cannot be
analysed is reported with the code ``unanalysable``, which no rule accepts.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any, Literal

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

__all__ = [
    "CHANGE_CODES",
    "ChangeCode",
    "MAX_ANALYSED_REVISIONS",
    "RevisionChanges",
    "analyse_revisions",
]

logger = logging.getLogger(__name__)

#: Revisions analysed after the reference revision; later ones are reported ``unanalysable``.
MAX_ANALYSED_REVISIONS = 64
#: Objects examined in one revision (an update writing more is ``unanalysable``).
MAX_OBJECTS_PER_REVISION = 5000
#: A visible box at least this share of the page's area "covers the page".
COVERS_PAGE_RATIO = 0.25

ChangeCode = Literal[
    "signature",  # a new filled /Sig field (its signer is judged by the caller)
    "visible_signature",  # ... whose widget has a non-empty box and an appearance
    "covers_page",  # ... whose box covers a large part of its page
    "doc_timestamp",  # a new invisible document-timestamp field
    "visible_doc_timestamp",  # a document timestamp with a visible box (not LTV material)
    "dss",  # DSS / VRI material
    "annotation",  # a new or changed annotation (not a signature widget)
    "form_field",  # a new form field, an empty signature field, or a changed field value
    "appearance_changed",  # a changed appearance of an existing widget or a changed appearance stream
    "page_content",  # changed page content, resources or page tree
    "metadata",  # Info dictionary beyond /ModDate and /Producer, or XMP metadata
    "document_structure",  # other catalog entries (actions, names, outlines, permissions ...)
    "signature_changed",  # an existing signature value dictionary rewritten
    "unexplained_object",  # an object nothing accounts for (unreferenced, or of no known role)
    "unanalysable",  # the revision could not be analysed
]
"""What a revision did that is not bookkeeping (:attr:`RevisionChanges.changes`)."""
CHANGE_CODES: tuple[ChangeCode, ...] = typing.get_args(ChangeCode)

# Codes that, alone, make a revision pure long-term-validation material.
_LTV_CODES = frozenset({"dss", "doc_timestamp"})
# Codes that, alone, make a revision the shape of the platform seal.
_SEAL_CODES = frozenset({"signature", "visible_signature"})

_INFO_KEYS_ALLOWED_TO_CHANGE = frozenset({"/ModDate", "/Producer"})
_CATALOG_LTV_KEYS = frozenset({"/DSS"})
_CATALOG_FORM_KEYS = frozenset({"/AcroForm"})
_ACROFORM_KEYS_ALLOWED_TO_CHANGE = frozenset({"/Fields", "/SigFlags"})
_PAGE_KEYS_ALLOWED_TO_CHANGE = frozenset({"/Annots"})
_DSS_KEYS = ("/Certs", "/OCSPs", "/CRLs", "/VRI")
_VRI_KEYS = ("/Cert", "/OCSP", "/CRL", "/TS")


@dataclass(frozen=True)
class RevisionChanges:
    """What one revision (0-based, as pyHanko counts them) wrote, in plain data."""

    revision: int
    changes: tuple[ChangeCode, ...]
    """Sorted change codes (:data:`CHANGE_CODES`); empty for a revision that only did bookkeeping."""
    signature_fields: tuple[str, ...]
    """Fully qualified names of the filled signature / timestamp fields this revision adds."""
    ltv_only: bool
    seal_shaped: bool
    covered_page_ratio: float = 0.0
    """Largest share of a page that a new visible widget of this revision covers (0 for none)."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}


def _unanalysable(revision: int) -> RevisionChanges:
    return RevisionChanges(revision, ("unanalysable",), (), ltv_only=False, seal_shaped=False)


def analyse_revisions(reader: PdfFileReader, after: int) -> tuple[RevisionChanges, ...]:
    """One :class:`RevisionChanges` per revision strictly after ``after`` (0-based). Never raises."""
    total = reader.xrefs.total_revisions
    out: list[RevisionChanges] = []
    for revision in range(max(after + 1, 1), total):
        if revision - after > MAX_ANALYSED_REVISIONS:
            out.append(_unanalysable(revision))
            continue
        try:
            out.append(_RevisionAnalysis(reader, revision).run())
        except (RecursionError, MemoryError, _TooBig):
            out.append(_unanalysable(revision))
        except Exception as exc:  # noqa: BLE001 -- the PDF stack raises anything on hostile input
            logger.info("revision %d: not analysable (%s)", revision, exc.__class__.__name__)
            out.append(_unanalysable(revision))
    return tuple(out)


class _TooBig(Exception):
    pass


def _raw(d: generic.DictionaryObject, key: str) -> Any:
    return d.raw_get(key) if key in d else None


def _ref(value: Any) -> generic.Reference | None:
    return value.reference if isinstance(value, generic.IndirectObject) else None


def _refs_in(value: Any, depth: int = 0) -> Iterator[generic.Reference]:
    """Indirect references held by a (direct) value, without dereferencing anything."""
    if depth > 32:
        raise _TooBig
    if isinstance(value, generic.IndirectObject):
        yield value.reference
    elif isinstance(value, generic.DictionaryObject):  # StreamObject included
        for key in value:
            yield from _refs_in(value.raw_get(key), depth + 1)
    elif isinstance(value, generic.ArrayObject):
        for item in value:  # a list: iteration yields the raw items
            yield from _refs_in(item, depth + 1)


def _changed_keys(old: generic.DictionaryObject, new: generic.DictionaryObject) -> set[str]:
    return {str(k) for k in set(old.keys()) | set(new.keys()) if _raw(old, k) != _raw(new, k)}


def _area(rect: Any) -> float:
    try:
        x0, y0, x1, y1 = (float(v) for v in rect)
    except (TypeError, ValueError):
        return 0.0
    return abs(x1 - x0) * abs(y1 - y0)


def _ref_list(value: Any) -> list[generic.Reference] | None:
    """The references of an array of indirect objects (None if it holds anything else)."""
    if not isinstance(value, generic.ArrayObject):
        return None
    out = []
    for item in value:
        ref = _ref(item)
        if ref is None:
            return None
        out.append(ref)
    return out


class _RevisionAnalysis:
    def __init__(self, reader: PdfFileReader, revision: int) -> None:
        self.reader = reader
        self.revision = revision
        self.new: HistoricalResolver = reader.get_historical_resolver(revision)
        self.old: HistoricalResolver = reader.get_historical_resolver(revision - 1)
        self.refs: set[generic.Reference] = set(self.new.explicit_refs_in_revision())
        if len(self.refs) > MAX_OBJECTS_PER_REVISION:
            raise _TooBig
        self.codes: set[ChangeCode] = set()
        self.explained: set[generic.Reference] = set()
        self.sig_fields: list[str] = []
        self.new_fields: set[generic.Reference] = set()  # new filled signature/timestamp fields (accepted)
        self.seal_fields: list[generic.Reference] = []  # new filled /Sig fields
        self.ratio = 0.0
        self.xmp_rewritten = False

    # -- helpers -----------------------------------------------------------------------

    def is_new(self, ref: generic.Reference) -> bool:
        return bool(self.reader.xrefs.get_introducing_revision(ref) == self.revision)

    def obj(self, ref: generic.Reference) -> Any:
        return self.new(ref)

    def old_obj(self, ref: generic.Reference) -> Any:
        return self.old(ref)

    def explain_tree(self, roots: Iterable[generic.Reference], limit: int = MAX_OBJECTS_PER_REVISION) -> None:
        """Mark the objects of this revision reachable from ``roots`` through objects of this revision."""
        todo = [r for r in roots if r in self.refs and self.is_new(r)]
        seen = 0
        while todo:
            ref = todo.pop()
            if ref in self.explained:
                continue
            self.explained.add(ref)
            seen += 1
            if seen > limit:
                raise _TooBig
            obj = self.obj(ref)
            todo.extend(r for r in _refs_in(obj) if r in self.refs and r not in self.explained and self.is_new(r))

    # -- the walk ----------------------------------------------------------------------

    def run(self) -> RevisionChanges:
        self.catalog()
        self.xmp()
        self.info()
        self.dss()
        self.fields_and_widgets()
        self.rest()
        if self.xmp_rewritten and not self.codes & {"dss", "doc_timestamp", "signature"}:
            self.codes.add("metadata")
        codes = tuple(sorted(self.codes))
        code_set = set(codes)
        ltv_only = code_set <= _LTV_CODES and not self.seal_fields
        seal_shaped = (
            len(self.seal_fields) == 1
            and code_set <= _SEAL_CODES
            and "visible_signature" in code_set
            and self.first_page_ref() == self.widget_page(self.seal_fields[0])
        )
        return RevisionChanges(
            revision=self.revision,
            changes=codes,
            signature_fields=tuple(self.sig_fields),
            ltv_only=ltv_only,
            seal_shaped=seal_shaped,
            covered_page_ratio=round(self.ratio, 3),
        )

    def catalog(self) -> None:
        root_ref = self.new.root_ref
        if root_ref != self.old.root_ref:
            self.codes.add("document_structure")
            return
        if self.new.refs_freed_in_revision():
            self.codes.add("document_structure")  # a freed object reads as null wherever it is used
        if root_ref not in self.refs:
            return
        self.explained.add(root_ref)
        changed = _changed_keys(self.old.root, self.new.root)
        if "/Metadata" in changed:
            self.codes.add("metadata")
            changed.discard("/Metadata")
        if "/DSS" in changed:
            self.codes.add("dss")
        if changed - _CATALOG_LTV_KEYS - _CATALOG_FORM_KEYS:
            self.codes.add("document_structure")

    def xmp(self) -> None:
        """pyHanko's writer rewrites an existing XMP stream on every update: accepted beside LTV material or a
        signature (as ``signing.policy.LtvGatedMetadataRule`` does), reported as ``metadata`` alone."""
        ref = _ref(_raw(self.new.root, "/Metadata"))
        if ref is None or ref not in self.refs or self.is_new(ref):
            return  # a new XMP object means a changed catalog entry: already ``metadata``
        self.explained.add(ref)
        self.xmp_rewritten = True

    def info(self) -> None:
        new_raw = _raw(self.new.trailer_view, "/Info")
        old_raw = _raw(self.old.trailer_view, "/Info")
        ref = _ref(new_raw)
        if ref is not None and ref in self.refs:
            self.explained.add(ref)
        elif new_raw == old_raw:
            return
        new = new_raw.get_object() if new_raw is not None else generic.DictionaryObject()
        old = old_raw.get_object() if old_raw is not None else generic.DictionaryObject()
        if not isinstance(new, generic.DictionaryObject) or not isinstance(old, generic.DictionaryObject):
            self.codes.add("metadata")
        elif _changed_keys(old, new) - _INFO_KEYS_ALLOWED_TO_CHANGE:
            self.codes.add("metadata")

    def dss(self) -> None:
        """The DSS dictionary, its arrays, its VRI dictionary and entries (which LTV updates rewrite), and the
        NEW certificate / OCSP / CRL streams they list. An older object listed there is not DSS material."""
        dss_raw = _raw(self.new.root, "/DSS")
        if dss_raw is None:
            return
        structure: list[Any] = [dss_raw]
        dss = dss_raw.get_object()
        leaves: list[Any] = []
        if isinstance(dss, generic.DictionaryObject):
            for key in _DSS_KEYS[:3]:
                structure.append(_raw(dss, key))
                arr = _raw(dss, key)
                leaves.extend((arr.get_object() if arr is not None else None) or ())
            vri_raw = _raw(dss, "/VRI")
            structure.append(vri_raw)
            vri = vri_raw.get_object() if vri_raw is not None else None
            if isinstance(vri, generic.DictionaryObject):
                for key in vri:
                    entry_raw = vri.raw_get(key)
                    structure.append(entry_raw)
                    entry = entry_raw.get_object()
                    if not isinstance(entry, generic.DictionaryObject):
                        continue
                    for vkey in _VRI_KEYS:
                        value = _raw(entry, vkey)
                        if value is None:
                            continue
                        structure.append(value)
                        target = value.get_object()
                        leaves.extend(target if isinstance(target, generic.ArrayObject) else [value])
        for value in structure:
            ref = _ref(value)
            if ref is None or ref not in self.refs:
                continue
            if isinstance(self.obj(ref), (generic.DictionaryObject, generic.ArrayObject)) and not isinstance(
                self.obj(ref), generic.StreamObject
            ):
                self.explained.add(ref)
                self.codes.add("dss")
        for value in leaves:
            ref = _ref(value)
            if ref is not None and ref in self.refs and self.is_new(ref) and isinstance(
                self.obj(ref), generic.StreamObject
            ):
                self.explained.add(ref)
                self.codes.add("dss")

    # -- form fields and annotations ---------------------------------------------------

    def first_page_ref(self) -> generic.Reference | None:
        try:
            kids = self.new.root["/Pages"]["/Kids"]
            return _ref(kids.raw_get(0))
        except Exception:  # noqa: BLE001
            return None

    def widget_page(self, ref: generic.Reference) -> generic.Reference | None:
        widget = self.obj(ref)
        return _ref(_raw(widget, "/P")) if isinstance(widget, generic.DictionaryObject) else None

    def page_box_area(self, page_ref: generic.Reference | None) -> float:
        if page_ref is None:
            return 0.0
        page = self.obj(page_ref)
        node: Any = page
        for _ in range(32):
            if not isinstance(node, generic.DictionaryObject):
                break
            for key in ("/CropBox", "/MediaBox"):
                if key in node:
                    return _area(node[key])
            node = node.get("/Parent")
        return 0.0

    def fields_and_widgets(self) -> None:
        """Classify every new or changed dictionary that is a field, a widget or an annotation."""
        for ref in sorted(self.refs, key=lambda r: (r.idnum, r.generation)):
            obj = self.obj(ref)
            if not isinstance(obj, generic.DictionaryObject) or isinstance(obj, generic.StreamObject):
                continue
            is_sig_field = obj.get("/FT") == "/Sig"
            is_annot = obj.get("/Type") == "/Annot" or "/Subtype" in obj and "/Rect" in obj
            if is_sig_field:
                self.signature_field(ref, obj)
            elif "/FT" in obj or ("/Parent" in obj and "/T" in obj) or obj.get("/Subtype") == "/Widget":
                self.explained.add(ref)
                self.codes.add("form_field")
            elif is_annot:
                self.explained.add(ref)
                self.codes.add("annotation")
            elif obj.get("/Type") in ("/Sig", "/DocTimeStamp") and not self.is_new(ref):
                self.explained.add(ref)
                self.codes.add("signature_changed")
        self.pages_and_arrays()

    def signature_field(self, ref: generic.Reference, obj: generic.DictionaryObject) -> None:
        self.explained.add(ref)
        if not self.is_new(ref):
            old = self.old_obj(ref)
            changed = _changed_keys(old, obj) if isinstance(old, generic.DictionaryObject) else {"/V"}
            if "/AP" in changed or "/MK" in changed:
                self.codes.add("appearance_changed")
                self.explain_tree(_refs_in(_raw(obj, "/AP")))  # its new streams are that change, not more
            if changed - {"/AP", "/MK"}:
                self.codes.add("form_field")  # filling an old empty field, or rewriting a signed one
            return
        value_raw = _raw(obj, "/V")
        value_ref = _ref(value_raw)
        value = value_raw.get_object() if value_raw is not None else None
        if value_ref is None or value_ref not in self.refs or not isinstance(value, generic.DictionaryObject):
            self.codes.add("form_field")  # an empty signature field (or one pointing at an old value)
            return
        self.explained.add(value_ref)
        kind = value.get("/Type")
        name = str(obj.get("/T", ""))
        visible = self.visible_widget(ref, obj)
        if kind == "/DocTimeStamp":
            self.codes.add("visible_doc_timestamp" if visible else "doc_timestamp")
        else:
            self.codes.add("signature")
            self.seal_fields.append(ref)
            if visible:
                self.codes.add("visible_signature")
        self.sig_fields.append(name)
        self.new_fields.add(ref)

    def visible_widget(self, ref: generic.Reference, obj: generic.DictionaryObject) -> bool:
        """Whether this new widget shows anything; explains its appearance streams (and what they use)."""
        ap = _raw(obj, "/AP")
        ap_roots = list(_refs_in(ap))
        self.explain_tree(ap_roots)
        if any(r not in self.refs for r in ap_roots):
            self.codes.add("appearance_changed")  # an appearance borrowed from an older object
        area = _area(obj.get("/Rect", ()))
        if area == 0.0 or ap is None:
            return False  # (annotation flags are not trusted to hide anything: viewers differ)
        page_area = self.page_box_area(_ref(_raw(obj, "/P")) or self.first_page_ref())
        if page_area > 0:
            ratio = min(1.0, area / page_area)
            self.ratio = max(self.ratio, ratio)
            if ratio >= COVERS_PAGE_RATIO:
                self.codes.add("covers_page")
        return True

    def pages_and_arrays(self) -> None:
        """Pages, the form dictionary and the arrays of /Annots and /Fields: only new fields appended."""
        acroform_raw = _raw(self.new.root, "/AcroForm")
        acroform_ref = _ref(acroform_raw)
        old_acroform_raw = _raw(self.old.root, "/AcroForm")
        if acroform_raw is not None:
            acroform = acroform_raw.get_object()
            old_acroform = old_acroform_raw.get_object() if old_acroform_raw is not None else generic.DictionaryObject()
            if acroform_ref is None or acroform_ref in self.refs or acroform_raw != old_acroform_raw:
                if acroform_ref is not None:
                    self.explained.add(acroform_ref)
                if isinstance(acroform, generic.DictionaryObject) and isinstance(old_acroform, generic.DictionaryObject):
                    if _changed_keys(old_acroform, acroform) - _ACROFORM_KEYS_ALLOWED_TO_CHANGE:
                        self.codes.add("form_field")
                    self.appended_only(_raw(old_acroform, "/Fields"), _raw(acroform, "/Fields"), "form_field")
                else:
                    self.codes.add("form_field")
        elif old_acroform_raw is not None:
            self.codes.add("form_field")
        for ref in self.refs:
            obj = self.obj(ref)
            if not isinstance(obj, generic.DictionaryObject) or obj.get("/Type") not in ("/Page", "/Pages"):
                continue
            self.explained.add(ref)
            if obj.get("/Type") == "/Pages" or self.is_new(ref):
                self.codes.add("page_content")
                continue
            old = self.old_obj(ref)
            if not isinstance(old, generic.DictionaryObject):
                self.codes.add("page_content")
                continue
            if _changed_keys(old, obj) - _PAGE_KEYS_ALLOWED_TO_CHANGE:
                self.codes.add("page_content")
            self.appended_only(_raw(old, "/Annots"), _raw(obj, "/Annots"), "annotation")

    def appended_only(self, old_raw: Any, new_raw: Any, code: ChangeCode) -> None:
        """An array (direct or indirect) that may only gain this revision's new signature fields."""
        new_ref, old_ref = _ref(new_raw), _ref(old_raw)
        if new_ref is not None:
            self.explained.add(new_ref)
        if new_raw == old_raw and (new_ref is None or new_ref not in self.refs):
            return
        new_items = _ref_list(new_raw.get_object() if new_raw is not None else generic.ArrayObject())
        if old_raw is None:
            old_items: list[generic.Reference] | None = []
        elif old_ref is not None:
            old_items = _ref_list(self.old_obj(old_ref))
        else:
            old_items = _ref_list(old_raw)
        if new_items is None or old_items is None or new_items[: len(old_items)] != old_items:
            self.codes.add(code)
            return
        if any(r not in self.new_fields for r in new_items[len(old_items):]):
            self.codes.add(code)

    def rest(self) -> None:
        """Whatever is left: xref and object streams are bookkeeping, the rest is explained by nothing."""
        for ref in self.refs - self.explained:
            obj = self.obj(ref)
            if self.is_new(ref) and isinstance(obj, generic.StreamObject) and obj.get("/Type") in ("/XRef", "/ObjStm"):
                continue  # (an OLD object re-typed as an xref stream is still the object it was: page content ...)
            if not self.is_new(ref):
                if isinstance(obj, generic.StreamObject) and obj.get("/Subtype") == "/Form":
                    self.codes.add("appearance_changed")
                elif isinstance(obj, generic.StreamObject):
                    self.codes.add("page_content")
                else:
                    self.codes.add("unexplained_object")
            else:
                self.codes.add("unexplained_object")
