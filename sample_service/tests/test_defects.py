"""Each seeded defect, switched on, is real (observable over HTTP or in SQL), and off it is absent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import event

from sample_service.defects import DEFECTS
from sample_service.tests.conftest import ClientFactory, TestClient, login


def count_statements(client: TestClient, path: str, **params: object) -> int:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(path, params=params).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def _no_health(clean: TestClient, bad: TestClient) -> None:
    for path in ("/livez", "/readyz"):
        assert clean.get(path).status_code == 200
        assert bad.get(path).status_code == 404
        assert path not in bad.get("/openapi.json").json()["paths"]


def _no_metrics(clean: TestClient, bad: TestClient) -> None:
    assert clean.get("/metrics").status_code == 200
    assert bad.get("/metrics").status_code == 404


def _n_plus_one(clean: TestClient, bad: TestClient) -> None:
    assert count_statements(clean, "/books", limit=5) == count_statements(clean, "/books", limit=40) == 3
    assert count_statements(bad, "/books", limit=5) == 2 + 5
    assert count_statements(bad, "/books", limit=40) == 2 + 40
    assert clean.get("/books", params={"limit": 40}).json() == bad.get("/books", params={"limit": 40}).json()


# The functions that called time.sleep, in the threads started while the recorder is on: a TestClient's
# event loop and the worker threads where sync handlers run. The slow_endpoint defect is its sleep,
# observed as such — never as a timing, which depends on the machine.
_SLEEPS: list[str] = []


def _record_sleeps(frame: FrameType, event: str, arg: Any) -> None:
    if event == "c_call" and arg is time.sleep:
        _SLEEPS.append(frame.f_code.co_name)


@pytest.fixture
def handler_sleeps() -> Iterator[list[str]]:
    """On before the clients exist, so that their threads are profiled; off at the end of the test."""
    _SLEEPS.clear()
    threading.setprofile(_record_sleeps)
    try:
        yield _SLEEPS
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]


def _slow_endpoint(clean: TestClient, bad: TestClient) -> None:
    def sleeps(client: TestClient, path: str) -> list[str]:
        _SLEEPS.clear()
        assert client.get(path).status_code == 200
        return list(_SLEEPS)

    assert sleeps(bad, "/authors") == ["list_authors"]
    assert sleeps(clean, "/authors") == []
    assert sleeps(bad, "/books/1") == []  # only the one route is slow
    assert bad.get("/authors").json() == clean.get("/authors").json()  # slow, not different


def _undocumented_error(clean: TestClient, bad: TestClient) -> None:
    assert clean.get("/books", params={"sort": "-published"}).status_code == 200
    resp = bad.get("/books", params={"sort": "-published"})
    assert resp.status_code == 500
    assert resp.json()["message"] == "Internal server error" and "Traceback" not in resp.text
    op = bad.get("/openapi.json").json()["paths"]["/books"]["get"]
    assert "500" not in op["responses"]
    assert "-published" in bad.get("/openapi.json").json()["components"]["schemas"]["BookSort"]["enum"]
    assert bad.get("/books", params={"sort": "title"}).status_code == 200


def _missing_auth(clean: TestClient, bad: TestClient) -> None:
    assert clean.get("/orders").status_code == 401
    resp = bad.get("/orders")
    assert resp.status_code == 200 and resp.json()["total"] >= 5  # everyone's orders, anonymously
    assert bad.get("/openapi.json").json()["paths"]["/orders"]["get"]["security"]
    assert bad.get("/users/me").status_code == 401  # only the one operation is open
    alice = login(bad, "alice@example.com")
    assert all(o["user_id"] == 2 for o in bad.get("/orders", headers=alice).json()["items"])


def _leaky_errors(clean: TestClient, bad: TestClient) -> None:
    params = {"published_after": "not-a-date"}
    ok = clean.get("/books", params=params)
    assert ok.status_code == 422 and "Traceback" not in ok.text
    resp = bad.get("/books", params=params)
    assert resp.status_code == 500
    assert "Traceback (most recent call last)" in resp.text and "fromisoformat" in resp.text
    assert 'File "' in resp.json()["traceback"]


def _no_rate_limit(clean: TestClient, bad: TestClient) -> None:
    assert [clean.get("/books/1").status_code for _ in range(4)][-1] == 429
    codes = [bad.get("/books/1") for _ in range(10)]
    assert all(r.status_code == 200 and "X-RateLimit-Limit" not in r.headers for r in codes)


CHECKS = {"no_health": _no_health, "no_metrics": _no_metrics, "n_plus_one": _n_plus_one,
          "slow_endpoint": _slow_endpoint, "undocumented_error": _undocumented_error,
          "missing_auth": _missing_auth, "leaky_errors": _leaky_errors, "no_rate_limit": _no_rate_limit}


def test_every_defect_has_a_test() -> None:
    assert set(CHECKS) == set(DEFECTS)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_is_real(defect: str, make_sqlite_client: ClientFactory, request: pytest.FixtureRequest) -> None:
    extra = {"RATE_LIMIT_PER_MINUTE": "3"} if defect == "no_rate_limit" else {}
    if defect == "slow_endpoint":
        request.getfixturevalue("handler_sleeps")
    clean = make_sqlite_client(**extra)
    bad = make_sqlite_client(SAMPLE_DEFECTS=defect, **extra)
    CHECKS[defect](clean, bad)


def test_leaky_errors_with_undocumented_error_leaks_the_keyerror(make_sqlite_client: ClientFactory) -> None:
    bad = make_sqlite_client(SAMPLE_DEFECTS="undocumented_error,leaky_errors")
    resp = bad.get("/books", params={"sort": "-published"})
    assert resp.status_code == 500 and "KeyError" in resp.text and "Traceback" in resp.text


def test_all_defects_together_still_serve(make_sqlite_client: ClientFactory) -> None:
    bad = make_sqlite_client(SAMPLE_DEFECTS=",".join(DEFECTS))
    assert bad.get("/books/1").status_code == 200
    assert bad.get("/livez").status_code == 404 and bad.get("/metrics").status_code == 404
