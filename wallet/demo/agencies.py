"""The demo agencies (codes are part of the public contract of instance/demo.json)."""
from __future__ import annotations

from typing import TypedDict


class DemoAgency(TypedDict):
    """One demo agency: its code, display name, localised names and the document types it issues."""
    code: str
    name: str
    names: dict[str, str]  # language -> name
    types: list[str]
    capabilities: list[str]  # besides pushing documents: "guardianships" (the civil registry)


DEMO_AGENCIES: tuple[DemoAgency, ...] = (
    {"code": "MJ", "name": "Ministère de la Justice", "names": {
        "fr": "Ministère de la Justice", "ar": "وزارة العدل", "en": "Ministry of Justice"},
     "types": ["criminal_record", "nationality"], "capabilities": []},
    {"code": "MEN", "name": "Ministère de l'Éducation nationale", "names": {
        "fr": "Ministère de l'Éducation nationale", "ar": "وزارة التربية الوطنية", "en": "Ministry of Education"},
     "types": ["school_report", "school_certificate"], "capabilities": []},
    {"code": "OMPIC", "name": "Office marocain de la propriété industrielle et commerciale", "names": {
        "fr": "OMPIC — Registre central du commerce", "ar": "المكتب المغربي للملكية الصناعية والتجارية",
        "en": "OMPIC — Central trade register"},
     "types": ["commerce_register"], "capabilities": []},
    {"code": "MI", "name": "Ministère de l'Intérieur — état civil", "names": {
        "fr": "Ministère de l'Intérieur — état civil", "ar": "وزارة الداخلية — الحالة المدنية",
        "en": "Ministry of the Interior — civil status"},
     "types": [], "capabilities": ["guardianships"]},
)

# the agencies that sign documents (the civil registry records guardianships only: no signing CA)
PKI_AGENCIES: tuple[tuple[str, str], ...] = tuple((a["code"], a["name"]) for a in DEMO_AGENCIES if a["types"])
