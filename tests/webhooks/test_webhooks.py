"""Agencies' webhooks (issue 16): set-webhook and its secret, signed deliveries to a real receiver, retries with
back-off and Retry-After, the 24-hour window, refused hosts and addresses, and the deliveries listing."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.webhooks.conftest import Receiver
from wallet import db, events, jobs
from wallet.webhooks import destinations, sender, service
from wallet.webhooks.models import WebhookDelivery, WebhookEndpoint

NAME = "Amina El Idrissi"
HOLDER = "AB123456"


def set_webhook(app: Any, code: str, url: str, *extra: str) -> Any:
    return app.test_cli_runner().invoke(args=["agency", "set-webhook", code, url, *extra])


def secret_of(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n").splitlines()[-1]


def verify(secret: str, header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])


def rows(app: Any) -> list[WebhookDelivery]:
    with app.app_context():
        sess = db.session()
        out = list(sess.execute(select(WebhookDelivery).order_by(WebhookDelivery.created_at)).scalars())
        sess.expunge_all()  # loaded as they are, read after the session ends
        return out


def make_due(app: Any) -> None:
    with app.app_context(), db.transaction() as sess:
        sess.execute(update(WebhookDelivery).where(WebhookDelivery.status == "pending")
                     .values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))


def resend(app: Any) -> Any:
    result = app.test_cli_runner().invoke(args=["webhooks", "resend-due"])
    assert result.exit_code == 0, result.output
    return result


def publish(app: Any, event: str, **data: Any) -> None:
    with app.app_context(), db.transaction() as sess:
        events.publish(sess, event, **data)


def auth(agencies: Any, code: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {agencies[code]['key']}"}


# ------------------------------------------------------------------------------------------- delivered, signed

def test_a_push_is_delivered_signed_with_the_printed_secret(app: Any, client: Any, agencies: Any, push: Any,
                                                            signed_pdf: Any, receiver: Receiver) -> None:
    result = set_webhook(app, "MJ", receiver.url)
    secret = secret_of(result)
    assert secret.startswith("whsec_") and len(secret) > 40
    assert secret not in result.output.rstrip("\n").splitlines()[0]  # shown once, on the last line only
    doc = push(signed_pdf("MJ", attributes={"holder_name": NAME}))
    assert doc.status_code == 201, doc.get_json()
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.path == "/hooks/wallet?src=test"
    assert got.headers["content-type"] == "application/json"
    assert verify(secret, got.headers["wallet-signature"], got.body)
    assert not verify(secret + "x", got.headers["wallet-signature"], got.body)
    event = json.loads(got.body)
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["type"] == "document.accepted"
    assert event["data"] == {"reference": doc.get_json()["reference"], "document_id": doc.get_json()["id"],
                             "status": "accepted", "replaces": None, "batch_id": None}
    assert HOLDER.encode() not in got.body and NAME.encode() not in got.body
    [row] = rows(app)
    assert (row.status, row.attempts, row.last_status, row.event_id) == ("delivered", 1, 200, event["id"])
    assert row.body == got.body
    listed = client.get("/api/v1/webhook-deliveries", headers=auth(agencies, "MJ")).get_json()
    assert [(d["event_id"], d["status"], d["attempts"], d["last_status_code"]) for d in listed["deliveries"]] == \
        [(event["id"], "delivered", 1, 200)]
    assert listed["next_cursor"] is None


def test_revocation_and_the_batch_events_carry_no_holder_or_name(app: Any, agencies: Any, push: Any,
                                                                 signed_pdf: Any, client: Any,
                                                                 receiver: Receiver) -> None:
    secret = secret_of(set_webhook(app, "MJ", receiver.url))
    doc = push(signed_pdf("MJ", attributes={"holder_name": NAME})).get_json()
    resp = client.post(f"/api/v1/documents/{doc['id']}/revoke", json={"reason": f"error about {NAME} {HOLDER}"},
                       headers=auth(agencies, "MJ"))
    assert resp.status_code == 200
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="MJ-7", code="untrusted_signer",
            detail=f"holder {HOLDER} {NAME}", batch_id="b" * 32)
    batch = SimpleNamespace(id="b" * 32, agency_id=agencies["MJ"]["id"], total=203, accepted=200, rejected=3)
    publish(app, "batch.completed", batch=batch)
    bodies = [r.body for r in receiver.requests]
    assert [json.loads(b)["type"] for b in bodies] == ["document.accepted", "document.revoked",
                                                       "document.rejected", "batch.completed"]
    assert all(verify(secret, r.headers["wallet-signature"], r.body) for r in receiver.requests)
    assert json.loads(bodies[1])["data"] == {"reference": doc["reference"], "document_id": doc["id"],
                                             "status": "revoked"}
    assert json.loads(bodies[2])["data"] == {"reference": "MJ-7", "document_id": None, "status": "rejected",
                                             "code": "untrusted_signer", "batch_id": "b" * 32}
    assert json.loads(bodies[3])["data"] == {"batch_id": "b" * 32, "status": "done", "total": 203,
                                             "accepted": 200, "rejected": 3}
    for body in bodies:
        assert HOLDER.encode() not in body and NAME.encode() not in body


def test_no_webhook_no_delivery(app: Any, agencies: Any, push: Any, signed_pdf: Any, receiver: Receiver) -> None:
    secret_of(set_webhook(app, "MEN", receiver.url))
    assert push(signed_pdf("MJ")).status_code == 201
    assert rows(app) == [] and receiver.requests == []


def test_a_rolled_back_unit_of_work_records_and_sends_nothing(app: Any, agencies: Any,
                                                              receiver: Receiver) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    with app.app_context(), pytest.raises(RuntimeError), db.transaction() as sess:
        events.publish(sess, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x",
                       detail="", batch_id=None)
        raise RuntimeError("the batch item fails after all")
    assert rows(app) == [] and receiver.requests == []


# ------------------------------------------------------------------------------------------- retries

def test_500_then_200_is_retried_with_the_same_body(app: Any, agencies: Any, client: Any,
                                                    receiver: Receiver) -> None:
    secret = secret_of(set_webhook(app, "MJ", receiver.url))
    receiver.answer(500)
    retried, delivered = delivery_count("retry"), delivery_count("delivered")
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R-1", code="unsigned",
            detail="", batch_id=None)
    [row] = rows(app)
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("pending", 1, 500, "HTTP 500")
    wait = (row.next_attempt_at - row.updated_at).total_seconds()
    assert wait == pytest.approx(service.backoff(1)) == 30
    listed = client.get("/api/v1/webhook-deliveries", headers=auth(agencies, "MJ")).get_json()["deliveries"]
    assert listed[0]["status"] == "pending" and listed[0]["next_attempt_at"] is not None
    resend(app)  # not due yet: nothing is sent
    assert len(receiver.requests) == 1
    make_due(app)
    assert "1 due deliveries" in resend(app).output
    [row] = rows(app)
    assert (row.status, row.attempts, row.last_status) == ("delivered", 2, 200)
    first, second = receiver.requests
    assert first.body == second.body and verify(secret, second.headers["wallet-signature"], second.body)
    # the metrics count each attempt's outcome (wallet_webhook_deliveries_total{outcome})
    assert (delivery_count("retry"), delivery_count("delivered")) == (retried + 1, delivered + 1)


def delivery_count(outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("wallet_webhook_deliveries_total", {"outcome": outcome}) or 0.0


def test_back_off_doubles_from_30_seconds_up_to_an_hour() -> None:
    assert [service.backoff(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.parametrize(("header", "expected"), [("120", 120), ("5", 30), ("99999", 3600)])
def test_retry_after_is_honoured_within_bounds(app: Any, agencies: Any, receiver: Receiver, header: str,
                                               expected: float) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    receiver.answer((503, {"Retry-After": header}, b"busy"))
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    [row] = rows(app)
    assert (row.next_attempt_at - row.updated_at).total_seconds() == pytest.approx(expected)


def test_after_24_hours_the_delivery_fails(app: Any, agencies: Any, receiver: Receiver) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    receiver.answer(500, 500)
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    with app.app_context(), db.transaction() as sess:  # the event is 23 h 59 min old
        sess.execute(update(WebhookDelivery).values(
            created_at=dt.datetime.now(dt.UTC) - service.WINDOW + dt.timedelta(minutes=1)))
    make_due(app)
    resend(app)
    [row] = rows(app)
    # the next attempt would be after the window: it is set at the window's end, the last one
    assert row.status == "pending" and row.next_attempt_at == row.created_at + service.WINDOW
    with app.app_context(), db.transaction() as sess:
        sess.execute(update(WebhookDelivery).values(created_at=dt.datetime.now(dt.UTC) - service.WINDOW))
    make_due(app)
    resend(app)  # the sweeper fails it without another POST
    [row] = rows(app)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
    assert len(receiver.requests) == 2


def test_redirects_are_not_followed(app: Any, agencies: Any, receiver: Receiver) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    receiver.answer((302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""))
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    [row] = rows(app)
    assert (row.status, row.last_status, len(receiver.requests)) == ("pending", 302, 1)


def test_a_slow_receiver_times_out_and_a_long_answer_is_capped(app: Any, agencies: Any, receiver: Receiver,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    monkeypatch.setattr(sender, "READ_TIMEOUT", 0.3)
    receiver.delay = 1.5
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    [row] = rows(app)
    assert (row.status, row.last_status, row.last_error) == ("pending", None, "send: timed out")
    receiver.delay = 0
    receiver.answer((200, {}, b"x" * (8 * 1024 * 1024)))  # 8 MB: read up to MAX_RESPONSE, then dropped
    make_due(app)
    resend(app)
    [row] = rows(app)
    assert (row.status, row.last_status) == ("delivered", 200)


# ------------------------------------------------------------------------------------------- refusals

@pytest.mark.parametrize(("url", "code"), [
    ("http://hooks.example.org/x", "https_required"),
    ("https://evil.example.net/x", "host_not_allowed"),
    ("https://hooks.example.org:8443/x", "host_not_allowed"),
    ("https://user:pw@hooks.example.org/x", "bad_url"),
    ("ftp://hooks.example.org/x", "bad_url"),
    ("https://hooks.example.org/x y", "bad_url"),
    ("https://hooks.example.org/café", "bad_url"),
    ("https://hooks.example.org/x#frag", "bad_url"),
])
def test_set_webhook_refuses_hosts_not_listed_and_plain_http(app: Any, agencies: Any, url: str,
                                                             code: str) -> None:
    result = set_webhook(app, "MJ", url)
    assert result.exit_code != 0
    assert f"webhook not set ({code})" in result.output
    with app.app_context():
        assert db.session().execute(select(WebhookEndpoint)).first() is None


def test_http_to_a_listed_loopback_host_only(make_app: Any, agencies: Any, settings: Any) -> None:
    app = make_app(webhook_allowed_hosts=("hooks.example.org:80", "localhost:9"))
    assert "https_required" in set_webhook(app, "MJ", "http://hooks.example.org/x").output
    assert set_webhook(app, "MJ", "http://localhost:9/x").exit_code == 0


def test_unknown_agency(app: Any, receiver: Receiver) -> None:
    result = set_webhook(app, "NOPE", receiver.url)
    assert result.exit_code != 0 and "no agency NOPE" in result.output


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    real = socket.getaddrinfo

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.mark.parametrize("address", ["10.0.0.7", "127.0.0.1", "169.254.169.254", "100.64.0.1", "::1",
                                     "::ffff:192.168.1.1", "fd00::1", "0.0.0.0"])
def test_a_listed_name_resolving_to_a_private_address_is_refused_at_send_time(
        app: Any, agencies: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    assert set_webhook(app, "MJ", "https://hooks.example.org/in").exit_code == 0
    fake_dns(monkeypatch, {"hooks.example.org": address})  # DNS now answers an internal address
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    [row] = rows(app)
    assert row.status == "pending" and row.last_status is None
    assert row.last_error.startswith("refused (address_not_allowed)")
    assert receiver.requests == []


def test_the_host_is_checked_again_at_send_time(make_app: Any, app: Any, agencies: Any,
                                                receiver: Receiver) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    other = make_app(webhook_allowed_hosts=("hooks.example.org",))  # the operator removed the receiver
    publish(other, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    jobs.drain(other)  # its retry's timer
    [row] = rows(app)
    assert row.last_error.startswith("refused (host_not_allowed)") and receiver.requests == []


def test_destinations_unit() -> None:
    allowed = ("hooks.example.org", "10.1.2.3:8443", "[fd00::5]:443", "localhost:8080")
    dest = destinations.check_url("https://HOOKS.example.org/a?b=1", allowed)
    assert (dest.host, dest.port, dest.target, dest.host_header) == ("hooks.example.org", 443, "/a?b=1",
                                                                     "hooks.example.org")
    assert destinations.resolve(destinations.check_url("https://10.1.2.3:8443/", allowed), allowed) == \
        [destinations._ip("10.1.2.3")]  # an internal address the operator listed itself
    assert destinations.check_url("https://[fd00::5]/x", allowed).host == "fd00::5"
    assert destinations.check_url("http://localhost:8080/x", allowed).scheme == "http"
    public = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]
    assert [str(a) for a in destinations.resolve(dest, allowed, lambda *a, **k: public)] == ["93.184.215.14"]
    mixed = [*public, (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.9.9", 443))]
    with pytest.raises(destinations.Refused) as refused:
        destinations.resolve(dest, allowed, lambda *a, **k: mixed)  # one internal answer refuses the host
    assert refused.value.code == "address_not_allowed"


# ------------------------------------------------------------------------------------------- the secret

def test_rotate_replaces_the_secret_at_once(app: Any, agencies: Any, receiver: Receiver) -> None:
    old = secret_of(set_webhook(app, "MJ", receiver.url))
    again = set_webhook(app, "MJ", receiver.url.replace("src=test", "src=moved"))
    assert again.exit_code == 0 and old not in again.output  # not shown twice
    assert again.output.rstrip("\n").splitlines()[-1] == "signing secret unchanged (--rotate makes a new one)"
    receiver.answer(500)
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    assert verify(old, receiver.requests[0].headers["wallet-signature"], receiver.requests[0].body)
    assert receiver.requests[0].path.endswith("src=moved")
    new = secret_of(set_webhook(app, "MJ", receiver.url, "--rotate"))
    assert new != old and new.startswith("whsec_")
    make_due(app)
    resend(app)  # the retry of an event recorded before the rotation: signed with the new secret
    retry = receiver.requests[1]
    assert verify(new, retry.headers["wallet-signature"], retry.body)
    assert not verify(old, retry.headers["wallet-signature"], retry.body)
    with app.app_context():
        endpoint = db.session().get(WebhookEndpoint, agencies["MJ"]["id"])
        assert new.encode() not in endpoint.secret_enc  # stored under the master key


def test_remove_webhook(app: Any, agencies: Any, receiver: Receiver) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    assert app.test_cli_runner().invoke(args=["agency", "remove-webhook", "MJ"]).exit_code == 0
    publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x", detail="",
            batch_id=None)
    assert rows(app) == [] and receiver.requests == []


# ------------------------------------------------------------------------------------------- the listing

def test_deliveries_are_the_agencys_own_newest_first_and_paginated(app: Any, client: Any, agencies: Any,
                                                                    receiver: Receiver) -> None:
    secret_of(set_webhook(app, "MJ", receiver.url))
    for n in range(5):
        publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference=f"R-{n}", code="x",
                detail="", batch_id=None)
    expected = [json.loads(r.body)["id"] for r in reversed(receiver.requests)]
    seen, cursor = [], None
    for size in (2, 2, 1):
        page = client.get("/api/v1/webhook-deliveries", query_string={"limit": 2, **({"cursor": cursor}
                                                                                        if cursor else {})},
                          headers=auth(agencies, "MJ")).get_json()
        assert len(page["deliveries"]) == size
        seen += [d["event_id"] for d in page["deliveries"]]
        cursor = page["next_cursor"]
    assert cursor is None and seen == expected
    other = client.get("/api/v1/webhook-deliveries", headers=auth(agencies, "MEN"))
    assert other.status_code == 200 and other.get_json() == {"deliveries": [], "next_cursor": None}
    for query, code in (({"cursor": "bm90IGEgY3Vyc29y"}, "bad_cursor"), ({"limit": 0}, "bad_request"),
                        ({"limit": 101}, "bad_request")):
        bad = client.get("/api/v1/webhook-deliveries", query_string=query, headers=auth(agencies, "MJ"))
        assert bad.status_code == 400 and bad.get_json()["code"] == code
        assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert client.get("/api/v1/webhook-deliveries").status_code == 401
