"""Reset at a counter (issue 13, item 13): ``citizen reset ID`` issues a one-time code; /reset uses it.

The code is the CLI's last line; an ID without an enrolled account gets nothing (an error for the operator, exit 1).
On the page, an unknown ID, a wrong, used, expired or enrolment code all get the same answer. A completed reset
sets a new password and authenticator, ends every session, and is audited; the old password and codes stop working.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pyotp
import pytest
import time_machine
from sqlalchemy import func, select

from tests.support.enrolment import invite
from tests.support.people import Person, enrol, sign_in
from wallet import db
from wallet.audit import AuditEvent
from wallet.citizens.models import Invite

CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")
NEW_PASSWORD = "a brand new passphrase"  # noqa: S105 - the test citizen's new password


def reset_code(app: Any, national_id: str) -> str:
    result = app.test_cli_runner().invoke(args=["citizen", "reset", national_id])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert CODE.fullmatch(last), result.output
    return last


def events(app: Any, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session().execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.seq)).scalars()
        return [{"actor": e.actor, "target": e.target, "details": e.details} for e in rows]


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} in the page"
    return html.unescape(found.group(1))


def alert(r: Any) -> str:
    found = re.search(r'<div class="alert" role="alert" id="enrol-error"><p>(.*?)</p>', r.get_data(as_text=True))
    assert found, r.get_data(as_text=True)[:500]
    return html.unescape(found.group(1))


class Form:
    """The /reset page in a test client, the way a browser fills it (pre-sign-in CSRF cookie and token)."""

    def __init__(self, client: Any, path: str = "/reset") -> None:
        self.client, self.path = client, path
        client.set_cookie("lang", "en")
        self.page = client.get(path).get_data(as_text=True)

    def post(self, **fields: str) -> Any:
        body = {"csrf_token": hidden(self.page, "csrf_token"), **fields}
        r = self.client.post(self.path, data=body)
        if r.status_code < 300 or r.status_code >= 400:
            self.page = r.get_data(as_text=True)
        return r

    def start(self, national_id: str, code: str) -> Any:
        return self.post(step="start", national_id=national_id, code=code)

    def through(self, national_id: str, code: str, password: str = NEW_PASSWORD) -> tuple[Any, str]:
        """All three steps: (the last response, the new TOTP secret shown on the page)."""
        r = self.start(national_id, code)
        assert r.status_code == 200, alert(r)
        r = self.post(step="password", ticket=hidden(self.page, "ticket"), password=password, confirm=password)
        assert r.status_code == 200
        secret = html.unescape(re.search(r'data-copy="([A-Z2-7]+)"', self.page).group(1))  # type: ignore[union-attr]
        otpauth = html.unescape(re.search(r'href="(otpauth://[^"]+)"', self.page).group(1))  # type: ignore[union-attr]
        assert f"secret={secret}" in otpauth and national_id.upper() in otpauth
        return self.post(step="totp", ticket=hidden(self.page, "ticket"), otp=pyotp.TOTP(secret).now()), secret


@pytest.fixture
def alice(app: Any) -> Person:
    return enrol(app, "AB123456")


def test_cli_prints_the_code_last_and_audits_it(app: Any, alice: Person) -> None:
    result = app.test_cli_runner().invoke(args=["citizen", "reset", " ab 123456 "])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert CODE.fullmatch(lines[-1]) and "AB123456" in lines[0] and "valid until" in lines[0]
    [event] = events(app, "citizen.reset_code")
    assert event["actor"] == "operator" and event["target"] == f"citizen:{alice.id}"
    assert event["details"]["national_id"] == "AB123456" and lines[-1] not in str(event["details"])  # never the code
    with app.app_context():
        row = db.session().execute(select(Invite).where(Invite.id == event["details"]["code"])).scalar_one()
        assert row.purpose == "reset" and row.used_at is None
        assert dt.timedelta(hours=71) < row.expires_at - row.created_at <= dt.timedelta(hours=72)


@pytest.mark.parametrize("national_id", ["ZZ999999", "AB 12", "AB123456É"])
def test_cli_issues_nothing_for_an_id_without_an_account(app: Any, alice: Person, national_id: str) -> None:
    # the operator must know (the person at the counter is asked to enrol instead); the citizen is never told
    result = app.test_cli_runner().invoke(args=["citizen", "reset", national_id])
    assert result.exit_code == 1
    assert "no reset code was made" in result.output or "no code was made" in result.output
    assert not CODE.search(result.output)
    assert events(app, "citizen.reset_code") == []
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(Invite)).scalar_one() == 0


def test_cli_refuses_an_invited_but_not_enrolled_id(app: Any) -> None:
    invite(app, "EF111222")
    result = app.test_cli_runner().invoke(args=["citizen", "reset", "EF111222"])
    assert result.exit_code == 1 and "citizen invite" in result.output


def test_reset_journey_ends_sessions_and_the_old_credentials(app: Any, alice: Person) -> None:
    phone = sign_in(app, alice)  # signed in before the reset, somewhere
    assert phone.client.get("/api/v1/auth/session").status_code == 200
    code = reset_code(app, alice.national_id)

    client = app.test_client()
    r, secret = Form(client).through("ab123456", code)
    assert r.status_code == 303 and r.headers["Location"].endswith("/wallet")
    assert client.get("/wallet").status_code == 200  # signed in at the end

    assert phone.client.get("/api/v1/auth/session").status_code == 401  # every other session ended
    [used] = events(app, "citizen.reset")
    assert used["target"] == f"citizen:{alice.id}" and used["details"]["path"] == "reset"
    assert used["details"]["code"] == events(app, "citizen.reset_code")[0]["details"]["code"]

    def login(password: str, totp: str) -> int:
        return int(app.test_client().post("/api/v1/auth/login", json={
            "national_id": alice.national_id, "password": password,
            "otp": pyotp.TOTP(totp).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))}).status_code)

    assert login(alice.password, alice.totp_secret) == 401  # old password and old authenticator
    assert login(NEW_PASSWORD, alice.totp_secret) == 401  # new password, old authenticator
    assert login(alice.password, secret) == 401  # old password, new authenticator
    assert login(NEW_PASSWORD, secret) == 200

    again = Form(app.test_client()).start(alice.national_id, code)  # one time only
    assert again.status_code == 400 and "do not match" in alert(again)


def test_unknown_id_and_every_wrong_code_get_the_same_answer(app: Any, alice: Person) -> None:
    enrol(app, "CD654321")
    code = reset_code(app, alice.national_id)
    other = reset_code(app, "CD654321")
    enrolment_code = invite(app, alice.national_id)
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(hours=73)):
        expired = reset_code(app, alice.national_id)
    tries = {
        "unknown ID": ("ZZ999999", code),
        "wrong code": (alice.national_id, "ABCD-EFGH-JKLM"),
        "another citizen's code": (alice.national_id, other),
        "enrolment code": (alice.national_id, enrolment_code),
        "expired code": (alice.national_id, expired),
        "empty": ("", ""),
        "hostile": ("<script>", "x" * 5000),
    }
    answers = {}
    for why, (nid, given) in tries.items():
        r = Form(app.test_client()).start(nid, given)
        answers[why] = (r.status_code, alert(r))
    assert len(set(answers.values())) == 1, answers
    status, text = answers["unknown ID"]
    assert status == 400 and text.startswith("This national ID and reset code do not match")
    # and the right code still works after all that
    r, _secret = Form(app.test_client()).through(alice.national_id, code)
    assert r.status_code == 303


def test_a_reset_code_does_not_enrol_and_an_enrolment_ticket_does_not_reset(app: Any, alice: Person) -> None:
    code = reset_code(app, alice.national_id)
    assert app.test_client().post("/api/v1/enrol/start", json={"national_id": alice.national_id,
                                                                "code": code}).json["code"] == "invalid_invite"
    refused = Form(app.test_client(), "/enrol").start(alice.national_id, code)
    assert refused.status_code == 400 and "enrolment code do not match" in alert(refused)
    # a ticket from the enrolment steps is not taken by the reset steps
    form = Form(app.test_client(), "/enrol")
    assert form.start("GH333444", invite(app, "GH333444")).status_code == 200
    ticket = hidden(form.page, "ticket")
    reset = Form(app.test_client())
    r = reset.post(step="password", ticket=ticket, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert r.status_code == 400 and "Start again with your reset code" in alert(r)
    assert app.test_client().post("/api/v1/auth/login", json={
        "national_id": alice.national_id, "password": alice.password, "otp": alice.code()}).status_code == 200


def test_reset_page_is_rate_limited(make_app: Any) -> None:
    app = make_app(rate_limits=True)
    form = Form(app.test_client())
    statuses = [form.start("AB123456", "ABCD-EFGH-JKLM").status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429


def test_recovery_explanation_is_linked_from_sign_in(app: Any) -> None:
    client = app.test_client()
    client.set_cookie("lang", "en")
    login = client.get("/").get_data(as_text=True)
    assert 'href="/recover"' in login and "Forgot your password or lost your phone?" in login
    client.set_cookie("lang", "ar")
    page = client.get("/recover").get_data(as_text=True)
    assert "بطاقتك الوطنية" in page and 'href="/reset"' in page
