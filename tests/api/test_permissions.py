"""Permission tables.

- Every route of the app (``app.url_map``, the table fails when a route is missing from it): its access rule,
  what a caller without credentials gets, that a citizen session opens no agency route and an agency key no
  citizen route, and that an unsafe citizen call without the CSRF token is refused (403 csrf_failed).
- Start-up: a view without a rule, or whose wrappers disagree with its rule, stops ``create_app``.
- Every agency endpoint × (allowed agency, agency not allowed for the type, other agency, bad key, no key).
  Objects of another agency are 404, not 403.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyotp
import pytest
from apiflask import APIBlueprint

from wallet import db, rules
from wallet.agencies.auth import agency_auth
from wallet.citizens.auth import citizen_required
from wallet.citizens.enrolment import create_enrolled_citizen
from wallet.extensions import limiter, runtime
from wallet.verification import views as verification_views

# ------------------------------------------------------------------------------------------- every route

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
NO_ID = "0" * 32


@dataclass(frozen=True)
class Route:
    """One route: the URL rule it must have, a URL to call it with, its access rule, and for public routes
    the status each method answers without credentials; for citizen routes what a signed-in GET answers."""

    pattern: str
    url: str
    rule: str  # "public", "agency", "citizen"; "none": Flask's static files and the OpenAPI document
    methods: dict[str, int] = field(default_factory=dict)  # method -> expected status (see above)
    api: bool | None = None
    scope: str | None = None


def public(pattern: str, url: str | None = None, **methods: int) -> Route:
    return Route(pattern, url or pattern, "public", methods)


def citizen(pattern: str, url: str | None = None, *, api: bool, **methods: int) -> Route:
    return Route(pattern, url or pattern, "citizen", methods, api=api)


def agency(pattern: str, url: str | None = None, *, scope: str, method: str) -> Route:
    return Route(pattern, url or pattern, "agency", {method: 401}, api=True, scope=scope)


ROUTES: dict[str, Route] = {
    "static": Route("/static/<path:filename>", "/static/js/app.js", "none", {"GET": 200}),
    "openapi.spec": Route("/api/v1/openapi.json", "/api/v1/openapi.json", "none", {"GET": 200}),
    "ops.healthz": public("/healthz", GET=200),
    "ops.readyz": public("/readyz", GET=200),
    # agency API
    "documents_api.document_types": public("/api/v1/document-types", GET=200),
    "documents_api.push_document": agency("/api/v1/documents", scope="documents:push", method="POST"),
    "documents_api.get_document": agency("/api/v1/documents/<doc_id>", f"/api/v1/documents/{NO_ID}",
                                         scope="documents:read", method="GET"),
    "batches_api.create_batch": agency("/api/v1/batches", scope="documents:push", method="POST"),
    "batches_api.get_batch": agency("/api/v1/batches/<batch_id>", f"/api/v1/batches/{NO_ID}",
                                    scope="documents:read", method="GET"),
    "documents_api.revoke_document": agency("/api/v1/documents/<doc_id>/revoke",
                                            f"/api/v1/documents/{NO_ID}/revoke", scope="documents:revoke",
                                            method="POST"),
    "webhooks_api.list_deliveries": agency("/api/v1/webhook-deliveries", scope="webhooks:read", method="GET"),
    # citizen API
    "citizen_api.login": public("/api/v1/auth/login", POST=400),
    "citizen_api.enrol_start": public("/api/v1/enrol/start", POST=400),
    "citizen_api.enrol_password": public("/api/v1/enrol/password", POST=400),
    "citizen_api.enrol_confirm": public("/api/v1/enrol/confirm", POST=400),
    "citizen_api.session_info": citizen("/api/v1/auth/session", api=True, GET=200),
    "citizen_api.sessions": citizen("/api/v1/auth/sessions", api=True, GET=200),
    "citizen_api.logout": citizen("/api/v1/auth/logout", api=True, POST=204),
    "citizen_api.my_documents": citizen("/api/v1/me/documents", api=True, GET=200),
    "citizen_api.my_document": citizen("/api/v1/me/documents/<doc_id>", f"/api/v1/me/documents/{NO_ID}",
                                       api=True, GET=404),
    "citizen_api.my_document_file": citizen("/api/v1/me/documents/<doc_id>/file",
                                            f"/api/v1/me/documents/{NO_ID}/file", api=True, GET=404),
    "passkeys_api.register_options": citizen("/api/v1/auth/passkeys/register/options", api=True, POST=200),
    "passkeys_api.register": citizen("/api/v1/auth/passkeys/register", api=True, POST=400),
    "passkeys_api.my_passkeys": citizen("/api/v1/me/passkeys", api=True, GET=200),
    "passkeys_api.remove_passkey": citizen("/api/v1/me/passkeys/<passkey_id>", f"/api/v1/me/passkeys/{NO_ID}",
                                           api=True, DELETE=404),
    "passkeys_api.login_options": public("/api/v1/auth/passkeys/login/options", POST=200),
    "push_api.vapid_public_key": public("/api/v1/push/vapid-public-key", GET=200),
    "push_api.subscribe": citizen("/api/v1/me/push-subscriptions", api=True, POST=400),
    "push_api.unsubscribe": citizen("/api/v1/me/push-subscriptions", api=True, DELETE=400),
    "passkeys_api.login": public("/api/v1/auth/passkeys/login", POST=400),
    "passkeys_api.step_up_options": citizen("/api/v1/auth/step-up/options", api=True, POST=200),
    "passkeys_api.step_up": citizen("/api/v1/auth/step-up", api=True, POST=400),
    "shares_api.create_share": citizen("/api/v1/me/shares", api=True, POST=400),
    "shares_api.list_shares": citizen("/api/v1/me/shares", api=True, GET=200),
    "shares_api.revoke_share": citizen("/api/v1/me/shares/<share_id>", f"/api/v1/me/shares/{NO_ID}", api=True,
                                       DELETE=404),
    "shares_api.activity": citizen("/api/v1/me/activity", api=True, GET=200),
    # representation
    "representation_api.record_guardianship": agency("/api/v1/guardianships", scope="guardianships", method="POST"),
    "representation_api.revoke_guardianship": agency("/api/v1/guardianships/<guardianship_id>/revoke",
                                                     f"/api/v1/guardianships/{NO_ID}/revoke", scope="guardianships",
                                                     method="POST"),
    "representation_api.grant_mandate": citizen("/api/v1/me/mandates", api=True, POST=400),
    "representation_api.list_mandates": citizen("/api/v1/me/mandates", api=True, GET=200),
    "representation_api.end_mandate": citizen("/api/v1/me/mandates/<mandate_id>", f"/api/v1/me/mandates/{NO_ID}",
                                              api=True, DELETE=404),
    # verification
    "verification_api.verify_token": public("/api/v1/verify/<anypath:token>", "/api/v1/verify/unknown", GET=404),
    "verification_api.verify_upload": public("/api/v1/verify", POST=400),
    "verification_web.verify_page": public("/v/<token>", "/v/unknown", GET=404),
    "verification_web.copy_pdf": public("/v/<token>/copy.pdf", "/v/unknown/copy.pdf", GET=404),
    "verification_web.original_pdf": public("/v/<token>/original.pdf", "/v/unknown/original.pdf", GET=404),
    "verification_web.page_image": public("/v/<token>/pages/<int:item>/<int:page>.png", "/v/unknown/pages/0/0.png",
                                          GET=404),
    "verification_web.verify_form": public("/verify", GET=200, POST=403),
    "verification_api.verify_code": public("/api/v1/verify/code/<code>", "/api/v1/verify/code/123456789012",
                                           GET=404),
    "verification_web.verify_code_form": public("/verify/code", POST=403),
    "verification_web.code_copy_pdf": public("/verify/code/copy.pdf", GET=404),
    "verification_web.code_original_pdf": public("/verify/code/original.pdf", GET=404),
    "verification_web.code_page_image": public("/verify/code/pages/<int:item>/<int:page>.png",
                                               "/verify/code/pages/0/0.png", GET=404),
    "offline_web.wallet_keys": public("/.well-known/wallet-keys.json", GET=200),
    "offline_api.status_list_index": public("/api/v1/status-lists", GET=200),
    "offline_api.status_list": public("/api/v1/status-lists/<list_id>", "/api/v1/status-lists/999", GET=404),
    # the PWA's pages
    "web.index": public("/", GET=200),
    "web.login": public("/login", POST=403),
    "web.enrol": public("/enrol", GET=200, POST=403),
    "web.recover": public("/recover", GET=200),
    "web.reset": public("/reset", GET=200, POST=403),
    "web.set_language": public("/lang/<code>", "/lang/fr", GET=302),
    "web.verifier": public("/verifier", GET=200),
    "web.offline": public("/offline", GET=200),
    "web.manifest": public("/manifest.webmanifest", GET=200),
    "web.service_worker": public("/sw.js", GET=200),
    "web.logout": citizen("/logout", api=False, POST=303),
    "web.wallet": citizen("/wallet", api=False, GET=200),
    "web.document": citizen("/documents/<doc_id>", f"/documents/{NO_ID}", api=False, GET=404),
    "web.preview": citizen("/documents/<doc_id>/preview/<int:page>.png", f"/documents/{NO_ID}/preview/1.png",
                           api=False, GET=404),
    "web.document_file": citizen("/documents/<doc_id>/file", f"/documents/{NO_ID}/file", api=False, GET=404),
    "web.activity": citizen("/activity", api=False, GET=200),
    "web.sessions": citizen("/settings/sessions", api=False, GET=200),
    "shares_web.share_page": citizen("/share", api=False, GET=200),
    "web.passkeys_page": citizen("/settings/passkeys", api=False, GET=200),
    "web.end_one_session": citizen("/settings/sessions/end", api=False, POST=303),
    "shares_web.revoke_page": citizen("/share/<share_id>/revoke", f"/share/{NO_ID}/revoke", api=False, GET=404),
    "shares_web.revoke_form": citizen("/share/<share_id>/revoke", f"/share/{NO_ID}/revoke", api=False, POST=404),
    "proxies_web.proxies_page": citizen("/settings/proxies", api=False, GET=200),
    "proxies_web.grant_form": citizen("/settings/proxies", api=False, POST=400),
    "proxies_web.end_page": citizen("/settings/proxies/<mandate_id>/end", f"/settings/proxies/{NO_ID}/end",
                                    api=False, GET=404),
    "proxies_web.end_form": citizen("/settings/proxies/<mandate_id>/end", f"/settings/proxies/{NO_ID}/end",
                                    api=False, POST=404),
}


def calls(kind: str) -> list[Any]:
    """(endpoint, method) of every route with rule ``kind``, as pytest parameters."""
    return [pytest.param(ep, m, id=f"{ep}-{m}") for ep, r in ROUTES.items() if r.rule == kind for m in r.methods]


def call(client: Any, route: Route, method: str, headers: dict[str, str] | None = None) -> Any:
    body = {} if method in UNSAFE and route.rule != "none" else None
    return client.open(route.url, method=method, json=body, headers=headers or {})


@dataclass
class SignedIn:
    client: Any
    csrf: str


@pytest.fixture
def signed_in(app: Any) -> SignedIn:
    """A citizen signed in through the API, on a client of their own."""
    secret = pyotp.random_base32()
    with app.app_context():
        create_enrolled_citizen(db.session(), runtime().envelope, "AB123456", "Amina Benali", "correct horse 9 battery",
                                secret)
        db.commit()
    c = app.test_client()
    r = c.post("/api/v1/auth/login", json={"national_id": "AB123456", "password": "correct horse 9 battery",
                                           "otp": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.get_data(as_text=True)
    return SignedIn(c, r.get_json()["csrf_token"])


def test_the_table_covers_every_route(app: Any) -> None:
    routes = {r.endpoint: r for r in app.url_map.iter_rules()}
    assert set(routes) == set(ROUTES), "routes missing from (or gone but still in) the permission table"
    for endpoint, r in routes.items():
        assert r.rule == ROUTES[endpoint].pattern, endpoint
        assert set(r.methods or ()) - {"HEAD", "OPTIONS"} == set(ROUTES[endpoint].methods), endpoint


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_each_view_carries_its_rule(app: Any, endpoint: str) -> None:
    route, rule = ROUTES[endpoint], rules.rule_of(app.view_functions[endpoint])
    if route.rule == "none":
        assert rule is None
        return
    assert rule is not None and rule.name == route.rule
    assert rules.view_problems(app.view_functions[endpoint]) == []
    if route.rule == "citizen":
        assert rule.api is route.api and rules.CITIZEN_SESSION in rule.applied
    if route.rule == "agency":
        assert rule.scope == route.scope and rules.AGENCY_BEARER in rule.applied
    if route.rule == "public":
        assert not rule.applied & {rules.AGENCY_BEARER, rules.CITIZEN_SESSION}


def assert_refused(resp: Any, route: Route, method: str) -> None:
    """The answer to a call without the credentials the route's rule needs."""
    if route.api:
        assert resp.status_code == 401, resp.get_data(as_text=True)
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert resp.get_json()["code"] == "unauthorized"
    else:  # a page: to sign-in, back here afterwards when it was a GET
        assert resp.status_code == 302
        assert resp.headers["Location"] == ("/?next=" + route.url if method == "GET" else "/")


@pytest.mark.parametrize(("endpoint", "method"), calls("public") + calls("none"))
def test_public_routes_work_without_credentials(client: Any, endpoint: str, method: str) -> None:
    route = ROUTES[endpoint]
    resp = call(client, route, method)
    assert resp.status_code == route.methods[method], resp.get_data(as_text=True)[:300]


@pytest.mark.parametrize(("endpoint", "method"), calls("citizen") + calls("agency"))
def test_anonymous_calls_are_refused(client: Any, endpoint: str, method: str) -> None:
    route = ROUTES[endpoint]
    assert_refused(call(client, route, method), route, method)


@pytest.mark.parametrize(("endpoint", "method"), calls("agency"))
def test_a_citizen_session_opens_no_agency_route(signed_in: SignedIn, endpoint: str, method: str) -> None:
    route = ROUTES[endpoint]
    assert_refused(call(signed_in.client, route, method, {"X-CSRF-Token": signed_in.csrf}), route, method)


@pytest.mark.parametrize(("endpoint", "method"), calls("citizen"))
def test_an_agency_key_opens_no_citizen_route(client: Any, agencies: Any, endpoint: str, method: str) -> None:
    route = ROUTES[endpoint]
    assert_refused(call(client, route, method, {"Authorization": f"Bearer {agencies['MJ']['key']}"}), route, method)


@pytest.mark.parametrize(("endpoint", "method"), [p for p in calls("citizen") if p.values[1] in UNSAFE])
def test_unsafe_citizen_calls_need_the_csrf_token(signed_in: SignedIn, endpoint: str, method: str) -> None:
    route = ROUTES[endpoint]
    resp = call(signed_in.client, route, method)
    assert resp.status_code == 403
    if route.api:
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert resp.get_json()["code"] == "csrf_failed"
    assert signed_in.client.get("/api/v1/auth/session").status_code == 200  # nothing ran: still signed in
    # a token one character off (never the token itself: a session token may start with "x")
    wrong = call(signed_in.client, route, method,
                 {"X-CSRF-Token": ("y" if signed_in.csrf[0] == "x" else "x") + signed_in.csrf[1:]})
    assert wrong.status_code == 403


@pytest.mark.parametrize(("endpoint", "method"), calls("citizen"))
def test_a_signed_in_citizen_gets_through(signed_in: SignedIn, endpoint: str, method: str) -> None:
    route = ROUTES[endpoint]
    resp = call(signed_in.client, route, method, {"X-CSRF-Token": signed_in.csrf})
    assert resp.status_code == route.methods[method], resp.get_data(as_text=True)[:300]


# ------------------------------------------------------------------------------------------- start-up

def extra_blueprint(monkeypatch: pytest.MonkeyPatch, name: str, decorate: Callable[[Any], Any]) -> None:
    """The next ``create_app`` also registers a blueprint with one view, ``decorate``d under its route."""
    bp = APIBlueprint(name, __name__, url_prefix=f"/{name}", enable_openapi=False)

    def view() -> str:
        return "data"

    view.__name__ = view.__qualname__ = f"view_{name}"  # each its own rate-limit name
    bp.get("/")(decorate(view))
    monkeypatch.setattr(verification_views, "blueprints", [*verification_views.blueprints, bp])


def test_a_view_without_a_rule_stops_start_up(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    extra_blueprint(monkeypatch, "forgotten", lambda view: view)
    with pytest.raises(rules.AccessRuleError, match=r"forgotten\.view_forgotten: no access rule"):
        make_app()


def stripped_agency_rule(view: Any) -> Any:
    """A rule that says "agency" but applied no key check (only a rule built by hand can)."""
    return rules._ruled(rules.Rule("agency", frozenset({rules.RATE_LIMIT}), api=True, scope="documents:read"),
                        [(rules.RATE_LIMIT, limiter.limit("10/minute"))])(view)


DISAGREEING: dict[str, tuple[Callable[[Any], Any], str]] = {
    "agency_without_bearer": (stripped_agency_rule, "rule agency without agency bearer auth"),
    "bearer_under_citizen": (lambda v: rules.citizen(api=True)(agency_auth.login_required(v)),
                             "agency bearer auth applied outside its access rule"),
    "session_under_public": (lambda v: rules.public()(citizen_required(api=True)(v)),
                             "citizen session applied outside its access rule"),
    "session_over_public": (lambda v: citizen_required(api=False)(rules.public()(v)),
                            "rule public with citizen session"),
    "limit_outside": (lambda v: limiter.limit("5/minute")(rules.public()(v)), "rate limit applied outside"),
    "two_rules": (lambda v: rules.public()(rules.citizen(api=False)(v)), "more than one access rule: public, citizen"),
}


@pytest.mark.parametrize("case", sorted(DISAGREEING))
def test_a_view_whose_wrappers_disagree_with_its_rule_stops_start_up(make_app: Any, monkeypatch: pytest.MonkeyPatch,
                                                                     case: str) -> None:
    decorate, message = DISAGREEING[case]
    extra_blueprint(monkeypatch, case, decorate)
    with pytest.raises(rules.AccessRuleError) as exc:
        make_app()
    assert f"{case}.view_{case}: " in str(exc.value) and message in str(exc.value)
    assert "documents_api" not in str(exc.value)  # only the bad view is named


def test_an_unknown_agency_scope_is_refused_at_import() -> None:
    with pytest.raises(ValueError, match="unknown agency scope"):
        rules.agency(scope="everything", limit="1/minute")


# ------------------------------------------------------------------------------------------- agency actors

ACTORS = ["owner", "not_allowed_type", "other_agency", "bad_key", "no_key"]


def headers(actor: str, agencies: dict[str, Any]) -> dict[str, str]:
    key = {"owner": agencies["MJ"]["key"], "not_allowed_type": agencies["OMPIC"]["key"],
           "other_agency": agencies["MEN"]["key"], "bad_key": "wk_" + "x" * 43, "no_key": None}[actor]
    return {"Authorization": f"Bearer {key}"} if key else {}


PUSH = {"owner": 201, "not_allowed_type": 403, "other_agency": 403, "bad_key": 401, "no_key": 401}
GET = {"owner": 200, "not_allowed_type": 404, "other_agency": 404, "bad_key": 401, "no_key": 401}
REVOKE = GET


@pytest.mark.parametrize("actor", ACTORS)
def test_push_criminal_record(actor: str, push: Any, signed_pdf: Any, agencies: Any) -> None:
    key = headers(actor, agencies).get("Authorization", "Bearer ")[7:]
    resp = push(signed_pdf("MJ"), key=key)
    assert resp.status_code == PUSH[actor], resp.get_json()
    if resp.status_code >= 400:
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert resp.get_json()["code"] == {401: "unauthorized", 403: "type_not_allowed"}[resp.status_code]


@pytest.mark.parametrize("actor", ACTORS)
def test_get_document(actor: str, client: Any, push: Any, signed_pdf: Any, agencies: Any) -> None:
    doc_id = push(signed_pdf("MJ")).get_json()["id"]
    resp = client.get(f"/api/v1/documents/{doc_id}", headers=headers(actor, agencies))
    assert resp.status_code == GET[actor]


@pytest.mark.parametrize("actor", ACTORS)
def test_revoke_document(actor: str, client: Any, push: Any, signed_pdf: Any, agencies: Any) -> None:
    doc_id = push(signed_pdf("MJ")).get_json()["id"]
    resp = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": "test"},
                       headers=headers(actor, agencies))
    assert resp.status_code == REVOKE[actor]
    owner = client.get(f"/api/v1/documents/{doc_id}", headers=headers("owner", agencies)).get_json()
    assert owner["status"] == ("revoked" if actor == "owner" else "valid")


BATCH_POST = {"owner": 202, "not_allowed_type": 202, "other_agency": 202, "bad_key": 401, "no_key": 401}


@pytest.mark.parametrize("actor", ACTORS)
def test_batch(actor: str, client: Any, signed_pdf: Any, agencies: Any) -> None:
    """Any agency may send a batch (each item's type is checked as a single push's: type_not_allowed); only the
    agency that sent it reads it."""
    import io
    import json

    pdf = signed_pdf("MJ")
    data = {"manifest": json.dumps({"documents": [{"file": "a", "metadata": pdf.meta}]}),
            "a": (io.BytesIO(pdf), "a.pdf", "application/pdf")}
    resp = client.post("/api/v1/batches", headers=headers(actor, agencies), content_type="multipart/form-data",
                       data=data)
    assert resp.status_code == BATCH_POST[actor], resp.get_json()
    if resp.status_code == 401:
        assert resp.get_json()["code"] == "unauthorized"
        return
    out = client.get(f"/api/v1/batches/{resp.get_json()['id']}", headers=headers(actor, agencies)).get_json()
    [item] = out["items"]
    assert (item["status"], (item["error"] or {}).get("code")) == \
        (("accepted", None) if actor == "owner" else ("rejected", "type_not_allowed"))
    owner = client.get(f"/api/v1/batches/{out['id']}", headers=headers("owner", agencies))
    assert owner.status_code == (200 if actor == "owner" else 404)


@pytest.mark.parametrize("actor", ACTORS)
def test_webhook_deliveries_are_the_agencys_own(actor: str, app: Any, client: Any, agencies: Any) -> None:
    from wallet import events
    from wallet.webhooks.models import WebhookEndpoint

    with app.app_context(), db.transaction() as sess:  # MJ has a webhook and one delivery
        sess.add(WebhookEndpoint(agency_id=agencies["MJ"]["id"], url="https://hooks.example.org/",
                                 secret_enc=runtime().envelope.encrypt_small(b"s", "webhook:x:secret")))
        sess.flush()
        events.publish(sess, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R", code="x",
                       detail="", batch_id=None)
    resp = client.get("/api/v1/webhook-deliveries", headers=headers(actor, agencies))
    assert resp.status_code == GET_LIST[actor]
    if resp.status_code == 200:
        assert len(resp.get_json()["deliveries"]) == (1 if actor == "owner" else 0)


GET_LIST = {"owner": 200, "not_allowed_type": 200, "other_agency": 200, "bad_key": 401, "no_key": 401}


@pytest.mark.parametrize("actor", ACTORS)
def test_document_types(actor: str, client: Any, agencies: Any) -> None:
    resp = client.get("/api/v1/document-types", headers=headers(actor, agencies))
    assert resp.status_code == 200
    types = {t["code"]: t for t in resp.get_json()["document_types"]}
    assert set(types) == {"criminal_record", "nationality", "school_report", "school_certificate",
                          "commerce_register"}
    assert types["criminal_record"]["allowed"] is (actor == "owner")
    assert types["criminal_record"]["names"]["ar"]


def test_unknown_document_is_404_problem(client: Any, agencies: Any) -> None:
    resp = client.get("/api/v1/documents/" + "0" * 32, headers=headers("owner", agencies))
    assert resp.status_code == 404
    assert resp.get_json()["code"] == "not_found"


def test_revoked_key_and_rotation(app: Any, client: Any, agencies: Any) -> None:
    from wallet import db
    from wallet.agencies import service

    with app.app_context():
        sess = db.session()
        new_key = service.rotate_key(sess, service.get_by_code(sess, "MJ"))
        db.commit()
    old = client.get("/api/v1/documents/" + "0" * 32, headers=headers("owner", agencies))
    assert old.status_code == 401
    new = client.get("/api/v1/documents/" + "0" * 32, headers={"Authorization": f"Bearer {new_key}"})
    assert new.status_code == 404
