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
