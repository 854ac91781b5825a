"""The agency simulator (flask demo push) signs the metadata it pushes as document.json (docs/signed-metadata.md)."""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

import requests

from signing import TrustStore, decide_issuance, validate_pdf
from wallet.demo.push import AgencyClient, build_document


def test_simulator_signs_its_metadata(pki: dict[str, Any], signers: dict[str, Any]) -> None:
    issued = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)
    pdf, meta = build_document("MJ", "criminal_record", "AB123456", "Amina Benali", "MJ-TEST-1", issued,
                               random.Random(1))  # noqa: S311 - demo content
    client = AgencyClient("http://127.0.0.1:1", "MJ", "unused", signers["MJ"], requests.Session())
    report = validate_pdf(client.sign(pdf, meta),
                          TrustStore.from_pem_files([pki["root"]], [pki["agencies"]["MJ"]["ca"]]))
    decision = decide_issuance(report, lambda s: True)
    assert decision.accepted, decision.detail
    assert decision.signature is not None and decision.signature.metadata is not None
    assert decision.signature.metadata.values == meta
    assert meta["expires_at"] and meta["title"]
    assert meta["attributes"] == {"holder_name": "Amina Benali", "convictions": "none"}


def test_the_demo_attributes_say_what_the_page_says() -> None:
    """Each demo type signs the key facts (catalogue.key_facts) its body prints."""
    from wallet.catalogue import key_facts
    from wallet.demo.bodies import demo_content
    printed = {"criminal_record": ["Condamnations : Néant"], "nationality": ["par la filiation"],
               "school_report": ["Année scolaire : {school_year}", "Moyenne du semestre : {average}",
                                 "Décision du conseil de classe : {decision}"],
               "school_certificate": ["{school}", "en classe de : {class}"],
               "commerce_register": ["Dénomination : {company}", "Numéro RC : {rc_number}",
                                     "Forme juridique : {legal_form}"]}
    for doc_type, lines in printed.items():
        attrs, body = demo_content(doc_type, "Amina Benali", random.Random(7))  # noqa: S311 - demo content
        text = "\n".join(body)
        for line in lines:
            assert line.format(**attrs) in text, (doc_type, line)
        facts = key_facts(doc_type, attrs, "fr")
        assert len(facts) == len([k for k in attrs if k != "holder_name"]) and all(v for _, v in facts)
