"""Sign-in throttling (issue 11, item 3): no lock-out by national ID alone, no enrolment oracle, shared budgets.

The limiter and the failure counters run on the real Redis (tests/conftest.py: a key prefix per test); the
clock is moved with time-machine (the moving windows follow the app's clock).
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp
import pytest
import time_machine

from tests.support.enrolment import enrol_api, invite
from tests.support.people import Person, enrol

ROOT = Path(__file__).resolve().parents[2]
WRONG = {"password": "wrong password!!", "otp": "123456"}


def post(c: Any, ip: str, nid: str, **body: Any) -> Any:
    return c.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": ip},
                  json={"national_id": nid, **(body or WRONG)})


def right(person: Person, at: dt.datetime) -> dict[str, str]:
    return {"password": person.password, "otp": pyotp.TOTP(person.totp_secret).at(at)}


@pytest.fixture
def throttled(make_app: Any) -> Any:
    return make_app(rate_limits=True)


@pytest.fixture
def alice(throttled: Any) -> Person:
    return enrol(throttled, "AB123456")


def test_right_credentials_from_another_address_after_40_failures(throttled: Any, alice: Person) -> None:
    c = throttled.test_client()
    t = dt.datetime.now(dt.UTC).replace(microsecond=0)
    failures = blocked = 0
    for _ in range(200):  # A retries whenever Retry-After expires, until it has failed 40 times
        with time_machine.travel(t, tick=False):
            r = post(c, "10.1.0.1", alice.national_id)
        if r.status_code == 429:
            blocked += 1
            t += dt.timedelta(seconds=int(r.headers["Retry-After"]))
            continue
        assert r.status_code == 401 and r.json["code"] == "invalid_credentials"
        failures += 1
        if failures == 40:
            break
    assert failures == 40 and blocked >= 4  # A was slowed down all along
    with time_machine.travel(t, tick=False):
        assert post(c, "10.1.0.1", alice.national_id, **right(alice, t)).status_code == 429  # A still waits
        r = post(c, "10.1.0.2", alice.national_id, **right(alice, t))
    assert r.status_code == 200, r.json  # the owner, from B, right after A's last failure
    # and right after a plain burst from A too
    t += dt.timedelta(seconds=31)
    with time_machine.travel(t, tick=False):
        assert [post(c, "10.1.0.3", alice.national_id).status_code for _ in range(8)][-1] == 429
        assert post(c, "10.1.0.4", alice.national_id, **right(alice, t)).status_code == 200


def _answer(r: Any) -> tuple[Any, ...]:
    body = dict(r.json)
    body.pop("request_id", None)
    return r.status_code, r.mimetype, body, r.headers.get("Retry-After"), r.headers.get("Cache-Control")


def test_enrolled_and_unknown_ids_answer_alike(throttled: Any, alice: Person) -> None:
    c = throttled.test_client()
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # bursts and spaced attempts: into the first delay, past it, through the longer windows, a day later
    offsets = [0] * 8 + [20, 45, 61, 62, 63, 64, 65, 66, 67, 70, 130, 200, 330, 400, 620, 700, 1300, 2000, 3700,
                         3701, 3702, 3703, 3704, 3705, 3706, 3707, 3708, 3709, 3710, 3711, 3712, 3713, 7300,
                         86400 + 3800, 86400 + 3801, 86400 + 3802]
    seen = set()
    for step, off in enumerate(offsets):
        with time_machine.travel(start + dt.timedelta(seconds=off), tick=False):
            enrolled = _answer(post(c, "10.2.0.1", alice.national_id))
            unknown = _answer(post(c, "10.2.0.2", "ZZ999999"))
        assert enrolled == unknown, (step, off, enrolled, unknown)
        seen.add((enrolled[0], enrolled[3]))
    statuses = {s for s, _ in seen}
    assert statuses == {401, 429} and len({ra for s, ra in seen if s == 429}) >= 3, seen  # several delays


def test_enrolled_and_unknown_ids_alike_on_the_html_form(throttled: Any) -> None:
    import difflib
    import re

    kim = enrol(throttled, "KL778899")
    c = throttled.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").get_data(as_text=True))
    assert token

    def form(ip: str, nid: str) -> tuple[Any, ...]:
        r = c.post("/login", environ_base={"REMOTE_ADDR": ip},
                   data={"csrf_token": token.group(1), "national_id": nid, **WRONG})
        return r.status_code, r.headers.get("Retry-After"), r.get_data(as_text=True).replace(nid, "ID")

    start = dt.datetime.now(dt.UTC)
    answers = []
    for off, n in ((0, 7), (61, 2), (122, 2)):  # a burst, then attempts once the minute is over
        with time_machine.travel(start + dt.timedelta(seconds=off), tick=False):
            answers += [(form("10.3.0.1", kim.national_id), form("10.3.0.2", "ZZ888888")) for _ in range(n)]
    for a, b in answers:
        assert a[:2] == b[:2], (a[:2], b[:2])
        assert a[2] == b[2], "".join(difflib.unified_diff(a[2].splitlines(True), b[2].splitlines(True)))
    assert [a[0] for a, _ in answers][:7] == [401] * 5 + [429] * 2


def test_id_ceiling_hit_by_many_addresses_blocks_until_the_operator_unlocks(throttled: Any, alice: Person) -> None:
    from sqlalchemy import select

    from wallet import db
    from wallet.audit import AuditEvent
    from wallet.throttle import LOGIN_ID_CEILING

    ceiling = int(LOGIN_ID_CEILING.split("/")[0])
    c = throttled.test_client()
    t = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with time_machine.travel(t, tick=False):
        for n in range(ceiling):  # a distributed attack: 5 failures from each of many addresses
            assert post(c, f"10.4.{n // 5}.1", alice.national_id).status_code == 401
        r = post(c, "10.5.0.1", alice.national_id, **right(alice, t))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        assert _answer(post(c, "10.5.0.2", alice.national_id)) == _answer(r)  # the same for a wrong password
    t += dt.timedelta(seconds=61)
    with time_machine.travel(t, tick=False):
        assert post(c, "10.5.0.3", alice.national_id, **right(alice, t)).status_code == 429  # still blocked
        out = throttled.test_cli_runner().invoke(args=["citizen", "unlock", "ab 123456"])
        assert out.exit_code == 0, out.output
        assert "AB123456" in out.output
        r = post(c, "10.5.0.3", alice.national_id, **right(alice, t))
    assert r.status_code == 200, r.json
    with throttled.app_context():
        events = db.session().execute(select(AuditEvent).where(AuditEvent.action == "citizen.unlock")).scalars().all()
        assert len(events) == 1 and events[0].actor == "operator" and events[0].target == f"citizen:{alice.id}"


def test_unlock_refuses_a_malformed_id(throttled: Any) -> None:
    out = throttled.test_cli_runner().invoke(args=["citizen", "unlock", "a/b"])
    assert out.exit_code != 0 and "national ID" in out.output


def test_successes_do_not_count(throttled: Any, alice: Person) -> None:
    c = throttled.test_client()
    t = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for _ in range(45):  # more sign-ins than any per-ID window allows failures: every one succeeds
        t += dt.timedelta(seconds=31)  # a new TOTP step each time
        with time_machine.travel(t, tick=False):
            r = post(c, "10.6.0.1", alice.national_id, **right(alice, t))
        assert r.status_code == 200, r.json
    with time_machine.travel(t, tick=False):  # the address's failure budget is whole
        assert [post(c, "10.6.0.1", alice.national_id).status_code for _ in range(6)] == [401] * 5 + [429]


def test_two_app_instances_sharing_redis_share_the_budget(make_app: Any) -> None:
    import redis
    from limits.storage import RedisStorage

    one, two = make_app(rate_limits=True), make_app(rate_limits=True)
    person = enrol(one, "EF112233")
    throttle = one.extensions["wallet.runtime"].login_throttle
    assert isinstance(throttle.storage, RedisStorage)
    c1, c2 = one.test_client(), two.test_client()
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False):
        codes = [post(c, "10.7.0.1", person.national_id).status_code for c in (c1, c2, c1, c2, c1, c2)]
    assert codes == [401] * 5 + [429]  # one budget of 5 for both instances
    prefix = one.extensions["wallet.runtime"].settings.rate_limit_key_prefix
    keys = list(redis.Redis.from_url(os.environ.get("WALLET_TEST_REDIS", "redis://127.0.0.1:6379/0"))
                .scan_iter(match=f"{prefix}:*", count=1000))
    assert keys and all(person.national_id.encode() not in k for k in keys)  # in Redis, no national ID in clear


def test_ipv6_addresses_are_bucketed_by_64(throttled: Any, alice: Person) -> None:
    from wallet.throttle import client_bucket

    assert client_bucket("2001:db8:1:2:3:4:5:6") == client_bucket("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_bucket("2001:db8:1:3::1") != client_bucket("2001:db8:1:2::1")
    assert client_bucket("::ffff:10.0.0.1") == "10.0.0.1" and client_bucket("junk") == "unknown"
    c = throttled.test_client()
    t = dt.datetime.now(dt.UTC)
    with time_machine.travel(t, tick=False):  # rotating addresses inside one /64 does not reset the delay
        codes = [post(c, f"2001:db8:1:2::{n + 1:x}", alice.national_id).status_code for n in range(6)]
        assert codes == [401] * 5 + [429]
        assert post(c, "2001:db8:1:3::1", alice.national_id, **right(alice, t)).status_code == 200


def test_client_address_behind_proxy_hops(make_app: Any) -> None:
    app = make_app(rate_limits=True, proxy_hops=1)
    person = enrol(app, "GH445566")
    c = app.test_client()

    def via_proxy(client_ip: str, **body: Any) -> int:
        return c.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                      headers={"X-Forwarded-For": f"6.6.6.6, {client_ip}"},
                      json={"national_id": person.national_id, **(body or WRONG)}).status_code

    t = dt.datetime.now(dt.UTC)
    with time_machine.travel(t, tick=False):
        assert [via_proxy("203.0.113.7") for _ in range(6)] == [401] * 5 + [429]
        assert via_proxy("203.0.113.8", **right(person, t)) == 200  # another client behind the same proxy


# ------------------------------------------------------------------------------------ production start

PRODUCTION = {"WALLET_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://u@h/db",
              "STORAGE_URL": "file:///tmp/x", "MASTER_KEY": "A" * 43, "TRUST_ROOTS": "/tmp/root.pem",
              "PUBLIC_BASE_URL": "https://wallet.example", "TSA_URL": "https://tsa.example",
              "SEAL_PKCS12": "/tmp/seal.p12",
              # the audit chain's keys (required in production since the keyed chain): 32 bytes, base64
              "AUDIT_KEY": "QUFB" * 10 + "QUE=", "AUDIT_CHECKPOINT_KEY": "QkJC" * 10 + "QkI="}


def test_production_with_several_workers_refuses_to_start_without_redis(tmp_path: Path) -> None:
    from config.settings import Settings, SettingsError

    env = {**PRODUCTION, "WALLET_INSTANCE": str(tmp_path)}
    for extra in ({}, {"WEB_CONCURRENCY": "4"}, {"REDIS_URL": "memory://"}):
        with pytest.raises(SettingsError) as exc:
            Settings.from_env({**env, **extra})
        assert "REDIS_URL" in str(exc.value)
    assert Settings.from_env({**env, "REDIS_URL": "redis://127.0.0.1:6379/0"}).rate_limit_storage.startswith("redis")
    assert Settings.from_env({**env, "WEB_CONCURRENCY": "1"}).production  # one worker: one process's counters
    assert Settings.from_env({"WALLET_INSTANCE": str(tmp_path), "WEB_CONCURRENCY": "4"}).rate_limit_storage \
        == "memory://"  # the embedded default is one process (make run)


def test_gunicorn_refuses_several_production_workers_without_redis(tmp_path: Path) -> None:
    """Whatever sets the worker count (here --workers on the command line, WEB_CONCURRENCY=1)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RATE_LIMIT_STORAGE")}
    env.update(PRODUCTION, WALLET_INSTANCE=str(tmp_path), WEB_CONCURRENCY="1", PORT="0", HOST="127.0.0.1")
    cmd = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "--workers", "3", "wallet:create_app()"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # it started after all: stop it (and its workers) before failing
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "REDIS_URL" in output and "3 workers" in output


def test_a_fresh_enrolment_code_is_also_a_way_back(throttled: Any, alice: Person) -> None:
    from wallet.throttle import LOGIN_ID_CEILING

    c = throttled.test_client()
    t = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with time_machine.travel(t, tick=False):
        for n in range(int(LOGIN_ID_CEILING.split("/")[0])):
            assert post(c, f"10.8.{n // 5}.1", alice.national_id).status_code == 401
        assert post(c, "10.8.99.1", alice.national_id, **right(alice, t)).status_code == 429
    t += dt.timedelta(seconds=90)
    with time_machine.travel(t, tick=False):
        r, secret = enrol_api(throttled.test_client(), alice.national_id, invite(throttled, alice.national_id))
        assert r.status_code == 200, r.json
    t += dt.timedelta(seconds=60)
    with time_machine.travel(t, tick=False):
        r = post(c, "10.8.99.1", alice.national_id, password="a long enough passphrase",
                 otp=pyotp.TOTP(secret).at(t))
    assert r.status_code == 200, r.json


def test_throttle_storage_down_is_503_not_500(make_app: Any) -> None:
    app = make_app(rate_limits=True, rate_limit_storage="redis://127.0.0.1:1/0")  # nothing listens there
    r = post(app.test_client(), "10.9.9.9", "AB123456")
    assert r.status_code == 503 and r.json["code"] == "unavailable" and r.headers["Retry-After"] == "5"
    assert "Traceback" not in r.get_data(as_text=True)
