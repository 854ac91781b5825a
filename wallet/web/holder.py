"""What the holder's pages show of their shares' looks and of their sessions: plain words, Morocco time.

Where a look or a sign-in came from is told honestly: there is no location database, so a network ("network
203.0.113.x") or "a local network", never an invented town; the browser by family and system ("Chrome on
Android"), parsed on the server (``wallet.verification.privacy``).
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from wallet.citizens.holdings import RepresentativeUse
from wallet.citizens.models import CitizenSession
from wallet.citizens.sessions import session_handle
from wallet.present import listing, moment, type_name
from wallet.shares.models import Share, ShareView
from wallet.verification.privacy import browser_family, network_of, split_family


def activity_item(view: ShareView, share: Share, lang: str) -> dict[str, Any]:
    """One look at one of the holder's shares: when, which share (its label and its documents' types), from
    which network and which browser, by which way (page, app, copy) and whether it was refused."""
    return {"when": moment(view.at, lang), "label": share.label,
            "documents": listing((type_name(item.document.type, lang) for item in share.items), lang),
            "where": listing([place(view.ip_prefix), device(view.browser) or ""], lang),
            "channel": view.channel, "result": view.result,
            "presented_as": share.presented_as, "presented_by": share.presented_by_name or ""}


def use_item(use: RepresentativeUse, lang: str) -> dict[str, Any]:
    """A representative's download of one of the holder's documents: when, which document, who, in what role."""
    return {"when": moment(use.at, lang),
            "document": type_name(use.document.type, lang), "reference": use.document.reference,
            "role": use.role, "name": use.name}


def place(ip_prefix: str | None) -> str:
    """Where from, as far as the service can honestly tell: a network, never a town."""
    found = network_of(ip_prefix)
    if found is None:
        return str(_("Network unknown"))
    kind, shown = found
    return str(_("From a local network") if kind == "local" else _("From network %(net)s", net=shown))


def device(family: str | None) -> str | None:
    """"Chrome on Android" in the page language ("Chrome sur Android", "Chrome على Android")."""
    browser, system = split_family(family)
    if not browser or browser == "Other":
        return None
    return str(_("%(browser)s on %(system)s", browser=browser, system=system)) if system else browser


def session_item(row: CitizenSession, current: CitizenSession, lang: str) -> dict[str, Any]:
    """One signed-in session: the browser and system it was opened from (no raw User-Agent), when."""
    return {"handle": session_handle(row), "device": device(browser_family(row.user_agent)),
            "where": place(row.ip_prefix) if row.ip_prefix else None,
            "created": moment(row.created_at, lang), "last_seen": moment(row.last_seen_at, lang),
            "current": row.id == current.id}
