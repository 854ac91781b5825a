"""Redirect targets after sign-in and language switch (``safe_next``): only same-site paths, never a 500.

The property: whatever string comes in, the result is None or a path that a browser resolves to our origin,
the way WHATWG URL parsing does it (ASCII tabs and newlines removed anywhere, C0 controls and spaces stripped at
the ends, backslash read as a slash), also after one more percent-decoding by a proxy on the way.
"""
from __future__ import annotations

import http.client
import re
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.urls import iri_to_uri

from tests.support.people import Person
from wallet.web.views import safe_next

BASE = "https://wallet.example/some/page?x=1"
ORIGIN = ("https", "wallet.example")
C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def browser_resolve(location: str, base: str = BASE) -> tuple[str, str]:
    """(scheme, host[:port]) a WHATWG-conforming browser lands on when it follows ``Location: location``."""
    s = location.strip(C0_AND_SPACE)
    s = re.sub(r"[\t\n\r]", "", s).replace("\\", "/")
    parts = urlsplit(urljoin(base, s))
    return parts.scheme, parts.netloc


def assert_same_origin(target: str) -> None:
    assert target.startswith("/")
    wire = iri_to_uri(target)  # what werkzeug puts in the Location header
    for form in (target, wire, unquote(target), unquote(wire), unquote(unquote(target))):
        assert browser_resolve(form) == ORIGIN, (target, form)
    assert not re.search(r"[\x00-\x1f\x7f]", wire)  # a header value cannot carry them (the old 500)


PIECES = ["/", "//", "\\", "\t", "\n", "\r", " ", "\x00", "\x7f", "\x85", "\u2028", "\u200b", "\u3000",
          "%09", "%0A", "%0d", "%00", "%2F", "%2f", "%5C", "%5c", "%20", "%25", "%2509", "%252F", "%",
          "evil.example", "http:", "https:", "javascript:", "//evil.example", "@", ":", "?", "#", ".", "..",
          "wallet", "a", "\ufeff", "\uff0f", "é"]
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=10).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(hostile, st.text(), st.just("/").flatmap(lambda p: hostile.map(lambda s: p + s))))
def test_result_is_none_or_a_same_origin_path(target: str) -> None:
    out = safe_next(target)
    if out is not None:
        assert out == target
        assert_same_origin(out)


@given(st.one_of(st.none(), st.integers(), st.binary(max_size=8), st.lists(st.text(max_size=2), max_size=2)))
def test_non_strings_are_refused(value: Any) -> None:
    assert safe_next(value) is None


@pytest.mark.parametrize("target", ["/wallet", "/enrol", "/documents/3f2a?item=1", "/v/abc/copy.pdf",
                                    "/search?q=a%20b", "/lang/ar?next=%2Fwallet", "/é", "/shares#top"])
def test_ordinary_paths_are_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    "/\t/evil.example/phish", "/\n/x", "/\r\n/evil.example", "/%09/evil.example", "/%0A/x", "/%2F/evil.example",
    "/%5Cevil.example", "/\\evil.example", "\\\\evil.example", "//evil.example", "https://evil.example/",
    "javascript:alert(1)", " /x", "/x\x00", "/%2509/evil.example", "/%252F/evil.example", "/\u2028/x",
    "/\u200b/x", "", "wallet", "/" + "a" * 5000])
def test_named_hostile_targets_are_refused(target: str) -> None:
    assert safe_next(target) is None


def _raw_get(base: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """Send ``path`` on the request line byte for byte (no client-side normalisation)."""
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


ATTACKS = ["/%09/evil.example/phish", "/%0A/x", "/%0D%0A/evil.example", "/%5C/evil.example", "/%2F/evil.example",
           "%2F%2Fevil.example", "https:%2F%2Fevil.example", "/%00/x", "/%E2%80%A8/evil.example",
           "/%2509/evil.example", "//evil.example/phish"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_language_switch_over_http_stays_home(live_server: str, attack: str) -> None:
    r = _raw_get(live_server, f"/lang/fr?next={attack}")
    assert r.status == 302
    location = r.getheader("Location")
    assert location == "/"
    assert browser_resolve(location, live_server + "/lang/fr") == tuple(urlsplit(live_server)[:2])


def test_language_switch_ignores_a_hostile_referer(live_server: str) -> None:
    host = urlsplit(live_server).netloc
    r = _raw_get(live_server, "/lang/fr", {"Referer": f"http://{host}/%09/evil.example/phish"})
    assert r.status == 302 and r.getheader("Location") == "/"
    r = _raw_get(live_server, "/lang/fr", {"Referer": f"http://{host}/enrol"})
    assert r.getheader("Location") == "/enrol"


def _form_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


@pytest.mark.parametrize("attack", ["/\t/evil.example/phish", "/\n/x", "/%09/evil.example", "\\/evil.example",
                                    "/wallet"])
def test_login_next_never_leaves_the_site(client: Any, alice: Person, attack: str) -> None:
    page = client.get("/?next=" + attack.replace("\t", "%09").replace("\n", "%0A"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    if attack != "/wallet":
        assert 'name="next"' not in html
    r = client.post("/login", data={"csrf_token": _form_token(html), "national_id": alice.national_id,
                                    "password": alice.password, "otp": alice.code(), "next": attack})
    assert r.status_code == 303
    assert r.headers["Location"] == "/wallet"
    assert browser_resolve(r.headers["Location"]) == ORIGIN
