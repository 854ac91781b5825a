"""Observability (issue 16): Prometheus metrics per URL rule (never the raw path), summed over processes in
multiprocess mode, the queue depth read from the broker; JSON log lines carrying the request id, in requests and in
jobs; /readyz covering the broker; the Secure-cookie rule of production on an http loopback base URL."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from wallet import jobs, metrics
from wallet.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
REDIS = os.environ.get("WALLET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOGGED: list[str] = []


@jobs.task("test.observability.log")
def _log_in_a_job(text: str) -> None:
    logging.getLogger("wallet.test.job").warning("job says %s", text)


def scrape() -> str:
    return generate_latest(metrics.registry()).decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, _, value = line.rpartition(" ")
            got = series[len(name) + 1:-1] if "{" in series else ""
            if ",".join(sorted(got.split(","))) == want:
                return float(value)
    return 0.0


# ------------------------------------------------------------------------------------ metrics

def test_requests_are_counted_by_url_rule_and_no_token_becomes_a_label(client: Any) -> None:
    token = "tok" + uuid.uuid4().hex
    rule = "/api/v1/verify/<anypath:token>"
    before = scrape()
    for _ in range(3):
        client.get(f"/api/v1/verify/{token}")
    client.get(f"/no/such/{token}")
    after = scrape()
    assert token not in after
    for status in ("404", "410", "200"):  # whatever the unknown-share answer is, it is counted under the rule
        if sample(after, "wallet_http_requests_total", method="GET", route=rule, status=status):
            assert sample(after, "wallet_http_requests_total", method="GET", route=rule, status=status) - \
                sample(before, "wallet_http_requests_total", method="GET", route=rule, status=status) == 3
            break
    else:
        raise AssertionError("no verify request counted under its URL rule")
    assert sample(after, "wallet_http_request_duration_seconds_count", method="GET", route=rule) - \
        sample(before, "wallet_http_request_duration_seconds_count", method="GET", route=rule) == 3
    assert sample(after, "wallet_http_requests_total", method="GET", route="<unmatched>", status="404") - \
        sample(before, "wallet_http_requests_total", method="GET", route="<unmatched>", status="404") == 1


def test_delivery_counters_have_their_names_for_the_webhook_and_push_jobs() -> None:
    metrics.WEBHOOK_DELIVERIES.labels("delivered").inc()
    metrics.PUSH_DELIVERIES.labels("gone").inc()
    text = scrape()
    assert sample(text, "wallet_webhook_deliveries_total", outcome="delivered") >= 1
    assert sample(text, "wallet_push_deliveries_total", outcome="gone") >= 1


def test_timed_records_ok_error_and_the_blocks_own_outcome() -> None:
    h = metrics.VALIDATION_SECONDS
    before = {o: sample(scrape(), "wallet_validation_duration_seconds_count", outcome=o) for o in ("ok", "error", "busy")}
    with metrics.timed(h):
        pass
    with pytest.raises(ValueError), metrics.timed(h):
        raise ValueError("refused")
    with pytest.raises(RuntimeError), metrics.timed(h) as outcome:
        outcome["outcome"] = "busy"
        raise RuntimeError("busy")
    text = scrape()
    for o in ("ok", "error", "busy"):
        assert sample(text, "wallet_validation_duration_seconds_count", outcome=o) - before[o] == 1


def test_multiprocess_mode_sums_every_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes (gunicorn workers, nodes, the Celery worker) write to one PROMETHEUS_MULTIPROC_DIR; one
    scrape sees the sum."""
    code = ("from wallet import metrics\n"
            "metrics.WEBHOOK_DELIVERIES.labels('failed').inc(2)\n"
            "metrics.HTTP_REQUESTS.labels('GET', '/healthz', '200').inc()\n")
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=120)
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file set per process
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = scrape()
    assert sample(text, "wallet_webhook_deliveries_total", outcome="failed") == 4
    assert sample(text, "wallet_http_requests_total", method="GET", route="/healthz", status="200") == 2


def test_metrics_app_serves_only_metrics() -> None:
    app = metrics.wsgi_app()
    statuses: list[str] = []

    def start(status: str, _headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    body = b"".join(app({"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"}, start))
    assert statuses[-1].startswith("200") and b"# TYPE wallet_http_requests_total counter" in body
    app({"PATH_INFO": "/", "REQUEST_METHOD": "GET"}, start)
    app({"PATH_INFO": "/metrics", "REQUEST_METHOD": "POST"}, start)
    assert statuses[1:] == ["404 Not Found", "404 Not Found"]


def test_the_public_app_has_no_metrics_route(client: Any) -> None:
    assert client.get("/metrics").status_code == 404


@pytest.fixture
def redis_client() -> Any:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {REDIS} (.ci/run starts it): {exc}")
    return client


def test_queue_depth_is_the_length_of_the_brokers_lists(redis_client: Any) -> None:
    queue = f"test-depth-{uuid.uuid4().hex}"
    try:
        redis_client.rpush(queue, *[b"m"] * 3)
        redis_client.rpush(f"{queue}\x06\x163", b"m")  # kombu's list for priority step 3
        text = generate_latest(metrics.registry(REDIS, queue)).decode()
        assert sample(text, "wallet_queue_depth", queue=queue) == 4
    finally:
        redis_client.delete(queue, f"{queue}\x06\x163")
    assert metrics.QueueDepth("redis://127.0.0.1:1/0", queue).depth() is None  # broker down: no sample, no error


# ------------------------------------------------------------------------------------ JSON logs

def json_line(record: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)  # type: ignore[no-any-return]


def test_json_line_has_its_fields_and_the_request_id_of_the_request(app: Any) -> None:
    record = logging.LogRecord("wallet.x", logging.WARNING, __file__, 1, "two\nlines %s", ("here",), None)
    out = json_line(record)
    assert out["level"] == "WARNING" and out["logger"] == "wallet.x" and out["message"] == "two\nlines here"
    assert out["request_id"] is None and out["time"].endswith("+00:00")
    with app.test_request_context(headers={"X-Request-ID": "req-abcdef-123"}):
        app.preprocess_request()
        assert json_line(record)["request_id"] == "req-abcdef-123"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json_line(record)["exception"]


@pytest.fixture
def json_logging() -> Any:
    """LOG_FORMAT=json installs a root handler and captures warnings: undone after the test."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for h in root.handlers[:]:
        if h not in before:
            root.removeHandler(h)
    root.setLevel(level)
    logging.captureWarnings(False)


def test_access_line_per_request_with_the_request_id_sent(make_app: Any, json_logging: None) -> None:
    app = make_app(log_format="json")
    assert any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("wallet.access")
    logger.addHandler(handler)
    try:
        token = "tok" + uuid.uuid4().hex
        app.test_client().get(f"/api/v1/verify/{token}", headers={"X-Request-ID": "cluster-rid-0001"})
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert lines and lines[-1]["request_id"] == "cluster-rid-0001"
    assert lines[-1]["route"] == "/api/v1/verify/<anypath:token>" and token not in stream.getvalue()


def test_a_job_logs_with_the_request_id_of_the_request_that_enqueued_it(app: Any) -> None:
    """What a Celery worker does with the message's ``wallet_request_id`` header (wallet/jobs.py run)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("wallet.test.job")
    logger.addHandler(handler)
    try:
        jobs.run(app, "test.observability.log", ["hello"], "rid-from-request-42")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "job says hello" and line["request_id"] == "rid-from-request-42"


def test_log_format_setting() -> None:
    from config.settings import Settings, SettingsError

    assert Settings.from_env({"LOG_FORMAT": "JSON"}).log_format == "json"
    assert Settings.from_env({}).log_format == "text"
    with pytest.raises(SettingsError):
        Settings.from_env({"LOG_FORMAT": "xml"})


# ------------------------------------------------------------------------------------ readiness

def test_readyz_covers_the_broker_with_celery_jobs(make_app: Any) -> None:
    down = make_app(jobs_backend="celery", broker_url="redis://127.0.0.1:1/0").test_client().get("/readyz")
    assert down.status_code == 503
    body = down.get_json()
    assert body["code"] == "not_ready" and "broker" in body["detail"]
    assert "broker" not in make_app().test_client().get("/readyz").get_json()["checks"]  # no broker to check


def test_readyz_ok_when_the_broker_answers(make_app: Any, redis_client: Any) -> None:
    r = make_app(jobs_backend="celery", broker_url=REDIS).test_client().get("/readyz")
    assert r.status_code == 200 and r.get_json()["checks"]["broker"] == "ok"


# ------------------------------------------------------------------------------------ Secure cookies

PRODUCTION = {"WALLET_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://u@h/db",
              "STORAGE_URL": "file:///tmp/x", "MASTER_KEY": "A" * 43, "TRUST_ROOTS": "/tmp/root.pem",
              "TSA_URL": "https://tsa.example", "SEAL_PKCS12": "/tmp/seal.p12", "WEB_CONCURRENCY": "1",
              "JOBS_BACKEND": "eager",
              "AUDIT_KEY": "QUFB" * 10 + "QUE=", "AUDIT_CHECKPOINT_KEY": "QkJC" * 10 + "QkI="}


@pytest.mark.parametrize(("url", "secure"), [
    ("https://wallet.example", True),
    ("http://wallet.example", True),  # plain http elsewhere than loopback: still Secure (and then unusable)
    ("https://127.0.0.1:8443", True),
    ("http://127.0.0.1:8080", False),  # make cluster: a browser never sends a Secure cookie back over http
    ("http://127.9.9.9", False),
    ("http://localhost:8080", False),
    ("http://[::1]:8080", False),
    ("http://127.0.0.1.evil.example", True),
    ("http://10.0.0.1:8080", True),
])
def test_production_cookies_are_secure_except_on_an_http_loopback_base_url(tmp_path: Path, url: str,
                                                                           secure: bool) -> None:
    from config.settings import Settings

    env = {**PRODUCTION, "WALLET_INSTANCE": str(tmp_path), "PUBLIC_BASE_URL": url}
    assert Settings.from_env(env).secure_cookies is secure
    assert Settings.from_env({**env, "SECURE_COOKIES": "0"}).secure_cookies is secure  # cannot be turned off
    assert Settings.from_env({**env, "SECURE_COOKIES": "1"}).secure_cookies is True


def test_outside_production_secure_cookies_is_asked_for(tmp_path: Path) -> None:
    from config.settings import Settings

    assert Settings.from_env({"WALLET_INSTANCE": str(tmp_path)}).secure_cookies is False
    assert Settings.from_env({"WALLET_INSTANCE": str(tmp_path), "SECURE_COOKIES": "1",
                              "PUBLIC_BASE_URL": "http://127.0.0.1:5000"}).secure_cookies is True
