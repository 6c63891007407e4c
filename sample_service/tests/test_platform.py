"""Cross-cutting behaviour: health, metrics, rate limiting, request ids, JSON logs, OpenAPI, settings."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from sample_service.defects import DEFECTS, UnknownDefectError, parse_defects
from sample_service.db import make_engine
from sample_service.logging import JsonFormatter
from sample_service.settings import Settings
from sample_service.tests.conftest import ClientFactory, TestClient

HEALTH = "application/health+json"


def test_livez_and_readyz(client: TestClient) -> None:
    live = client.get("/livez")
    assert live.status_code == 200 and live.headers["content-type"].startswith(HEALTH)
    assert live.json() == {"status": "pass"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.headers["content-type"].startswith(HEALTH)
    assert ready.json()["status"] == "pass"


def test_readyz_503_when_database_is_down(make_sqlite_client: ClientFactory, tmp_path: Path) -> None:
    client = make_sqlite_client()
    # A directory is not a database: every connection attempt fails.
    client.app.state.engine = make_engine(f"sqlite:///{tmp_path}")  # type: ignore[attr-defined]
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.headers["content-type"].startswith(HEALTH)
    assert resp.json()["status"] == "fail"
    assert "Traceback" not in resp.text and str(tmp_path) not in resp.text
    assert client.get("/livez").status_code == 200  # liveness does not depend on the database


def _lint(text: str) -> list[str]:
    """The promtool rules that matter here: HELP on everything, _total only (and always) on counters,
    snake_case names, no colons, base units."""
    problems = []
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    for name, kind in types.items():
        if name not in helps:
            problems.append(f"{name}: no HELP")
        if (kind == "counter") != name.endswith("_total"):
            problems.append(f"{name}: {kind} vs _total suffix")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            problems.append(f"{name}: not snake_case")
        if re.search(r"_(milliseconds|ms|microseconds|kilobytes|megabytes)(_|$)", name):
            problems.append(f"{name}: not a base unit")
    return problems


def test_metrics_red_names_and_route_templates(client: TestClient) -> None:
    client.get("/books/3")
    client.get("/books/999999")
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert '# TYPE http_requests_total counter' in text
    assert '# TYPE http_request_duration_seconds histogram' in text
    assert 'http_requests_total{method="GET",route="/books/{book_id}",status="200"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/books/{book_id}",status="404"} 1.0' in text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/books/{book_id}"}' in text
    assert "/books/3" not in text  # raw paths never become labels
    assert "process_cpu_seconds_total" in text
    assert _lint(text) == []


def test_rate_limit_429_retry_after_and_exemptions(make_sqlite_client: ClientFactory) -> None:
    client = make_sqlite_client(RATE_LIMIT_PER_MINUTE="3")
    remaining = [client.get("/authors/1").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    over = client.get("/books")
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.headers["X-RateLimit-Limit"] == "3" and over.headers["X-RateLimit-Remaining"] == "0"
    body = over.json()
    assert body["code"] == "rate_limited" and body["request_id"] == over.headers["X-Request-ID"]
    for path in ("/livez", "/readyz", "/metrics"):
        resp = client.get(path)
        assert resp.status_code == 200 and "X-RateLimit-Limit" not in resp.headers
    metrics = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/books",status="429"} 1.0' in metrics
    client.get("/no/such/path/123")
    assert 'route="unmatched",status="429"' in client.get("/metrics").text


def test_request_id_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/livez", headers={"X-Request-ID": "abc-123.x"}).headers["X-Request-ID"] == "abc-123.x"
    generated = client.get("/livez", headers={"X-Request-ID": "bad id\twith spaces"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/livez").headers["X-Request-ID"] != client.get("/livez").headers["X-Request-ID"]
    err = client.get("/books/999999", headers={"X-Request-ID": "trace-me"})
    assert err.json()["request_id"] == "trace-me"


def test_security_headers(client: TestClient) -> None:
    resp = client.get("/books/1")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "server" not in resp.headers or "uvicorn" not in resp.headers["server"].lower()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> list[str]:
    handler = _Capture()
    loggers = [logging.getLogger(n) for n in ("sql", "access")]
    old = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield handler.lines
    for lg, (level, _) in zip(loggers, old):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_sql_and_access_json_lines(make_client: ClientFactory, captured: list[str]) -> None:
    client = make_client(SQL_ECHO="1")
    client.get("/books", params={"limit": 5}, headers={"X-Request-ID": "sql-log-test"})
    entries = [json.loads(line) for line in captured]
    sql = [e for e in entries if e["logger"] == "sql" and e["request_id"] == "sql-log-test"]
    assert len(sql) == 3  # count, books page, authors (selectin)
    for e in sql:
        assert set(e) == {"ts", "level", "logger", "request_id", "statement", "parameters", "duration_ms"}
        assert e["level"] == "INFO" and isinstance(e["duration_ms"], float) and e["duration_ms"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", e["ts"])
        json.dumps(e["parameters"])
    assert any("FROM books" in e["statement"] for e in sql)
    access = [e for e in entries if e["logger"] == "access" and e["request_id"] == "sql-log-test"]
    assert len(access) == 1
    assert {k: access[0][k] for k in ("method", "path", "route", "status")} == {
        "method": "GET", "path": "/books", "route": "/books", "status": 200}
    assert isinstance(access[0]["duration_ms"], float)


def test_sql_echo_off_logs_no_statements(make_sqlite_client: ClientFactory, captured: list[str]) -> None:
    make_sqlite_client().get("/books")
    assert not [line for line in captured if '"logger": "sql"' in line]


# --- OpenAPI ----------------------------------------------------------------------------------

def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_openapi_completeness(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    info = spec["info"]
    assert info["description"] and info["contact"]["email"] and info["license"]["name"] == "MIT"
    assert spec["servers"] and spec["servers"][0]["url"] == "/"
    tag_names = {t["name"] for t in spec["tags"]}
    assert all(t["description"] for t in spec["tags"])
    assert spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["type"] == "oauth2"
    ids = []
    secured = set()
    for path, method, op in _operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("summary") and op.get("description"), where
        assert op.get("tags") and set(op["tags"]) <= tag_names, where
        ids.append(op["operationId"])
        assert re.fullmatch(r"[a-z][a-z_]*", op["operationId"]), where
        if op.get("security"):
            secured.add(where)
            assert "401" in op["responses"], where
        if path not in ("/livez", "/readyz", "/metrics"):
            assert "429" in op["responses"] and "Retry-After" in op["responses"]["429"]["headers"], where
            assert "X-RateLimit-Remaining" in op["responses"]["429"]["headers"], where
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in op["responses"], where
        for status, response in op["responses"].items():
            assert response.get("description"), (where, status)
            if status not in ("204",):
                assert response.get("content"), (where, status)
                for media in response["content"].values():
                    assert "schema" in media, (where, status)
            if status[0] in "45":
                schema = next(iter(response["content"].values()))["schema"]
                assert schema.get("$ref", "").endswith(("/ErrorResponse", "/HealthResponse")), (where, status)
        for param in op.get("parameters", []):
            assert param.get("description"), (where, param["name"])
    assert len(ids) == len(set(ids)) and {"list_books", "get_book", "create_order", "issue_token"} <= set(ids)
    assert secured == {"GET /users/me", "POST /authors", "POST /books", "PUT /books/{book_id}",
                       "PATCH /books/{book_id}", "DELETE /books/{book_id}", "GET /orders",
                       "GET /orders/{order_id}", "POST /orders"}
    limit = next(p for p in spec["paths"]["/books"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100
    key = next(p for p in spec["paths"]["/orders"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["maxLength"] == 255
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "HTTPValidationError" not in json.dumps(spec)
    for name in ("ErrorResponse", "BookOut", "BookCreate", "OrderCreate", "Token"):
        assert schemas[name].get("examples"), name
    assert spec["paths"]["/livez"]["get"]["responses"]["200"]["content"].keys() == {HEALTH}


# --- settings ---------------------------------------------------------------------------------

def test_unknown_defect_fails_fast_with_valid_names() -> None:
    with pytest.raises(UnknownDefectError) as info:
        Settings.from_env({"SAMPLE_DEFECTS": "n_plus_one,bogus"})
    message = str(info.value)
    assert "\n" not in message and "'bogus'" in message and all(name in message for name in DEFECTS)
    assert parse_defects(" n_plus_one , no_health ,") == {"n_plus_one", "no_health"}


def test_settings_defaults(tmp_path: Path) -> None:
    s = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'sample.db'}"
    assert s.rate_limit_per_minute == 600 and s.bcrypt_rounds == 12 and s.defects == frozenset()
    assert s.secret_key_generated and len(s.secret_key) >= 32
    assert s.secret_key == Settings.from_env({}).secret_key  # one random key per process
    assert s.secret_key not in repr(s)


def test_password_hash_and_tokens() -> None:
    from sample_service.security import create_access_token, decode_access_token, hash_password, verify_password

    h = hash_password("pw", 4)
    assert h.startswith("$2b$04$") and verify_password("pw", h) and not verify_password("px", h)
    assert not verify_password("x" * 100, h)
    token = create_access_token(7, "admin", "k" * 40, 60)
    assert decode_access_token(token, "k" * 40) == 7
    assert decode_access_token(token, "other-key" * 5) is None
    assert decode_access_token(create_access_token(7, "admin", "k" * 40, -10), "k" * 40) is None  # expired
