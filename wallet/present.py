"""The one presentation layer every domain shares: languages, names, QR codes and documented problem answers.

Each domain's ``present.py`` (``wallet.citizens.present``, ``wallet.shares.present``, ...) turns its own rows
into resources and template contexts; what they all need is here, written once:

- ``LANGUAGES`` (code + the language's own name, for the switchers), ``LANGUAGE_CODES``, ``DEFAULT_LANGUAGE``;
  ``lang()`` the request's language, ``text_dir(code)``, ``page_language()`` the template variables of a page.
- ``type_name(code, lang)``: a document type's localised name; ``issuer_name(doc, lang)``: the issuing
  agency's localised name (for an ORM ``Document`` and for any row with an ``agency`` that has
  ``display_name``, such as the verification read model's).
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
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple, Protocol

import qrcode
from apiflask.types import ResponseObjectType, ResponsesObjectType
from flask_babel import get_locale

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


def lang() -> str:
    """The request's language code (``wallet.extensions.select_locale`` chose it: ?lang, cookie, Accept-Language)."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def text_dir(code: str) -> str:
    """``rtl`` or ``ltr``: the ``dir`` of a page (and of the web app manifest) in that language."""
    return "rtl" if code in RIGHT_TO_LEFT else "ltr"


def page_language() -> dict[str, Any]:
    """The language variables every page template uses: ``lang``, ``text_dir`` and the switcher's ``languages``."""
    code = lang()
    return {"lang": code, "text_dir": text_dir(code), "languages": LANGUAGES}


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


__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_CODES", "RIGHT_TO_LEFT", "Language", "ProblemResponses",
           "issuer_name", "lang", "page_language", "problem_response", "problem_responses", "qr_matrix", "qr_svg",
           "svg_data_uri", "text_dir", "type_name"]
