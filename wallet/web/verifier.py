"""What the offline verifier page (/verifier) carries for its script: names and words in the page's language.

The page checks QR payloads without a connection, so everything it shows must already be in it: document type
names, agency names (code -> name), the month names and date-time pattern of ``wallet.present.moment`` (so the
script writes dates the way every other page does, in Morocco's time zone), and the result texts.
"""
from __future__ import annotations

from typing import Any

from babel import Locale
from flask_babel import gettext as _
from sqlalchemy import select

from wallet import db
from wallet.agencies.models import Agency
from wallet.catalogue import TYPES
from wallet.present import type_name

_FORMAT_LOCALE = {"ar": "ar_MA", "fr": "fr_MA", "en": "en_GB"}


def _calendar(code: str) -> dict[str, Any]:
    loc = Locale.parse(_FORMAT_LOCALE.get(code, code))
    months = loc.months["format"]["wide"]
    pattern = str(loc.datetime_formats["long"]).replace("'", "")
    return {"months": [months[m] for m in range(1, 13)], "moment": pattern}


def texts() -> dict[str, str]:
    return {
        "valid": _("Valid"), "revoked": _("Revoked"), "expired": _("Expired"), "invalid": _("Not valid"),
        "unknown_key": _("Unknown signing key"),
        "valid_why": _("The signature is right and the document has not been withdrawn."),
        "revoked_why": _("The holder or the issuing administration has withdrawn this document."),
        "expired_why": _("This share has expired: ask the holder for a new one."),
        "invalid_why": _("This code was altered, or it is not the QR code of a wallet document."),
        "unknown_key_why": _("This code is not signed with a key this device knows. Reconnect to refresh the keys."),
        "offline_as_of": _("Checked offline, status as of %(time)s"),
        "as_of": _("Status as of %(time)s"),
        "stale": _("Valid as of %(time)s, reconnect to refresh."),
        "no_status": _("This device has no status list for this document yet: reconnect to refresh."),
        "checking": _("Checking…"),
        "no_camera": _("The camera is not available. Take a photo of the QR code or paste its content instead."),
        "reading_photo": _("Reading the photo…"),
        "no_qr_in_photo": _("No QR code could be read in this photo. Take it again closer, with the whole code in "
                            "view and in focus."),
        "offline_banner": _("Offline — checks use keys and status as of %(time)s"),
        "offline_no_data": _("Offline — this device has no keys yet: connect once to check documents."),
        "guardian": _("legal guardian"), "proxy": _("proxy"),
    }


def page_config(code: str) -> dict[str, Any]:
    agencies = db.session().execute(select(Agency).where(Agency.active.is_(True))).scalars()
    return {"types": {t: type_name(t, code) for t in TYPES}, "agencies": {a.code: a.display_name(code) for a in agencies},
            "texts": texts(), **_calendar(code)}
