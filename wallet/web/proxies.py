"""The proxies screen (``/settings/proxies``): the proxies a citizen granted and those they received, a form to
grant one, and ending one (either side) after a confirmation.

Works without JavaScript: the forms post here with the session's CSRF token. Granting needs a step-up
(``wallet.citizens.stepup``): without JavaScript the answer is a small page asking for a fresh one-time code,
whose form carries the grant's fields again and posts back here, so the grant is made once the code is right.
With JavaScript (``proxies.js``) the same form goes to the JSON API and asks "Confirm it's you" in place.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from apiflask import APIBlueprint
from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from wallet import db, rules
from wallet.catalogue import TYPES
from wallet.citizens import auth, representation, stepup
from wallet.citizens.credentials import InvalidCredentials
from wallet.citizens.models import Citizen, CitizenSession, Mandate
from wallet.errors import WalletError
from wallet.extensions import runtime
from wallet.present import DISPLAY_TIMEZONE, day, lang, listing, type_name

bp = APIBlueprint("proxies_web", __name__, enable_openapi=False)

FORM_LIMIT = "10/minute"  # the form carries a one-time code after a step-up: as tight as POST /auth/step-up
DEFAULT_DAYS = 30


@bp.before_request
def _same_origin() -> None:
    auth.check_same_origin()


def _session() -> tuple[Citizen, CitizenSession]:
    citizen, row = auth.current_citizen(), auth.current_session()
    assert citizen is not None and row is not None  # rules.citizen ran
    return citizen, row


def _personal(body: str, status: int = 200) -> Response:
    resp = Response(body, status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Vary"] = "Cookie"
    return resp


# ------------------------------------------------------------------------------------------- what is shown

def today() -> dt.date:
    return db.utcnow().astimezone(DISPLAY_TIMEZONE).date()


def end_of_day(value: dt.date) -> dt.datetime:
    """A date chosen on the form: the proxy lasts to the end of that day, Moroccan time (as ``day`` shows it)."""
    return dt.datetime.combine(value, dt.time(23, 59, 59), tzinfo=DISPLAY_TIMEZONE).astimezone(dt.UTC)


def offsets(first: dt.date, last: dt.date) -> list[tuple[str, str]]:
    """Each date from ``first`` to ``last`` on which Morocco's offset from UTC changes, with the new offset
    (``[["2026-12-08", "+01:00"], ["2027-02-07", "+00:00"], ...]``): the page's script gives a chosen date
    the end of that day in the server's own time-zone data (a browser's may differ: Chromium's ICU put
    Casablanca at +00:00 in December 2026, where the server's tzdata has +01:00)."""
    out: list[tuple[str, str]] = []
    day_ = first
    while day_ <= last:
        off = end_of_day(day_).astimezone(DISPLAY_TIMEZONE).strftime("%z")
        text = f"{off[:3]}:{off[3:]}"
        if not out or out[-1][1] != text:
            out.append((day_.isoformat(), text))
        day_ += dt.timedelta(days=1)
    return out


def mandate_item(m: Mandate, me: str, names: dict[str, str], code: str, now: dt.datetime) -> dict[str, Any]:
    """One proxy as the screen shows it: the other person, the types in scope, sharing, until when, status."""
    other = m.proxy_id if m.grantor_id == me else m.grantor_id
    status = "ended" if m.ended_at else ("active" if representation.mandate_open(m, now) else "expired")
    return {"id": m.id, "name": names.get(other, ""), "national_id": other, "can_share": m.can_share,
            "types": listing((type_name(t, code) for t in m.types), code) if m.types is not None else None,
            "until": day(m.expires_at, code), "ended": day(m.ended_at, code) if m.ended_at else None,
            "status": status, "granted": m.grantor_id == me}


@dataclass
class GrantForm:
    """The grant form as posted (and shown again with an error, or carried by the step-up page)."""

    proxy_id: str = ""
    scope: str = "some"  # all | some
    types: list[str] = field(default_factory=list)
    expires_on: str = ""
    can_share: bool = False

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> GrantForm:
        return cls(proxy_id=form.get("proxy_id", "")[:64].strip(),
                   scope="all" if form.get("scope") == "all" else "some",
                   types=[t for t in form.getlist("types")[:len(TYPES) + 1] if t in TYPES],
                   expires_on=form.get("expires_on", "")[:10], can_share=form.get("can_share") == "1")

    def fields(self) -> list[tuple[str, str]]:
        """The hidden fields that carry the grant through the step-up page."""
        out = [("proxy_id", self.proxy_id), ("scope", self.scope), ("expires_on", self.expires_on)]
        out += [("types", t) for t in self.types]
        return out + ([("can_share", "1")] if self.can_share else [])


class FormError(WalletError):
    """A grant form that cannot be read (no type chosen, no date): shown on the page, never an API answer."""


def _parsed(form: GrantForm) -> tuple[list[str] | None, dt.datetime]:
    if form.scope == "some" and not form.types:
        raise FormError("choose a type", code="invalid_types")
    try:
        until = dt.date.fromisoformat(form.expires_on)
    except ValueError as exc:
        raise FormError("choose a date", code="invalid_expiry") from exc
    return (None if form.scope == "all" else form.types), end_of_day(until)


GRANT_MESSAGES = {  # the service's codes -> what the person reads (the API's detail is English)
    "proxy_is_self": lambda: _("You cannot give a proxy to yourself: enter the national ID of the person who "
                               "will act for you."),
    "invalid_national_id": lambda: _("Enter a national ID number, for example AB123456."),
    "invalid_types": lambda: _("Choose at least one type of document, or “All my documents”."),
    "invalid_expiry": lambda: _("Choose an end date after today and within five years."),
    "rate_limited": lambda: _("Too many attempts. Wait a moment and try again."),
}
GENERIC = lambda: _("Something went wrong. Try again.")  # noqa: E731
GRANT_FIELDS = {"proxy_is_self": "proxy_id", "invalid_national_id": "proxy_id", "invalid_types": "scope-some",
                "invalid_expiry": "expires_on"}


def _page(form: GrantForm | None = None, error: str | None = None, status: int = 200) -> Response:
    citizen, _row = _session()
    sess = db.session()
    granted, received = representation.mandates_of(sess, citizen)
    ids = {m.grantor_id for m in granted + received} | {m.proxy_id for m in granted + received}
    names = {nid: representation.person_name(sess, nid) for nid in ids}
    code, now, first = lang(), db.utcnow(), today()
    last = first + dt.timedelta(days=representation.MAX_MANDATE_DAYS - 1)
    form = form or GrantForm(expires_on=(first + dt.timedelta(days=DEFAULT_DAYS)).isoformat())
    body = render_template(
        "proxies.html", form=form, error=GRANT_MESSAGES.get(error, GENERIC)() if error else None,
        error_field=GRANT_FIELDS.get(error or ""),
        granted=[mandate_item(m, citizen.national_id, names, code, now) for m in granted],
        received=[mandate_item(m, citizen.national_id, names, code, now) for m in received],
        types=[(t, type_name(t, code)) for t in TYPES], min_date=(first + dt.timedelta(days=1)).isoformat(),
        max_date=last.isoformat(), offsets=json.dumps(offsets(first, last)),
        messages={k: v() for k, v in GRANT_MESSAGES.items()},
        notice={"granted": _("Proxy given."), "ended": _("Proxy ended.")}.get(request.args.get("done", "")))
    return _personal(body, status)


def stepup_page(action: str, fields: list[tuple[str, str]], back: str, error: bool = False) -> Response:
    """Without JavaScript: "Confirm it's you" with a fresh one-time code; the form posts ``fields`` again to
    ``action`` with ``stepup_otp``, and the action is done once the code is right (401: it is not done yet)."""
    return _personal(render_template("stepup_page.html", action=action, fields=fields, back=back, error=error), 401)


# ------------------------------------------------------------------------------------------- routes

@bp.get("/settings/proxies")
@rules.citizen(api=False)
def proxies_page() -> Response:
    return _page()


@bp.post("/settings/proxies")
@rules.citizen(api=False, limit=FORM_LIMIT, bucket="proxy-form")
def grant_form() -> BaseResponse:
    citizen, row = _session()
    sess = db.session()
    form = GrantForm.read(request.form)
    try:
        types, expires_at = _parsed(form)
        representation.check_mandate(citizen, form.proxy_id, types, expires_at)
    except WalletError as exc:
        return _page(form, exc.code, 400)
    otp = request.form.get("stepup_otp", "")[:16]
    here, back = url_for("proxies_web.grant_form"), url_for("proxies_web.proxies_page")
    if otp:
        try:
            stepup.step_up_with_otp(sess, runtime().envelope, citizen, row, otp, g.get("request_id"))
        except InvalidCredentials:
            return stepup_page(here, form.fields(), back, error=True)
    try:
        stepup.require_recent_auth(row)
    except stepup.StepUpRequired:
        return stepup_page(here, form.fields(), back)
    representation.grant_mandate(sess, citizen, form.proxy_id, types, expires_at, form.can_share,
                                 g.get("request_id"))
    return redirect(url_for("proxies_web.proxies_page", done="granted"), code=303)


@bp.get("/settings/proxies/<mandate_id>/end")
@rules.citizen(api=False)
def end_page(mandate_id: str) -> Response:
    """The confirmation step of ending a proxy without JavaScript (with it, the screen asks in place)."""
    citizen, _row = _session()
    sess = db.session()
    m = representation.own_mandate(sess, citizen, mandate_id)
    names = {nid: representation.person_name(sess, nid) for nid in (m.grantor_id, m.proxy_id)}
    item = mandate_item(m, citizen.national_id, names, lang(), db.utcnow())
    return _personal(render_template("proxy_end.html", m=item))


@bp.post("/settings/proxies/<mandate_id>/end")
@rules.citizen(api=False)
def end_form(mandate_id: str) -> BaseResponse:
    citizen, _row = _session()
    representation.end_mandate(db.session(), citizen, mandate_id, g.get("request_id"))
    return redirect(url_for("proxies_web.proxies_page", done="ended"), code=303)


__all__ = ["bp", "end_of_day", "mandate_item", "offsets", "stepup_page"]
