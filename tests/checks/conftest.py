"""Fixtures for the health check's tests: a real HTTP server per test and an AuditContext on it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from auditor.artifacts import Artifacts
from auditor.http import HttpClient
from auditor.interface import AuditContext, Target
from auditor.model import Outcome
from checks.health import HealthCheck, HealthConfig
from tests.stub_server import StubServer

HEALTH_JSON = "application/health+json"
TEXT_PLAIN = "text/plain; version=0.0.4; charset=utf-8"


def health(status: str = "pass", code: int = 200, content_type: str = HEALTH_JSON) -> tuple:
    return code, {"Content-Type": content_type}, json.dumps({"status": status})


def red_registry() -> CollectorRegistry:
    """A registry with the RED metrics a well-instrumented service has."""
    registry = CollectorRegistry()
    requests = Counter("http_requests", "HTTP requests by route and status", ["method", "route", "status"],
                       registry=registry)
    duration = Histogram("http_request_duration_seconds", "HTTP request duration", ["method", "route"],
                         registry=registry)
    for status in ("200", "404", "500"):
        requests.labels("GET", "/books/{id}", status).inc(3)
    for seconds in (0.004, 0.02, 0.3, 1.2):
        duration.labels("GET", "/books/{id}").observe(seconds)
    return registry


def metrics_route(text: str | bytes, content_type: str = TEXT_PLAIN) -> tuple:
    return 200, {"Content-Type": content_type}, text


def good_routes() -> dict:
    return {
        "/livez": health("pass"),
        "/readyz": health("pass"),
        "/metrics": metrics_route(generate_latest(red_registry())),
    }


def quick_stub(**kwargs: object) -> StubServer:
    return StubServer(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[StubServer]:
    with quick_stub() as stub:
        yield stub


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[Callable[..., Outcome]]:
    """audit(server, spec=None, repo=None, **config) → the check's Outcome against the server."""
    clients: list[HttpClient] = []

    def run(stub: StubServer, *, spec: str | None = None, repo: Path | None = None, **config: object) -> Outcome:
        http = HttpClient(stub.url, read_only=True)
        clients.append(http)
        ctx = AuditContext(target=Target(url=stub.url, repo=repo), http=http, artifacts=Artifacts(http, spec=spec),
                           config=HealthConfig(**config), tmp_dir=tmp_path, deadline=time.monotonic() + 30,
                           read_only=True)
        return HealthCheck().run(ctx)

    yield run
    for client in clients:
        client.close()


def rules(outcome: Outcome) -> set[str]:
    return {f.rule_id for f in outcome.findings}


def by_rule(outcome: Outcome, rule_id: str) -> list:
    return [f for f in outcome.findings if f.rule_id == rule_id]
