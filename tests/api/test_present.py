"""wallet.present: the one presentation layer the domains share (languages, names, QR codes, problem docs)."""
from __future__ import annotations

import re

from wallet.errors import PROBLEM, Problem
from wallet.present import (
    LANGUAGE_CODES,
    LANGUAGES,
    problem_responses,
    qr_matrix,
    qr_svg,
    svg_data_uri,
    text_dir,
    type_name,
)


def test_languages_and_direction() -> None:
    assert LANGUAGE_CODES == ("ar", "fr", "en")
    assert [tuple(language) for language in LANGUAGES][0] == ("ar", "العربية")  # unpacks as (code, name)
    assert text_dir("ar") == "rtl" and text_dir("fr") == "ltr" and text_dir("en") == "ltr"


def test_type_name_falls_back_to_french_then_to_the_code() -> None:
    assert type_name("criminal_record", "en") == "Criminal record extract"
    assert type_name("criminal_record", "xx") == "Extrait du casier judiciaire"
    assert type_name("no_such_type", "en") == "no_such_type"


def test_problem_responses_document_the_problem_body() -> None:
    problems = problem_responses({401: "Not signed in", 404: "Not found"})
    assert problems.only(404) == {404: {"description": "Not found", "content": {PROBLEM: {"schema": Problem}}}}
    assert list(problems.only(404, 401)) == [404, 401]


def test_an_otpauth_qr_code_decodes_to_its_uri() -> None:
    """The enrolment's QR code is drawn by the share screen's renderer: read it back with zxing-cpp."""
    import zxingcpp
    from PIL import Image, ImageDraw

    uri = "otpauth://totp/Wallet:AB123456?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Wallet"
    svg = qr_svg(qr_matrix(uri))
    assert svg.startswith("<svg") and svg_data_uri(svg).startswith("data:image/svg+xml;base64,")
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))  # type: ignore[union-attr]
    scale = 8
    img = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(img)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        x, y, w = int(x), int(y), int(w)
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + 1) * scale - 1], fill=0)
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [uri]


def test_one_long_date_format_in_moroccan_time() -> None:
    import datetime as dt

    from wallet.present import day, listing, moment, spoken
    at = dt.datetime(2026, 12, 1, 20, 24, tzinfo=dt.UTC)  # 21:24 in Casablanca (UTC+1)
    assert moment(at, "en") == "1 December 2026, 21:24"
    assert moment(at, "fr") == "1 décembre 2026, 21:24"
    assert moment(at, "ar") == "1 دجنبر 2026، 21:24"
    assert moment(at.replace(tzinfo=None), "en") == "1 December 2026, 21:24"  # naive values are UTC
    assert day(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), "en") == "1 January 2027"
    assert listing(["أ", "ب"], "ar") == "أ، ب" and listing(["a", "", "b"], "fr") == "a, b"
    assert spoken(["Valid,", "", "Issued by  X.", "Holder: Y"], "en") == "Valid. Issued by X. Holder: Y."


def test_key_facts_show_only_known_plain_attributes() -> None:
    from wallet.catalogue import key_facts
    assert key_facts("criminal_record", {"convictions": "none"}, "fr") == [("Condamnations", "Néant")]
    assert key_facts("criminal_record", {"convictions": "NONE"}, "ar") == [("الإدانات", "لا شيء")]
    assert key_facts("criminal_record", {"convictions": {"x": 1}, "secret": "s"}, "en") == []
    assert key_facts("school_report", {"average": "14,52", "term": True}, "en") == [("Overall average", "14,52")]
    assert key_facts("nationality", "not a dict", "en") == []
