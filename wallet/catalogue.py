"""The document types from day one. Codes are API values."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentType:
    code: str
    names: dict[str, str]
    agencies: tuple[str, ...]  # agency codes allowed to issue it
    validity_days: int | None  # default validity; None: no expiry
    school_year_end: bool = False  # valid to the end of the school year (31 August)

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["fr"]

    def default_expiry(self, issued_at: dt.datetime) -> dt.datetime | None:
        if self.school_year_end:
            year = issued_at.year if issued_at.month < 9 else issued_at.year + 1
            return dt.datetime(year, 8, 31, 23, 59, 59, tzinfo=dt.UTC)
        if self.validity_days is None:
            return None
        return issued_at + dt.timedelta(days=self.validity_days)


TYPES: dict[str, DocumentType] = {t.code: t for t in (
    DocumentType("criminal_record", {"ar": "بطاقة السوابق العدلية", "fr": "Extrait du casier judiciaire",
                                     "en": "Criminal record extract"}, ("MJ",), 90),
    DocumentType("nationality", {"ar": "شهادة الجنسية المغربية", "fr": "Certificat de nationalité marocaine",
                                 "en": "Certificate of Moroccan nationality"}, ("MJ",), None),
    DocumentType("school_report", {"ar": "بيان النقط", "fr": "Bulletin scolaire", "en": "School report card"},
                 ("MEN",), None),
    DocumentType("school_certificate", {"ar": "شهادة مدرسية", "fr": "Certificat de scolarité",
                                        "en": "Certificate of schooling"}, ("MEN",), None, school_year_end=True),
    DocumentType("commerce_register", {"ar": "شهادة السجل التجاري", "fr": "Certificat du registre du commerce",
                                       "en": "Trade register certificate"}, ("OMPIC",), 90),
)}


# -- key facts: what a clerk needs from a document at a glance, read from its signed attributes -------------

@dataclass(frozen=True)
class Fact:
    """An attribute agencies may send (``attributes`` of the push, signed inside document.json), its label in
    ar/fr/en and, for coded values, their words (``{"none": {"fr": "Néant", ...}}``); other values show as sent."""

    key: str
    labels: dict[str, str]
    values: dict[str, dict[str, str]] | None = None


_NONE = {"none": {"ar": "لا شيء", "fr": "Néant", "en": "None"}}
FACTS: dict[str, tuple[Fact, ...]] = {
    "criminal_record": (
        Fact("convictions", {"ar": "الإدانات", "fr": "Condamnations", "en": "Convictions"}, _NONE),),
    "nationality": (
        Fact("basis", {"ar": "سبب الجنسية", "fr": "Fondement", "en": "Basis"},
             {"filiation": {"ar": "النسب", "fr": "Filiation", "en": "Filiation"}}),),
    "school_report": (
        Fact("school_year", {"ar": "السنة الدراسية", "fr": "Année scolaire", "en": "School year"}),
        Fact("term", {"ar": "الدورة", "fr": "Semestre", "en": "Term"}),
        Fact("average", {"ar": "المعدل", "fr": "Moyenne générale", "en": "Overall average"}),
        Fact("decision", {"ar": "قرار المجلس", "fr": "Décision du conseil", "en": "Council's decision"})),
    "school_certificate": (
        Fact("school", {"ar": "المؤسسة", "fr": "Établissement", "en": "School"}),
        Fact("school_year", {"ar": "السنة الدراسية", "fr": "Année scolaire", "en": "School year"}),
        Fact("class", {"ar": "القسم", "fr": "Classe", "en": "Class"})),
    "commerce_register": (
        Fact("company", {"ar": "الشركة", "fr": "Dénomination", "en": "Company"}),
        Fact("rc_number", {"ar": "رقم السجل التجاري", "fr": "N° RC", "en": "Register number"}),
        Fact("legal_form", {"ar": "الشكل القانوني", "fr": "Forme juridique", "en": "Legal form"})),
}
_FACT_VALUE_MAX = 200


def key_facts(type_code: str, attributes: object, lang: str) -> list[tuple[str, str]]:
    """The document's key facts as (label, value) pairs in ``lang``, in the type's order: only the attributes
    the catalogue knows for that type, with a plain string or number value (anything else an agency sent is
    left out, never shown raw); long values are cut."""
    if not isinstance(attributes, dict):
        return []
    out = []
    for fact in FACTS.get(type_code, ()):
        raw = attributes.get(fact.key)
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            continue
        value = str(raw).strip()
        if not value:
            continue
        words = (fact.values or {}).get(value.lower())
        shown = (words.get(lang) or words["fr"]) if words else value[:_FACT_VALUE_MAX]
        out.append((fact.labels.get(lang) or fact.labels["fr"], shown))
    return out
