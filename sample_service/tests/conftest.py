"""Fixtures: one migrated + seeded database per backend per session (SQLite file in tmp, and a
dedicated PostgreSQL database created and dropped around the session), and TestClient factories."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import warnings

import pytest

with warnings.catch_warnings():
    # Starlette nudges towards httpx2 at import; it is not a problem of this service.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient
from sqlalchemy import make_url

from sample_service.app import create_app
from sample_service.db import make_engine, make_sessionmaker, migrate
from sample_service.seed import seed
from sample_service.settings import Settings

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"  # pragma: allowlist secret
PASSWORDS = {"admin@example.com": "admin-password", "alice@example.com": "alice-password",  # pragma: allowlist secret
             "bob@example.com": "bob-password"}


# ------------------------------------------------------------------------------------------------------
# PostgreSQL and Redis tests skip when the server cannot be connected to (any other error is a failure).
# A CI run declares the services it provides (AUDIT_CI_PROVIDES=postgres,redis,...): there such a skip
# fails, and so does any other skip, so that a green run means every test ran.
CI_PROVIDES = "AUDIT_CI_PROVIDES"
_NEEDS = re.compile(r"^(?:Skipped: )?needs (\w+): ")


def _ci_provides() -> frozenset[str] | None:
    raw = os.environ.get(CI_PROVIDES)
    return None if raw is None else frozenset(name.strip() for name in raw.split(",") if name.strip())


def unavailable(service: str, reason: str) -> NoReturn:
    provided = _ci_provides()
    if provided is not None and service in provided:
        pytest.fail(f"needs {service}: {reason} (and {CI_PROVIDES}={os.environ[CI_PROVIDES]} says CI provides it)",
                    pytrace=False)
    pytest.skip(f"needs {service}: {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    provided = _ci_provides()
    if report.skipped and not hasattr(report, "wasxfail") and provided is not None:
        longrepr = report.longrepr
        reason = (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix("Skipped: ")
        needs = _NEEDS.match(reason)
        if not (needs and needs.group(1) not in provided):
            report.outcome = "failed"
            report.longrepr = f"skipped in a CI run ({CI_PROVIDES}={os.environ[CI_PROVIDES]}): {reason}"
    return report


def make_settings(database_url: str, data_dir: Path, **env: str) -> Settings:
    base = {"DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "SECRET_KEY": TEST_SECRET,
            "BCRYPT_ROUNDS": "4", "RATE_LIMIT_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING"}
    return Settings.from_env({**base, **env})


def _prepare(url: str, data_dir: Path) -> None:
    migrate(url)
    engine = make_engine(url)
    seed(make_sessionmaker(engine), bcrypt_rounds=4)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    data_dir = tmp_path_factory.mktemp("sqlite")
    url = f"sqlite:///{data_dir / 'sample.db'}"
    _prepare(url, data_dir)
    return url


@pytest.fixture(scope="session")
def postgresql_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import psycopg

    base = make_url(os.environ.get("SAMPLE_TEST_DATABASE_URL", PG_DEFAULT))
    maintenance = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"sample_service_test_{os.getpid()}"
    try:
        admin = psycopg.connect(maintenance, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable("postgres", f"PostgreSQL unreachable at {base.render_as_string(hide_password=True)}: "
                                f"{str(exc).strip().splitlines()[0]}")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        _prepare(url, tmp_path_factory.mktemp("pg"))
        yield url
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def _clients() -> Iterator[list[TestClient]]:
    clients: list[TestClient] = []
    yield clients
    for c in clients:
        c.__exit__(None, None, None)


def _factory(url: str, tmp_path: Path, clients: list[TestClient]) -> ClientFactory:
    def make(**env: str) -> TestClient:
        app = create_app(make_settings(url, tmp_path, **env))
        client = TestClient(app)
        client.__enter__()  # runs the lifespan (engine disposed at teardown)
        clients.append(client)
        return client
    return make


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def make_client(db_url: str, tmp_path: Path, _clients: list[TestClient]) -> ClientFactory:
    """Clients on both backends (tests using it run once per backend)."""
    return _factory(db_url, tmp_path, _clients)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def make_sqlite_client(sqlite_url: str, tmp_path: Path, _clients: list[TestClient]) -> ClientFactory:
    """Clients on SQLite only (defect and plumbing tests, where the backend does not matter)."""
    return _factory(sqlite_url, tmp_path, _clients)


def login(client: TestClient, email: str) -> dict[str, str]:
    resp = client.post("/auth/token", data={"username": email, "password": PASSWORDS[email]})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin@example.com")


@pytest.fixture
def alice(client: TestClient) -> dict[str, str]:
    return login(client, "alice@example.com")


@pytest.fixture
def bob(client: TestClient) -> dict[str, str]:
    return login(client, "bob@example.com")


_isbn_counter = [0]


def fresh_isbn() -> str:
    """A valid-format ISBN no seed book and no earlier test uses."""
    import uuid

    _isbn_counter[0] += 1
    return "979" + f"{uuid.uuid4().int % 10**7:07d}{_isbn_counter[0] % 1000:03d}"


def book_body(**over: Any) -> dict[str, Any]:
    return {"title": "Test Book", "isbn": fresh_isbn(), "author_id": 1, "published": "2001-02-03",
            "price_cents": 1000, **over}
