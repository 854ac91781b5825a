"""The demo PDF toolkit's parts on their own (wallet.demo.pdfkit): numbers, dates, bidi, wrapping, subsetting."""
from __future__ import annotations

import datetime as dt
import struct
from io import BytesIO

import pytest

from wallet.demo.pdfkit.arabic import arabic_font
from wallet.demo.pdfkit.bidi import has_arabic, visual_runs
from wallet.demo.pdfkit.canvas import Canvas, num
from wallet.demo.pdfkit.helvetica import REGULAR, latin_bytes, latin_width, pdf_literal
from wallet.demo.pdfkit.layout import BodyStyle, body_steps
from wallet.demo.pdfkit.text import text_width, wrap
from wallet.demo.pdfkit.writer import pdf_date, pdf_text_string


def test_numbers_are_short_and_never_negative_zero() -> None:
    assert [num(v) for v in (0, -0.001, 1.0, 1.5, 2.125, -3.333)] == ["0", "0", "1", "1.5", "2.12", "-3.33"]


def test_pdf_strings_and_dates() -> None:
    assert pdf_literal(b"a(b)\\c") == b"(a\\(b\\)\\\\c)"
    assert pdf_text_string("Rabat") == "(Rabat)"
    assert pdf_text_string("Fès") == "<FEFF" + "Fès".encode("utf-16-be").hex().upper() + ">"
    when = dt.datetime(2025, 3, 12, 10, 30, 5)
    assert pdf_date(when) == "D:20250312103005"
    assert pdf_date(when.replace(tzinfo=dt.UTC)) == "D:20250312103005Z"
    assert pdf_date(when.replace(tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30)))) == "D:20250312103005-03'30'"


def test_latin_text_falls_back_to_cp1252() -> None:
    assert latin_bytes("Fès") == "Fès".encode("cp1252")
    assert latin_bytes("Łódź ğ") == b"?\xf3dz g"  # ó is in cp1252; ź, ğ lose their accent; Ł has no base letter
    assert latin_bytes("☃") == b"?"
    assert latin_width(b"  ", REGULAR, 10) == pytest.approx(5.56)


def test_bidi_runs_in_visual_order() -> None:
    assert not has_arabic("Rabat 2025") and has_arabic("وزارة العدل")
    assert visual_runs("Rabat 2025") == (False, [(False, "Rabat 2025")])
    # a right-to-left paragraph: runs reversed, neutrals between unlike neighbours take the paragraph's direction
    assert visual_runs("وزارة (MJ) العدل") == (True, [(True, ") العدل"), (False, "MJ"), (True, "وزارة (")])
    # a left-to-right one: runs kept in order, the Arabic run whole
    assert visual_runs("Ministère وزارة العدل 2025") == (
        False, [(False, "Ministère "), (True, "وزارة العدل"), (False, " 2025")])


def test_wrap_breaks_words_wider_than_the_line() -> None:
    lines = wrap("court " + "x" * 200 + " fin", 100, 10)
    assert lines[0] == "court" and lines[-1] == "fin"
    assert all(text_width(line, 10) <= 100 for line in lines)
    assert "".join(lines[1:-1]) == "x" * 200
    assert wrap("", 100, 10) == [""]


def test_body_markup_steps() -> None:
    style = BodyStyle(left=50, width=495, ink=(0, 0, 0), heading=(0, 0.4, 0.2))
    steps = body_steps(["# Titre", "Nom : Amina", "A | B", "1 | 2", "", "Un paragraphe."], 1.0, style)
    c = Canvas()
    y = 700.0
    for step in steps:
        step.draw(c, y)
        y -= step.height
    assert 0 < 700 - y < 200
    text_ops = [op for op in c.ops if op.startswith("BT")]
    assert any("(Titre)" in op for op in text_ops) and any("(Amina)" in op for op in text_ops)
    assert len(body_steps(["1 | 2"] * 3, 1.0, style)) == 4  # three rows and the gap after the table
    smaller = body_steps(["Nom : Amina"] * 5, 0.7, style)
    assert sum(s.height for s in smaller) < sum(s.height for s in body_steps(["Nom : Amina"] * 5, 1.0, style))


def test_subset_keeps_the_glyphs_and_their_components() -> None:
    font = arabic_font("regular")
    shaped = font.shape("وزارة العدل")
    gids = sorted({g for g, *_ in shaped.glyphs})
    program = font.subset(gids)
    assert font.subset(gids) is program  # cached
    assert len(program) < len(font.tables["glyf"])
    # sfnt checksum adjustment: the whole file sums to 0xB1B0AFBA
    padded = program + b"\0" * (-len(program) % 4)
    assert sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF == 0xB1B0AFBA
    ttlib = pytest.importorskip("fontTools.ttLib")
    tt = ttlib.TTFont(BytesIO(program))
    order = tt.getGlyphOrder()
    kept = [g for g in gids if tt["glyf"][order[g]].numberOfContours != 0]
    assert kept == [g for g in gids if font.glyph_data[g]]
    closure = font._closure(frozenset(gids))
    for g in range(len(order)):
        if g not in closure:
            assert tt["glyf"][order[g]].numberOfContours == 0
