"""The platform seal on shared copies (product flow 3).

A shared copy is the agency's original PDF plus ONE incremental update: a PAdES
signature (``ETSI.CAdES.detached``, RFC 3161 signature timestamp, the seal's
chain embedded) by the platform, whose visible appearance on the first page
carries a QR code pointing to the verification URL and the text
"Shared copy — verify at URL — valid until DATE" in English, French and Arabic (the Arabic lines in an
embedded OpenType font shaped by HarfBuzz: :mod:`signing.stampfont`).

Originals certified with DocMDP P=1 ("no changes") cannot take that update;
:meth:`Sealer.can_seal` says so up front and :meth:`Sealer.verification_sheet`
produces a separate sealed one-page sheet carrying the same QR code instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import qrcode
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.qr import PdfStreamQRImage
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter, PageObject, PdfFileWriter, init_xobject_dictionary
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import QRPosition, QRStamp, QRStampStyle

from . import qrmask
from .errors import SigningLibraryError
from .keys import KeyCustody
from .stampfont import (
    ARABIC_FONT_DEFAULT,
    ARABIC_RESOURCE,
    LRI,
    PDI,
    ArabicFont,
    StampFontEngine,
    StampFontFactory,
    has_rtl,
    line_width_em,
    load_arabic_font,
    pdf_literal,
    winansi_courier,
)

__all__ = ["SealText", "Sealer", "SealingError", "qr_code"]

#: The stamp band: height and margins (PDF points) at the bottom of the first page.
STAMP_HEIGHT = 84
#: a denser QR code (a signed offline payload, ~500 characters) makes the band taller: at least this many points
#: per module (1.5 pt = 2 pixels at 100 dpi, what a scan of a print or a screenshot needs to decode)
QR_POINTS_PER_MODULE = 1.5
STAMP_MARGIN_X = 24
STAMP_MARGIN_Y = 14
_MAX_FONT_SIZE = 8
_MIN_FONT_SIZE = 4
_PADES_MD = "sha256"


class SealingError(SigningLibraryError):
    """The document cannot be sealed (certified without changes, unreadable, encrypted ...)."""


@dataclass(frozen=True)
class SealText:
    """What the seal's visible appearance says.

    ``valid_until_labels``: the date as each language writes it (``{"en": ..., "fr": ..., "ar": ...}``, formatted
    by the caller, e.g. in Morocco's time zone); a language without one gets :meth:`valid_until_label`.
    """

    url: str
    valid_until: datetime
    lines: tuple[str, ...] = ()  # extra lines, printed under the standard text
    valid_until_labels: Mapping[str, str] = field(default_factory=dict)

    def valid_until_label(self, lang: str | None = None) -> str:
        if lang is not None and self.valid_until_labels.get(lang):
            return self.valid_until_labels[lang]
        dt = self.valid_until
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def arabic_lines(self) -> tuple[str, str]:
        """The Arabic lines; the URL (and a date written in Latin) isolated left to right."""
        date = self.valid_until_label("ar")
        if not has_rtl(date):
            date = f"{LRI}{date}{PDI}"
        return (
            f"\u0646\u0633\u062e\u0629 \u0645\u0634\u062a\u0631\u0643\u0629 \u2014 "
            f"\u062a\u062d\u0642\u0642 \u0645\u0646\u0647\u0627 \u0639\u0644\u0649 {LRI}{self.url}{PDI}",
            f"\u2014 \u0635\u0627\u0644\u062d\u0629 \u0625\u0644\u0649 \u063a\u0627\u064a\u0629 {date}",
        )  # "نسخة مشتركة — تحقق منها على URL" / "— صالحة إلى غاية DATE"

    def text_lines(self, *, arabic: bool = True) -> tuple[str, ...]:
        return (
            f"Shared copy \u2014 verify at {self.url}",
            f"\u2014 valid until {self.valid_until_label('en')}",
            f"Copie partag\u00e9e \u2014 v\u00e9rifier sur {self.url}",
            f"\u2014 valable jusqu'au {self.valid_until_label('fr')}",
            *(self.arabic_lines() if arabic else ()),
            *self.lines,
        )


def qr_code(url: str) -> qrcode.QRCode:
    """The QR code pyHanko's QR stamp draws for ``url``, built as pyHanko 0.38 builds it (medium error
    correction, 4-module quiet zone, the best of the eight masks). Make it once per link: the seal's stamp
    draws it (``Sealer.seal(..., qr=)``) and the share screen's SVG is drawn from ``get_matrix()``."""
    qr = qrmask.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)  # qrcode's symbol, its mask found faster
    qr.add_data(url)
    qr.make()
    return qr


def stamp_height(qr: qrcode.QRCode) -> int:
    """The band's height (points) for ``qr``: STAMP_HEIGHT, or taller for a dense code (see QR_POINTS_PER_MODULE;
    the side drawn is the height less pyHanko's inner padding, quiet zone included)."""
    modules = int(qr.modules_count) + 2 * int(qr.border)
    return max(STAMP_HEIGHT, math.ceil(modules * QR_POINTS_PER_MODULE) + 6)


class _PremadeQRStamp(QRStamp):
    """pyHanko's QR stamp drawing a QR code made beforehand (``QRStamp._qr_xobject``'s plain branch in
    pyHanko 0.38, with ``qr_code``'s QR instead of a new one)."""

    def __init__(self, writer: BasePdfFileWriter, url: str, style: QRStampStyle, qr: qrcode.QRCode,
                 text_params: dict[str, Any] | None = None, box: layout.BoxConstraints | None = None) -> None:
        super().__init__(writer, url, style, text_params=text_params, box=box)
        self._qr = qr
        self._out = writer

    def _text_layout(self) -> bytes:
        commands: bytes = super()._text_layout()
        engine = self.text_box.font_engine if self.text_box is not None else None
        if isinstance(engine, StampFontEngine) and engine.arabic_resource is not None:
            self.set_resource(ResourceType.FONT, generic.pdf_name(ARABIC_RESOURCE), engine.arabic_resource)
        return commands

    def _qr_xobject(self) -> tuple[generic.IndirectObject, int]:
        qr = self._qr
        img = qr.make_image(image_factory=PdfStreamQRImage)
        bbox_size = (qr.modules_count + 2 * qr.border) * qr.box_size
        qr_xobj = init_xobject_dictionary(img.render_command_stream(), bbox_size, bbox_size)
        qr_xobj.compress()
        return self._out.add_object(qr_xobj), bbox_size


@dataclass(frozen=True)
class _SealStampStyle(QRStampStyle):
    """The seal's QR stamp style; ``qr`` is the QR code its stamp draws (``qr_code(url)``)."""

    qr: Any = None

    def create_stamp(self, writer: BasePdfFileWriter, box: layout.BoxConstraints,
                     text_params: dict[str, Any]) -> QRStamp:
        if self.qr is None:
            return super().create_stamp(writer, box, text_params)
        url = text_params.pop("url")
        return _PremadeQRStamp(writer, url, self, self.qr, text_params=text_params, box=box)


def _base_stamp_style() -> _SealStampStyle:
    return _SealStampStyle(
        stamp_text="%(seal_text)s",
        border_width=1,
        border_color=(0.2, 0.2, 0.2),
        innsep=4,
        qr_position=QRPosition.LEFT_OF_TEXT,
        text_box_style=TextBoxStyle(font=winansi_courier, font_size=7, leading=9),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(left=2, right=4, top=2, bottom=2),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
    )


def _white_background(width: float, height: float) -> content.PdfContent:
    return content.RawContent(
        b"1 1 1 rg 0 0 %g %g re f" % (width, height),
        box=layout.BoxConstraints(width, height),
    )


# -- checks on the original --------------------------------------------------------


def _no_changes_reason(reader: PdfFileReader) -> str | None:
    """Why nothing may be appended to this document, or None if a seal is acceptable."""
    if reader.encrypted:
        return "the document is encrypted"
    if reader.strict and reader.xrefs.hybrid_xrefs_present:
        return "the document has hybrid cross-reference sections"
    root = reader.root
    try:
        docmdp = root["/Perms"]["/DocMDP"]
    except KeyError:
        docmdp = None
    if docmdp is not None:
        perm = _transform_p(docmdp, "/DocMDP")
        if perm == MDPPerm.NO_CHANGES.value:
            return "the document is certified with DocMDP P=1 (no changes allowed)"
        # P=2/P=3 allow signing, but pyHanko's diff policy (stricter than Acrobat) rejects a new
        # *visible* signature field after a certification signature: the agency's signature
        # would then report a disallowed modification. Our seal is always visible.
        return f"the document is certified (DocMDP P={perm}): a new visible signature field is not allowed"
    # An approval signature that locked the document carries /Lock on its field: /P 1 forbids
    # everything, /Action /All forbids new visible fields too (pyHanko's FieldMDP rule).
    # (Reading the field, not the signature dictionary: the latter would decode its /Contents.)
    for _name, _value, field_ref in enumerate_sig_fields(reader, filled_status=True):
        lock = field_ref.get_object().get("/Lock")
        if lock is None:
            continue
        lock = lock.get_object()
        if lock.get("/P") == 1:
            return "a signature field lock forbids all changes (P=1)"
        if lock.get("/Action") == "/All":
            return "a signature field lock (/Action /All) forbids new visible signature fields"
    if reader.root["/Pages"].get("/Count", 0) < 1:
        return "the document has no pages"
    return None


def _transform_p(sig_value: Any, method: str) -> int | None:
    sig_dict = sig_value.get_object()
    refs = sig_dict.get("/Reference")
    if refs is None:
        return None
    for ref in refs:
        ref = ref.get_object()
        if ref.get("/TransformMethod") != method:
            continue
        try:
            return int(ref["/TransformParams"].get_object().raw_get("/P"))
        except KeyError:
            return 2 if method == "/DocMDP" else None  # /P defaults to 2 for DocMDP
    return None


def _first_page_box(writer: IncrementalPdfFileWriter | PdfFileWriter) -> tuple[float, float, float, float]:
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    box = find_inherited_value_in_tree(page, "/CropBox", "/Parent") or find_inherited_value_in_tree(
        page, "/MediaBox", "/Parent"
    )
    x0, y0, x1, y1 = (float(v) for v in box)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


class Sealer:
    """Seals shared copies with the platform's key. One instance per process; thread-safe."""

    def __init__(
        self,
        custody: KeyCustody,
        timestamper: TimeStamper,
        *,
        field_name_prefix: str = "WalletSeal",
        arabic_font: str | None = ARABIC_FONT_DEFAULT,
    ) -> None:
        """``arabic_font``: the OpenType/TrueType file the stamp's Arabic lines are drawn in, read once per process;
        missing or unusable (logged once), or empty: the stamp has its French and English lines only."""
        self._custody = custody
        self._timestamper = timestamper
        self._prefix = field_name_prefix
        self._style = _base_stamp_style()
        self._arabic: ArabicFont | None = load_arabic_font(arabic_font)
        self._bytes_reserved: int | None = None
        self._estimate_lock = threading.Lock()

    # -- public API ----------------------------------------------------------------

    def can_seal(self, pdf: bytes) -> bool:
        """True when :meth:`seal` can append its update without breaking the original.

        False for unreadable or encrypted files, for certified documents (any DocMDP level:
        a visible seal after a certification signature counts as a disallowed change) and
        for documents whose signature locks all fields; use :meth:`verification_sheet`.
        """
        try:
            reader = PdfFileReader(BytesIO(pdf))
            return _no_changes_reason(reader) is None
        except Exception:  # noqa: BLE001 - the PDF stack raises anything on malformed input
            return False

    def seal(self, pdf: bytes, text: SealText, *, qr: qrcode.QRCode | None = None) -> bytes:
        """The original plus one incremental update: the platform's visible, timestamped PAdES seal.

        ``qr``: ``qr_code(text.url)`` when the caller made it already (it draws it elsewhere too).
        """
        try:
            writer = IncrementalPdfFileWriter(BytesIO(pdf))
            reason = _no_changes_reason(writer.prev)
        except Exception as exc:
            raise SealingError("the document cannot be read") from exc
        if reason is not None:
            raise SealingError(f"cannot seal: {reason}")
        return self._sign(writer, text, existing_names=self._sig_field_names(writer.prev), input_buf=pdf,
                          qr=qr if qr is not None else qr_code(text.url))

    def verification_sheet(self, text: SealText, *, title: str, sha256: str, issuer: str, holder: str,
                           qr: qrcode.QRCode | None = None) -> bytes:
        """A new one-page PDF describing the original, carrying the same QR code, sealed."""
        writer = PdfFileWriter(stream_xrefs=False)
        width, height = 595.0, 842.0  # A4
        lines = [
            (16, "Verification sheet / Fiche de v\u00e9rification"),
            (10, ""),
            (10, "The original document is certified by its issuer and cannot take a seal."),
            (10, "This sheet, sealed by the wallet platform, refers to it by its SHA-256."),
            (10, "Le document original est certifi\u00e9 par son \u00e9metteur et ne peut pas"),
            (10, "recevoir de cachet ; cette fiche scell\u00e9e y renvoie par son SHA-256."),
            (10, ""),
            (11, f"Document / Document : {title}"),
            (11, f"Issuer / \u00c9metteur : {issuer}"),
            (11, f"Holder / Titulaire : {holder}"),
            (11, "SHA-256 of the original / de l'original :"),
            (9, sha256[:32]),
            (9, sha256[32:]),
            (10, ""),
            (10, f"Verify at / V\u00e9rifier sur : {text.url}"),
            (10, f"Valid until / Valable jusqu'au : {text.valid_until_label('en')}"),
        ]
        ops = [b"BT 56 806 Td"]
        for size, line in lines:
            data = line.encode("cp1252", errors="replace")
            ops.append(b"/F1 %d Tf 0 -%g Td %s Tj" % (size, size * 1.6, pdf_literal(data)))
        ops.append(b"ET")
        stream = generic.StreamObject(stream_data=b"\n".join(ops))
        stream.compress()
        font = winansi_courier.create_font_engine(writer).as_resource()
        resources = generic.DictionaryObject(
            {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): writer.add_object(font)})}
        )
        writer.insert_page(PageObject(writer.add_object(stream), (0, 0, width, height), resources))
        buf = BytesIO()
        writer.write(buf)
        sheet = buf.getvalue()
        return self.seal(sheet, text, qr=qr)

    # -- internals -----------------------------------------------------------------

    @staticmethod
    def _sig_field_names(reader: PdfFileReader) -> set[str]:
        return {name for name, _value, _ref in enumerate_sig_fields(reader)}

    def _field_name(self, existing: set[str]) -> str:
        n = 1
        while f"{self._prefix}{n}" in existing:
            n += 1
        return f"{self._prefix}{n}"

    def _stamp_style(self, text_lines: tuple[str, ...], box_w: float, qr: qrcode.QRCode) -> _SealStampStyle:
        # the QR code is a square as high as the band; the text gets the rest of the width
        height = stamp_height(qr)
        qr_padded = height  # QR side (height - 2 innsep) + 2 innsep
        available = box_w - qr_padded - 8
        widest = max(line_width_em(line, self._arabic) for line in text_lines)
        # pyHanko's text layout wants integer sizes
        font_size = int(max(_MIN_FONT_SIZE, min(_MAX_FONT_SIZE, available / widest)))
        leading = max(font_size, min(round(font_size * 1.25), (height - 8) // len(text_lines)))
        return dataclasses.replace(
            self._style,
            text_box_style=TextBoxStyle(font=StampFontFactory(self._arabic, widest), font_size=font_size,
                                        leading=leading),
            background=_white_background(box_w, height),
            background_opacity=1.0,
            qr=qr,
        )

    def _reserved(self) -> int:
        """Bytes to reserve for the CMS, estimated once (pyHanko would otherwise dry-run every seal)."""
        if self._bytes_reserved is None:
            with self._estimate_lock:
                if self._bytes_reserved is None:
                    self._bytes_reserved = asyncio.run(self._estimate())
        return self._bytes_reserved

    async def _estimate(self) -> int:
        signer = self._custody.signer()
        digest = hashes.Hash(hashes.SHA256())
        digest.update(b"")
        test_cms = await signer.async_sign(
            digest.finalize(),
            _PADES_MD,
            use_pades=True,
            dry_run=True,
            timestamper=self._timestamper,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)),
        )
        hex_len = len(test_cms.dump()) * 2
        # timestamp tokens and signatures vary a little in size: keep a 50% margin
        return hex_len + 2 * (hex_len // 4)

    def _sign(
        self, writer: IncrementalPdfFileWriter, text: SealText, *, existing_names: set[str], input_buf: bytes,
        qr: qrcode.QRCode,
    ) -> bytes:
        x0, y0, x1, _y1 = _first_page_box(writer)
        box = (
            round(x0) + STAMP_MARGIN_X,
            round(y0) + STAMP_MARGIN_Y,
            round(x1) - STAMP_MARGIN_X,
            round(y0) + STAMP_MARGIN_Y + stamp_height(qr),
        )
        lines = text.text_lines(arabic=self._arabic is not None)
        field_name = self._field_name(existing_names)
        signer = PdfSigner(
            PdfSignatureMetadata(
                field_name=field_name,
                md_algorithm=_PADES_MD,
                subfilter=SigSeedSubFilter.PADES,
                reason="Shared copy sealed by the wallet platform",
                docmdp_permissions=MDPPerm.FILL_FORMS,
            ),
            signer=self._custody.signer(),
            timestamper=self._timestamper,
            stamp_style=self._stamp_style(lines, box[2] - box[0], qr),
            new_field_spec=SigFieldSpec(sig_field_name=field_name, on_page=0, box=box),
        )
        out = BytesIO()
        signer.sign_pdf(
            writer,
            output=out,
            bytes_reserved=self._reserved(),
            appearance_text_params={"url": text.url, "seal_text": "\n".join(lines)},
        )
        return out.getvalue()
