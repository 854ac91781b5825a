"""The seal stamp's Arabic lines: shaped by HarfBuzz in an embedded subset of an OpenType font, extractable as
Arabic, beside the French and English lines; a missing font leaves the stamp as it was (logged once)."""

from __future__ import annotations

import logging
import re
import subprocess
import unicodedata
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from fontTools import ttLib
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import stampfont
from signing.seal import Sealer, SealText
from signing.stampfont import ARABIC_FONT_DEFAULT, LRI, PDI, visual_runs
from tests.support.sealing import validate_all
from tests.support.tools import decode_qr, pdfsig_verdicts

pytestmark = pytest.mark.skipif(not Path(ARABIC_FONT_DEFAULT).exists(),
                                reason=f"{ARABIC_FONT_DEFAULT} missing (apt-get install fonts-noto-core)")

LABELS = {"en": "5 March 2026, 14:07", "fr": "5 mars 2026, 14:07",
          "ar": "5 \u0645\u0627\u0631\u0633 2026\u060c 14:07"}  # "5 مارس 2026، 14:07"


def _page_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True, text=True,
                         check=True)
    assert "Error" not in out.stderr
    # Poppler marks right-to-left runs with embedding controls; presentation forms (ligatures) come back as letters
    text = re.sub("[\u202a-\u202e\u2066-\u2069]", "", out.stdout)
    return unicodedata.normalize("NFKC", text)


def _seal_fonts(pdf: bytes) -> list[dict]:
    reader = PdfFileReader(BytesIO(pdf))
    appearance = reader.embedded_signatures[-1].sig_field["/AP"]["/N"].get_object()
    return [font.get_object() for font in appearance["/Resources"]["/Font"].values()]


@pytest.fixture(scope="module")
def labelled_text(seal_text: SealText) -> SealText:
    return SealText(url=seal_text.url, valid_until=seal_text.valid_until, valid_until_labels=LABELS)


@pytest.fixture(scope="module")
def seal_text() -> SealText:  # module-scoped twin of conftest's
    return SealText(url="http://127.0.0.1:5000/v/Qm9uam91ciBsZSBtb25kZQ",
                    valid_until=datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10),
                    lines=("Document: Extrait du casier judiciaire",))


@pytest.fixture(scope="module")
def sealed(sealer: Sealer, bb_original: bytes, labelled_text: SealText) -> bytes:
    return sealer.seal(bb_original, labelled_text)


def test_the_stamp_reads_in_arabic_french_and_english(sealed: bytes, labelled_text: SealText, tmp_path):
    text = _page_text(sealed, tmp_path)
    url = labelled_text.url
    assert f"Shared copy \u2014 verify at {url}" in text
    assert "\u2014 valid until 5 March 2026, 14:07" in text
    assert f"Copie partag\u00e9e \u2014 v\u00e9rifier sur {url}" in text
    assert "\u2014 valable jusqu'au 5 mars 2026, 14:07" in text
    # the Arabic phrases in reading order; the date's parts on the same line (Poppler orders numbers inside a
    # right-to-left line its own way; the rendering is checked by eye, see the report)
    until = "\u0635\u0627\u0644\u062d\u0629 \u0625\u0644\u0649 \u063a\u0627\u064a\u0629"  # صالحة إلى غاية
    line = next(line for line in text.splitlines() if until in line)
    assert all(part in line for part in ("\u0645\u0627\u0631\u0633", "2026", "14:07", "5"))
    assert next(line for line in text.splitlines() if "\u0639\u0644\u0649" in line).startswith(url)
    assert "\u0646\u0633\u062e\u0629 \u0645\u0634\u062a\u0631\u0643\u0629" in text  # نسخة مشتركة
    assert "\u062a\u062d\u0642\u0642 \u0645\u0646\u0647\u0627 \u0639\u0644\u0649" in text  # تحقق منها على
    assert "\u0635\u0627\u0644\u062d\u0629 \u0625\u0644\u0649 \u063a\u0627\u064a\u0629" in text  # صالحة إلى غاية
    assert "\u0639\u0644\u0649" in text  # على: the lam-alef maksura ligature maps back to its two letters, in order


def test_the_arabic_font_is_embedded_as_a_subset(sealed: bytes):
    fonts = _seal_fonts(sealed)
    arabic = [f for f in fonts if f["/Subtype"] == "/Type0"]
    assert len(arabic) == 1
    assert re.fullmatch(r"/[A-Z]{6}\+NotoSansArabic-Regular-Identity-H", arabic[0]["/BaseFont"])
    assert "/ToUnicode" in arabic[0]
    descriptor = arabic[0]["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    program = descriptor["/FontFile2"].get_object().data
    assert b"/FontFile2" in sealed
    subset = ttLib.TTFont(BytesIO(program))
    full = ttLib.TTFont(ARABIC_FONT_DEFAULT)
    glyf = subset["glyf"]
    drawn = [name for name in subset.getGlyphOrder() if glyf[name].numberOfContours != 0]
    assert 10 < len(drawn) < 80 < full["maxp"].numGlyphs  # only the glyphs the stamp draws
    assert len(program) < Path(ARABIC_FONT_DEFAULT).stat().st_size


def test_the_agency_signature_and_the_qr_survive(sealed: bytes, bb_original: bytes, root_cert, labelled_text,
                                                 tmp_path):
    assert sealed.startswith(bb_original)
    (_, agency), (_, seal) = validate_all(sealed, [root_cert])
    assert agency.intact and agency.valid and agency.trusted and agency.bottom_line
    assert seal.intact and seal.valid and seal.trusted
    assert pdfsig_verdicts(sealed, tmp_path) == ["Signature is Valid."] * 2
    assert decode_qr(sealed, tmp_path) == [labelled_text.url]


def test_a_latin_date_is_isolated_in_the_arabic_line(sealer: Sealer, bb_original, seal_text, tmp_path):
    # no labels: the UTC date, written in Latin, stays one left-to-right unit (bidi must not scramble it)
    sealed = sealer.seal(bb_original, seal_text)
    text = _page_text(sealed, tmp_path)
    date = seal_text.valid_until_label()
    assert [line for line in text.splitlines() if date in line and "\u063a\u0627\u064a\u0629" in line]
    assert "Extrait du casier judiciaire" in text


def test_a_missing_font_leaves_the_stamp_latin_and_says_so_once(seal_custody, timestamper, bb_original, root_cert,
                                                                seal_text, tmp_path, caplog):
    missing = str(tmp_path / "no-such-font.ttf")
    with caplog.at_level(logging.WARNING, logger="signing.stampfont"):
        first = Sealer(seal_custody, timestamper, arabic_font=missing)
        Sealer(seal_custody, timestamper, arabic_font=missing)  # the same process: not logged again
        sealed = first.seal(bb_original, seal_text)
    warnings = [r.getMessage() for r in caplog.records if r.name == "signing.stampfont"]
    assert len(warnings) == 1 and missing in warnings[0] and "no Arabic line" in warnings[0]
    text = _page_text(sealed, tmp_path)
    assert f"Shared copy \u2014 verify at {seal_text.url}" in text
    assert not stampfont.has_rtl(text)
    assert all(f["/Subtype"] == "/Type1" for f in _seal_fonts(sealed))
    (_, agency), (_, seal) = validate_all(sealed, [root_cert])
    assert agency.intact and agency.trusted and seal.intact and seal.trusted


def test_a_file_that_is_no_arabic_font_falls_back_too(seal_custody, timestamper, tmp_path, caplog):
    not_a_font = tmp_path / "latin.ttf"
    not_a_font.write_bytes(b"\x00\x01\x00\x00garbage")
    with caplog.at_level(logging.WARNING, logger="signing.stampfont"):
        sealer = Sealer(seal_custody, timestamper, arabic_font=str(not_a_font))
    assert sealer._arabic is None
    assert any(str(not_a_font) in r.getMessage() for r in caplog.records)
    assert Sealer(seal_custody, timestamper, arabic_font="")._arabic is None  # turned off: nothing to say


# -- the bidi runs, in visual order (left to right) --------------------------------------------------------------


def test_visual_runs_keep_an_isolated_url_left_to_right():
    line = f"\u062a\u062d\u0642\u0642 \u0639\u0644\u0649 {LRI}http://a.b/v/1{PDI}"  # "تحقق على URL"
    assert visual_runs(line) == [("http://a.b/v/1", False), ("\u062a\u062d\u0642\u0642 \u0639\u0644\u0649 ", True)]


def test_visual_runs_of_an_arabic_date():
    # "غاية 5 مارس 2026، 14:07": numbers left to right, read from the right: 5, مارس, 2026، then 14:07
    line = "\u063a\u0627\u064a\u0629 " + LABELS["ar"]
    assert visual_runs(line) == [
        ("14:07", False), ("\u060c ", True), ("2026", False), (" \u0645\u0627\u0631\u0633 ", True), ("5", False),
        ("\u063a\u0627\u064a\u0629 ", True)]


def test_two_isolates_keep_their_reading_order_from_the_right():
    line = f"\u0623 {LRI}one{PDI} {LRI}two{PDI}"
    runs = visual_runs(line)
    assert [text for text, rtl in runs if not rtl] == ["two", "one"]
