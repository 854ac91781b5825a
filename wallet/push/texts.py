"""What the service worker shows for a push, in each page language: it has only the payload's kind, type code
and language, so /sw.js carries these texts (from the message catalogues) and the document type names."""
from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _

from wallet.catalogue import TYPES
from wallet.present import LANGUAGE_CODES


def _texts() -> dict[str, str]:
    # "%(type)s" stays in the text: the service worker puts the document type's name there
    return {
        "document.arrived": _("New document in your wallet: %(type)s"),
        "guardian.document.arrived": _("New document for a person you represent: %(type)s"),
        "document.replaced": _("A document in your wallet was replaced by a new version: %(type)s"),
        "guardian.document.replaced": _("A document of a person you represent was replaced: %(type)s"),
        "document.revoked": _("A document in your wallet was revoked: %(type)s"),
        "guardian.document.revoked": _("A document of a person you represent was revoked: %(type)s"),
        "share.viewed": _("Someone has just viewed a document you shared: %(type)s"),
        "other": _("There is news in your wallet."),
        "document": _("document"),
    }


def push_texts(service_name: dict[str, str] | Any) -> dict[str, Any]:
    """``{"texts": {lang: {key: text, "title": name}}, "types": {code: {lang: name}}}`` for the service worker."""
    texts: dict[str, dict[str, str]] = {}
    for code in LANGUAGE_CODES:
        with force_locale(code):
            texts[code] = {**_texts(), "title": str(service_name.get(code) or "")}
    return {"texts": texts, "types": {t.code: dict(t.names) for t in TYPES.values()}}
