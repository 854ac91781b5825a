"""The proxies screen without JavaScript (/settings/proxies): the lists in the page language, granting with the
server-rendered form (its refusals shown in words, before any step-up), the step-up page that carries the grant
and makes it once the code is right, and ending a proxy after a confirmation page (either side)."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from typing import Any

import time_machine

from tests.support.people import Citizen
from wallet.present import DISPLAY_TIMEZONE

GRANTOR, PROXY, STRANGER = "AB123456", "PX400004", "ST500005"
LATER = 301  # seconds after the sign-in: past STEP_UP_SECONDS (300 in the tests' settings)


def text(resp: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)).split())


def soon(days: int = 10) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def form(c: Citizen, **kw: Any) -> Any:
    data: dict[str, Any] = {"csrf_token": c.csrf, "proxy_id": PROXY, "scope": "some",
                            "types": ["criminal_record", "nationality"], "expires_on": soon(), "can_share": "1"}
    data.update({k: v for k, v in kw.items() if v is not None})
    for k in [k for k, v in kw.items() if v is None]:
        data.pop(k)
    return c.client.post("/settings/proxies?lang=en", data=data)


def granted(c: Citizen) -> list[dict[str, Any]]:
    return list(c.client.get("/api/v1/me/mandates").get_json()["granted"])


def test_the_lists_show_both_sides_in_the_page_language(citizen: Callable[..., Any]) -> None:
    grantor, proxy = citizen(GRANTOR, "Amina Benali"), citizen(PROXY, "Karim Idrissi")
    r = grantor.client.post("/api/v1/me/mandates", headers=grantor.headers, json={
        "proxy_id": PROXY, "types": ["criminal_record"], "can_share": False,
        "expires_at": f"{soon(40)}T23:59:59+01:00"})
    assert r.status_code == 201
    en = text(grantor.client.get("/settings/proxies?lang=en"))
    assert "People who act for you" in en and "Karim Idrissi" in en and PROXY in en
    assert "Criminal record extract" in en and "May not share them" in en and "Active" in en
    assert "Nobody has given you a proxy." in en
    until = dt.date.fromisoformat(soon(40))
    assert f"Valid until {until.day} {until.strftime('%B')} {until.year}" in en  # wallet.present.day, Moroccan time
    other = text(proxy.client.get("/settings/proxies?lang=en"))
    assert "People you act for" in other and "Amina Benali" in other and GRANTOR in other
    assert "You have not given a proxy to anyone." in other
    ar = text(grantor.client.get("/settings/proxies?lang=ar"))
    assert "الأشخاص الذين ينوبون عنك" in ar and "بطاقة السوابق العدلية" in ar and "لا يمكنه مشاركتها" in ar
    fr = text(grantor.client.get("/settings/proxies?lang=fr"))
    assert "Procurations" in fr and "Extrait du casier judiciaire" in fr
    # reachable from the settings reached by the main navigation ("Sessions", beside the passkeys)
    assert 'href="/settings/proxies"' in grantor.client.get("/settings/sessions").get_data(as_text=True)
    # an ended proxy stays listed, as ended, with no "End" button
    grantor.client.delete(f"/api/v1/me/mandates/{r.get_json()['id']}", headers=grantor.headers)
    en = text(grantor.client.get("/settings/proxies?lang=en"))
    assert "Ended on" in en and "End this proxy" not in en


def test_grant_with_the_form_no_script(citizen: Callable[..., Any]) -> None:
    grantor = citizen(GRANTOR)
    r = form(grantor)
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/proxies?done=granted")
    [m] = granted(grantor)
    assert m["proxy"]["national_id"] == PROXY and m["types"] == ["criminal_record", "nationality"]
    assert m["can_share"] is True and m["status"] == "active"
    # the chosen day, to its end in Moroccan time (UTC+1 or UTC+0 in Ramadan)
    assert m["expires_at"][:10] == soon() and m["expires_at"][11:16] in ("22:59", "23:59")
    assert "Proxy given." in text(grantor.client.get("/settings/proxies?done=granted&lang=en"))
    # "all my documents": types null; no "can_share" box ticked: false
    assert form(grantor, scope="all", can_share=None).status_code == 303
    newest = granted(grantor)[0]
    assert newest["types"] is None and newest["can_share"] is False
    # a national ID with no account yet may be given a proxy (as the API allows): its name is not known yet
    assert form(grantor, proxy_id="zz 998877").status_code == 303
    assert granted(grantor)[0]["proxy"]["national_id"] == "ZZ998877"
    page = text(grantor.client.get("/settings/proxies?lang=en"))
    assert "Name not known yet ZZ998877" in " ".join(page.replace("National ID", "").split())


def test_refusals_are_shown_in_words_and_record_nothing(citizen: Callable[..., Any]) -> None:
    grantor = citizen(GRANTOR)
    cases = (({"proxy_id": GRANTOR}, "You cannot give a proxy to yourself"),
             ({"proxy_id": "ab 123456"}, "You cannot give a proxy to yourself"),
             ({"proxy_id": "not an id!"}, "Enter a national ID number"),
             ({"types": None}, "Choose at least one type of document"),
             ({"types": ["passport_of_mars"]}, "Choose at least one type of document"),
             ({"expires_on": "2001-01-01"}, "Choose an end date after today"),
             ({"expires_on": "tomorrow"}, "Choose an end date after today"),
             ({"expires_on": soon(6 * 366)}, "Choose an end date after today"))
    for change, words in cases:
        r = form(grantor, **change)
        assert r.status_code == 400, change
        assert words in text(r), change
        assert 'aria-invalid="true"' in r.get_data(as_text=True)
    fr = grantor.client.post("/settings/proxies?lang=fr", data={"csrf_token": grantor.csrf, "proxy_id": GRANTOR,
                                                                 "scope": "all", "expires_on": soon()})
    assert fr.status_code == 400 and "Vous ne pouvez pas vous donner une procuration" in text(fr)
    assert "value=\"" + GRANTOR + "\"" in fr.get_data(as_text=True)  # what was typed is kept
    assert granted(grantor) == []
    # without the CSRF token: refused, nothing recorded
    no_csrf = grantor.client.post("/settings/proxies", data={"proxy_id": PROXY, "scope": "all",
                                                             "expires_on": soon()})
    assert no_csrf.status_code == 403 and granted(grantor) == []


def test_step_up_page_carries_the_grant_and_makes_it_once_the_code_is_right(citizen: Callable[..., Any]) -> None:
    grantor = citizen(GRANTOR)
    assert grantor.person is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LATER)
    with time_machine.travel(later, tick=False):
        # a refused grant is refused before asking for a code
        assert form(grantor, proxy_id=GRANTOR).status_code == 400
        r = form(grantor)
        assert r.status_code == 401
        page = r.get_data(as_text=True)
        assert "Confirm it's you This action protects your documents" in text(r)
        assert 'name="stepup_otp"' in page and f'name="proxy_id" value="{PROXY}"' in page
        assert page.count('name="types"') == 2 and 'name="can_share" value="1"' in page
        assert granted(grantor) == []
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
        assert fields["csrf_token"] == grantor.csrf
        data = {"csrf_token": grantor.csrf, "proxy_id": PROXY, "scope": "some",
                "types": ["criminal_record", "nationality"], "expires_on": soon(), "can_share": "1"}
        wrong = grantor.client.post("/settings/proxies?lang=en", data={**data, "stepup_otp": "000000"})
        assert wrong.status_code == 401 and "That did not work" in text(wrong)
        assert 'name="stepup_otp"' in wrong.get_data(as_text=True) and granted(grantor) == []
        ar = grantor.client.post("/settings/proxies?lang=ar", data=data)
        assert ar.status_code == 401 and "تأكيد هويتك" in text(ar) and "رمز" in text(ar)
        code = grantor.person.code()
        ok = grantor.client.post("/settings/proxies", data={**data, "stepup_otp": code})
        assert ok.status_code == 303, ok.get_data(as_text=True)
        [m] = granted(grantor)
        assert m["types"] == ["criminal_record", "nationality"] and m["can_share"] is True
        # the code is spent: the same form posted again with it (back, resubmit) grants nothing more
        again = grantor.client.post("/settings/proxies?lang=en", data={**data, "stepup_otp": code})
        assert again.status_code == 401 and "That did not work" in text(again)
    assert len(granted(grantor)) == 1


def test_end_with_a_confirmation_page_either_side(citizen: Callable[..., Any]) -> None:
    grantor, proxy, stranger = citizen(GRANTOR, "Amina Benali"), citizen(PROXY, "Karim Idrissi"), citizen(STRANGER)
    assert form(grantor).status_code == 303
    assert form(grantor, scope="all").status_code == 303
    first, second = (m["id"] for m in granted(grantor))
    page = grantor.client.get(f"/settings/proxies/{first}/end?lang=en")
    assert page.status_code == 200 and "End this proxy?" in text(page) and "Karim Idrissi" in text(page)
    assert "This person will no longer see your documents" in text(page)
    assert "You will no longer see this person" in text(proxy.client.get(f"/settings/proxies/{first}/end?lang=en"))
    assert stranger.client.get(f"/settings/proxies/{first}/end").status_code == 404
    assert stranger.client.post(f"/settings/proxies/{first}/end", data={"csrf_token": stranger.csrf}).status_code == 404
    assert grantor.client.post(f"/settings/proxies/{first}/end", data={}).status_code == 403  # no CSRF token
    r = grantor.client.post(f"/settings/proxies/{first}/end", data={"csrf_token": grantor.csrf})
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/proxies?done=ended")
    r = proxy.client.post(f"/settings/proxies/{second}/end", data={"csrf_token": proxy.csrf})
    assert r.status_code == 303
    assert [m["status"] for m in granted(grantor)] == ["ended", "ended"]
    assert "This proxy has already ended." in text(grantor.client.get(f"/settings/proxies/{first}/end?lang=en"))


def test_the_api_refuses_a_bad_grant_before_asking_for_step_up(citizen: Callable[..., Any]) -> None:
    grantor = citizen(GRANTOR)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LATER)
    with time_machine.travel(later, tick=False):
        body = {"proxy_id": GRANTOR, "types": None, "expires_at": f"{soon()}T12:00:00Z"}
        r = grantor.client.post("/api/v1/me/mandates", headers=grantor.headers, json=body)
        assert r.status_code == 400 and r.get_json()["code"] == "proxy_is_self"
        r = grantor.client.post("/api/v1/me/mandates", headers=grantor.headers, json={**body, "proxy_id": PROXY})
        assert r.status_code == 401 and r.get_json()["code"] == "step_up_required"


def test_the_page_gives_its_script_moroccan_offsets_that_end_each_day_on_that_day(citizen: Callable[..., Any]) -> None:
    """proxies.js sends DATE + "T23:59:59" + the offset in force on DATE from this list (the browser's own
    time-zone data may differ: Chromium put Casablanca at +00:00 in December 2026): each such instant is shown
    as that same day."""
    grantor = citizen(GRANTOR)
    page = grantor.client.get("/settings/proxies").get_data(as_text=True)
    found = re.search(r'data-offsets="([^"]*)"', page)
    assert found is not None
    listed = json.loads(html.unescape(found.group(1)))
    assert len(listed) >= 3 and {o for _d, o in listed} == {"+01:00", "+00:00"}  # Ramadan years ahead
    first = dt.date.fromisoformat(listed[0][0])
    for n in range(1, 5 * 365, 7):
        chosen = first + dt.timedelta(days=n)
        offset = [o for d, o in listed if d <= chosen.isoformat()][-1]
        instant = dt.datetime.fromisoformat(f"{chosen.isoformat()}T23:59:59{offset}")
        assert instant.astimezone(DISPLAY_TIMEZONE).date() == chosen, chosen
