"""The one presentation layer every domain shares: languages, names, QR codes and documented problem answers.

Each domain's ``present.py`` (``wallet.citizens.present``, ``wallet.shares.present``, ...) turns its own rows
into resources and template contexts; what they all need is here, written once:

- ``LANGUAGES`` (code + the language's own name, for the switchers), ``LANGUAGE_CODES``, ``DEFAULT_LANGUAGE``;
  ``lang()`` the request's language, ``text_dir(code)``, ``page_language()`` the template variables of a page.
- ``type_name(code, lang)``: a document type's localised name; ``issuer_name(doc, lang)``: the issuing
  agency's localised name (for an ORM ``Document`` and for any row with an ``agency`` that has
  ``display_name``, such as the verification read model's).
- ``day(value)`` and ``moment(value)``: THE long date and date-and-time formats of every page, in Morocco's
  time zone (Jinja filters ``day`` and ``moment``); ``listing(items)`` joins with the language's comma;
  ``spoken(sentences)`` composes what a "read aloud" button says (``frontend/templates/_speak.html``).
- ``qr_matrix(text)`` and ``qr_svg(matrix)``: a QR code as SVG (the share screen passes the matrix of the very
  code its seals carry, ``signing.seal.qr_code(url).get_matrix()``); ``svg_data_uri(svg)`` for an ``<img>``.
- ``problem_responses({status: description})``: the ``responses=`` of ``@bp.doc`` for the
  ``application/problem+json`` answers a view may give (``.only(401, 404)`` picks some, ``besides=`` adds the
  view's other answers); ``problem_response`` for one. Both are typed as apiflask's own responses object. The error family and the answer itself are ``wallet.errors``'.

Nothing here reads the database or the runtime: these are pure functions of their arguments (and, for
``lang()``, of the request's locale).
"""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple, Protocol
from zoneinfo import ZoneInfo

import qrcode
from apiflask.types import ResponseObjectType, ResponsesObjectType
from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from flask import g, has_request_context, request

from wallet.catalogue import TYPES
from wallet.errors import PROBLEM, Problem


class Language(NamedTuple):
    """A language the wallet speaks; unpacks as ``code, name`` (the templates' ``for code, label in languages``)."""

    code: str
    name: str  # in its own script: what a reader looks for in a language switcher


LANGUAGES: Final = (Language("ar", "العربية"), Language("fr", "Français"), Language("en", "English"))
LANGUAGE_CODES: Final = tuple(language.code for language in LANGUAGES)
DEFAULT_LANGUAGE: Final = "fr"
RIGHT_TO_LEFT: Final = frozenset({"ar"})


def select_locale() -> str:
    """The request's language (one of ``LANGUAGES``): ``?lang=``, the ``lang`` cookie, the browser's.
    flask-babel's locale selector (``wallet.app``)."""
    code = request.args.get("lang") or request.cookies.get("lang")
    if code in LANGUAGE_CODES:
        return code
    return request.accept_languages.best_match(LANGUAGE_CODES) or DEFAULT_LANGUAGE


def lang() -> str:
    """The request's language code, as ``select_locale`` chooses it (the code flask-babel's locale is parsed
    from), once per request. Not through ``flask_babel.get_locale``: building babel's ``Locale`` for a code
    cost a QR look's JSON 8% of its CPU (issue 16, bench row 7); templates still get their translations."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    try:
        return str(g._wallet_lang)
    except AttributeError:
        g._wallet_lang = select_locale()
        return str(g._wallet_lang)


def text_dir(code: str) -> str:
    """``rtl`` or ``ltr``: the ``dir`` of a page (and of the web app manifest) in that language."""
    return "rtl" if code in RIGHT_TO_LEFT else "ltr"


def page_language() -> dict[str, Any]:
    """The language variables every page template uses: ``lang``, ``text_dir`` and the switcher's ``languages``."""
    code = lang()
    return {"lang": code, "text_dir": text_dir(code), "languages": LANGUAGES}


# -- dates, times and spoken text -------------------------------------------------------------------

#: Where dates and times are shown: every person sees Moroccan time, whatever their phone's zone or the server's.
DISPLAY_TIMEZONE: Final = ZoneInfo("Africa/Casablanca")
#: The CLDR locale each page language formats with: Morocco's Arabic (its month names: يناير … دجنبر) and French;
#: British English (day before month, 24-hour clock), closest to what Moroccan readers of English expect.
_FORMAT_LOCALE: Final = {"ar": "ar_MA", "fr": "fr_MA", "en": "en_GB"}
_LIST_COMMA: Final = {"ar": "، "}
_FULL_STOP: Final = {"ar": "."}


def _locale(code: str) -> Locale:
    return Locale.parse(_FORMAT_LOCALE.get(code, code))


def _aware(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # the database hands back naive UTC (SQLite)
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(DISPLAY_TIMEZONE)
    return value


def day(value: dt.datetime | dt.date | None, code: str | None = None) -> str:
    """The one long date format, in Morocco's time zone: "1 December 2026", "1 décembre 2026", "1 دجنبر 2026"."""
    if value is None:
        return ""
    return babel_format_date(_aware(value), "long", locale=_locale(code or lang()))


def moment(value: dt.datetime | None, code: str | None = None) -> str:
    """The one date-and-time format, in Morocco's time zone: "1 December 2026, 21:24" ("1 دجنبر 2026، 21:24")."""
    if value is None:
        return ""
    loc = _locale(code or lang())
    local = _aware(value)
    pattern = str(loc.datetime_formats["long"]).replace("{1}", str(loc.date_formats["long"])).replace("{0}", "HH:mm")
    return babel_format_datetime(local, pattern, tzinfo=DISPLAY_TIMEZONE, locale=loc)


def listing(items: Iterable[str], code: str | None = None) -> str:
    """Items joined with the language's comma ("، " in Arabic, never a Latin comma between Arabic words)."""
    return _LIST_COMMA.get(code or lang(), ", ").join(item for item in items if item)


def spoken(sentences: Iterable[str], code: str | None = None) -> str:
    """Sentences for speech synthesis: empty ones dropped, each ended once with the language's full stop, so the
    voice pauses between facts and never reads a stray comma or a doubled stop."""
    stop = _FULL_STOP.get(code or lang(), ".")
    out = []
    for sentence in sentences:
        text = " ".join(sentence.split()).rstrip(" ,،;:")
        if text:
            out.append(text if text.endswith((".", "!", "?", "؟", "…")) else text + stop)
    return " ".join(out)


# -- names ------------------------------------------------------------------------------------------

def type_name(code: str, lang: str) -> str:
    """A document type's name in ``lang`` (French when it has none); an unknown code is shown as it is."""
    doc_type = TYPES.get(code)
    return doc_type.name(lang) if doc_type else code


class _Named(Protocol):
    def display_name(self, lang: str) -> str: ...


class _Issued(Protocol):
    @property
    def agency(self) -> _Named: ...


def issuer_name(doc: _Issued, lang: str) -> str:
    """The issuing agency's name in ``lang`` (its official name when it has none in that language)."""
    return doc.agency.display_name(lang)


# -- QR codes ---------------------------------------------------------------------------------------

def qr_matrix(text: str, border: int = 2) -> list[list[bool]]:
    """The modules of a QR code for ``text`` (medium error correction), quiet zone of ``border`` included."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()  # type: ignore[no-any-return]


def qr_svg(matrix: Sequence[Sequence[bool]]) -> str:
    """A QR code's modules (quiet zone included) as SVG: a viewBox only (the page sizes it), one path of
    horizontal runs, crisp edges. Small, and the same drawing wherever a QR code is shown."""
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
            f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{"".join(runs)}"/></svg>')


def svg_data_uri(svg: str) -> str:
    """An SVG as a ``data:`` URI, for an ``<img src>`` (the pages' content policy allows ``data:`` images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


# -- documented problem answers ---------------------------------------------------------------------

class ProblemResponses(dict[int | str, ResponseObjectType]):
    """Status -> OpenAPI response object, each an ``application/problem+json`` body (``wallet.errors.Problem``).

    Typed as apiflask's own ``responses=`` object, so ``@bp.doc(responses=PROBLEMS.only(...))`` type-checks."""

    def only(self, *statuses: int, besides: ResponsesObjectType | None = None) -> ResponsesObjectType:
        """Those of ``statuses`` (in that order), for a view that can give only some of its blueprint's answers.

        ``besides``: the view's other documented answers (its 200 with a body ...), put first. Given here rather
        than as ``{200: ..., **PROBLEMS.only(...)}``, which mypy cannot type as apiflask's ``responses=``."""
        return {**(besides or {}), **{status: self[status] for status in statuses}}


def problem_response(description: str) -> ResponseObjectType:
    """One documented problem answer: ``responses={404: problem_response("Not found")}``."""
    return {"description": description, "content": {PROBLEM: {"schema": Problem}}}


def problem_responses(descriptions: Mapping[int, str]) -> ProblemResponses:
    """The problem answers of a blueprint, by status, each with what it means there (one table per views module)."""
    return ProblemResponses({status: problem_response(text) for status, text in descriptions.items()})


__all__ = ["DEFAULT_LANGUAGE", "DISPLAY_TIMEZONE", "LANGUAGES", "LANGUAGE_CODES", "RIGHT_TO_LEFT", "Language",
           "ProblemResponses", "day", "issuer_name", "lang", "listing", "moment", "page_language", "problem_response",
           "problem_responses", "qr_matrix", "qr_svg", "spoken", "svg_data_uri", "text_dir", "type_name"]
