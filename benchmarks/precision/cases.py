"""The labelled cases of the precision harness (run.py): each writes its fixture into a work dir (or starts
its service), yields the audit's arguments, and labels the findings it must (TRUE) or must never (FALSE)
produce. Fixtures are the tests' own, imported: only what a case adds is written here."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.checks.deployment_helpers import copy_repo, git_commit_all
from tests.checks.migrations_helpers import MODELS_HEAD, NICKNAME, make_alembic_repo
from tests.checks.nplusone_helpers import REPO_ROOT, pg_database, url_for
from tests.checks.openapi_helpers import HEADERS, JSON, items_server, minimal_spec
from tests.checks.security_helpers import AWS_KEY
from tests.checks.test_deployment_runtime import SERVER as TINY_SERVER
from tests.checks.test_migrations_check import (
    DJANGO_0001,
    DJANGO_0002,
    DJANGO_SAFE_NOT_NULL,
)
from tests.checks.test_security_context import FILES as CONTEXT_FILES
from tests.e2e.nplusone_apps import command, seed, write_app
from tests.e2e.test_redaction import LeakyService


class Unavailable(Exception):
    """A service the case needs (PostgreSQL) cannot be reached: the case is skipped, with the reason."""


@dataclass(frozen=True)
class Label:
    check: str
    rule: str               # a rule id, or a|b when the core's merge may keep either finding of one defect
    where: str              # a substring of the finding's location (JSON) or message
    true: bool = True
    severity: str | None = None   # a TRUE label holds only at this severity (a fixture password: low)
    says: str = ""          # and a substring its message must hold (the sentence true to the case)
    also: str = ""          # a TRUE label: a rule (a|b) its also_seen_by must name — one defect, one finding


@dataclass
class Case:
    name: str
    start: Callable[[Path], contextmanager]
    labels: list[Label] = field(default_factory=list)
    # what the report shows beyond its findings: (consistent, a measured sentence) — that a FALSE label
    # was put to the test (the pings were captured, and left out), or that two parts of the report agree
    proof: Callable[[dict], tuple[bool, str]] | None = None


def _check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


def _ci_row(report: dict) -> tuple[bool, str]:
    row = next(r for r in _check(report, "deployment")["metrics"]["checklist"] if r["item"] == "CI configuration")
    return row["status"] == "pass", f"checklist 'CI configuration': {row['status']} ({row['detail']})"


def _left_out(report: dict) -> tuple[bool, str]:
    left = {row["path"]: row["queries"] - row["data_queries"] for row in _check(report, "nplusone")["metrics"]["endpoints"]}
    return all(left.values()), (f"{sum(left.values())} pings and transaction statements captured and left out "
                                f"({', '.join(f'{path} {n}' for path, n in left.items())})")


def _shutdown_agrees(report: dict) -> tuple[bool, str]:
    """The report's service block and DPL030 tell one story (issue 16: graceful_shutdown true beside a
    DPL030 that said every in-flight request was dropped)."""
    service = report.get("service") or {}
    dropped = [f for f in _check(report, "deployment")["findings"] if f["rule_id"] == "DPL030"]
    graceful = service.get("graceful_shutdown")
    return graceful is (not dropped), (f"service block: graceful_shutdown {graceful}, in flight dropped "
                                       f"{service.get('in_flight_dropped')}; DPL030 {'reported' if dropped else 'absent'}")


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# ---- repositories ---------------------------------------------------------------------------------------

@contextmanager
def _context_repo(work: Path) -> Iterator[list[str]]:
    repo = _write(work / "repo", {
        **CONTEXT_FILES,
        ".env": "SECRET_KEY=Zq8vN3pL6wR1tY9kQ2\nDEBUG=0\n",  # pragma: allowlist secret
        "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n    environment:\n"
                              "      POSTGRES_PASSWORD: postgres\n",
        # the test suite's own env file (Laravel's convention), placeholders only
        ".env.testing": "APP_ENV=testing\nDB_PASSWORD=secret\n",
        # random where it guards something: B311 stays, next to the seed scripts where it does not
        "app/tokens.py": "import random\n\n\ndef reset_code():\n    return random.randint(100000, 999999)\n"})
    git_commit_all(repo)
    yield ["--repo", str(repo), "--checks", "security"]


@contextmanager
def _deploy_repo(work: Path) -> Iterator[list[str]]:
    """The deployment tests' complete repo, its CI moved to Gitea, plus a committed .env and an AWS key."""
    repo = copy_repo("good", work)
    shutil.rmtree(repo / ".github")
    _write(repo, {".gitea/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
                                             "    steps:\n      - run: python -m pytest\n",
                  ".env": "SECRET_KEY=Zq8vN3pL6wR1tY9kQ2\nDEBUG=0\n",  # pragma: allowlist secret
                  "app/storage.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'})
    git_commit_all(repo)
    yield ["--repo", str(repo), "--checks", "security,deployment"]


@contextmanager
def _woodpecker_repo(work: Path) -> Iterator[list[str]]:
    repo = copy_repo("good", work)
    shutil.rmtree(repo / ".github")
    _write(repo, {".woodpecker.yml": "steps:\n  test:\n    image: python:3.12\n    commands: [python -m pytest]\n"})
    git_commit_all(repo)
    yield ["--repo", str(repo), "--checks", "deployment"]


# Alembic with hex revision ids (the tests' app and its first two revisions, re-numbered as Alembic numbers
# them), then a NOT NULL column without a server default.
ALEMBIC_REVISIONS = [
    ("3f2a9c81be41", None, "Create users",
     ('    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),\n'
      '                    sa.Column("email", sa.String(100), nullable=False))\n'), '    op.drop_table("users")\n'),
    ("9b1e7d30c2a2", "3f2a9c81be41", "Add nickname",
     '    op.add_column("users", sa.Column("nickname", sa.String(50), nullable=True))\n',
     '    with op.batch_alter_table("users") as batch_op:\n        batch_op.drop_column("nickname")\n'),
    ("c4d5e6f7a8b3", "9b1e7d30c2a2", "Add age",
     '    op.add_column("users", sa.Column("age", sa.Integer(), nullable=False))\n',
     '    with op.batch_alter_table("users") as batch_op:\n        batch_op.drop_column("age")\n'),
]


@contextmanager
def _alembic_repo(work: Path) -> Iterator[list[str]]:
    repo = make_alembic_repo(work / "repo", ALEMBIC_REVISIONS,
                             models=MODELS_HEAD + NICKNAME + "    age = sa.Column(sa.Integer, nullable=False)\n")
    git_commit_all(repo)
    yield ["--repo", str(repo), "--checks", "migrations,security"]


@contextmanager
def _django_repo(work: Path) -> Iterator[list[str]]:
    """The migrations tests' Django app: 0002 drops a column, adds an IntegerField without a default and a
    RunPython without reverse; 0003 the AddFields of commit 18300a8 that cannot fail, and one that can."""
    repo = _write(work / "repo", {f"shop/migrations/{name}": text for name, text in {
        "__init__.py": "", "0001_initial.py": DJANGO_0001, "0002_changes.py": DJANGO_0002,
        "0003_fields.py": DJANGO_SAFE_NOT_NULL}.items()})
    git_commit_all(repo)
    yield ["--repo", str(repo), "--checks", "migrations,security"]


@contextmanager
def _dies_on_sigterm(work: Path) -> Iterator[list[str]]:
    """The deployment tests' tiny server in its "die" mode (Python's default SIGTERM action: a request in
    flight is dropped), plain-text logs, --serve'd beside the tests' complete deployment repo."""
    repo = copy_repo("good", work)
    git_commit_all(repo)
    (work / "tiny_server.py").write_text(TINY_SERVER)
    yield ["--serve", f"{sys.executable} {work / 'tiny_server.py'} {{port}} die 0.5", "--repo", str(repo),
           "--checks", "deployment"]


# ---- services -------------------------------------------------------------------------------------------

@contextmanager
def _leaky_service(work: Path) -> Iterator[list[str]]:
    service = LeakyService()
    with service.stub:
        yield ["--url", service.stub.url, "--header", f"Authorization: Bearer {service.header_token}",
               "--checks", "security", "--load-duration", "1"]


def _get(op_id: str, summary: str, schema: dict, **extra) -> dict:
    """A GET documented as completely as minimal_spec()'s own: only what the case varies differs."""
    base = minimal_spec()["paths"]["/items/{item_id}"]["get"]["responses"]
    return {"tags": ["items"], "summary": summary, "description": summary + ".", "operationId": op_id,
            "responses": {"200": {"description": summary, "headers": HEADERS,
                                  "content": {"application/json": {"schema": schema}}},
                          "429": base["429"], **({"401": base["401"]} if "security" in extra else {})}, **extra}


@contextmanager
def _openapi_service(work: Path) -> Iterator[list[str]]:
    """The openapi tests' items server (its secured item takes any bearer token) and document, plus: an
    operation that answers 500, one whose schema is {}, a 401 documented without a schema, optional
    authentication, and a secured operation that answers 500 to a bad token."""
    document = minimal_spec()
    paths = document["paths"]
    del paths["/items/{item_id}"]["get"]["responses"]["401"]["content"]
    item = {"$ref": "#/components/schemas/Item"}
    paths["/boom"] = {"get": _get("boom", "Explode", item)}
    paths["/anything"] = {"get": _get("anything", "Any JSON", {})}
    paths["/me"] = {"get": _get("me", "Who am I", item, security=[{"bearer": []}])}
    paths["/orders"] = {"get": _get("orders", "My orders", item, security=[{"bearer": []}])}
    server = items_server(document)
    limits = {**JSON, "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99"}
    server.routes["/api/boom"] = (500, {"Content-Type": "text/plain"}, "Internal Server Error")
    server.routes["/api/anything"] = (200, limits, json.dumps({"any": [1, "two"]}))

    def me(handler):   # optional authentication: personalised for a known caller, a guest's answer otherwise
        known = handler.headers.get("Authorization") == "Bearer t0ken"
        return 200, limits, json.dumps({"id": 7 if known else 1, "name": "alice" if known else "guest"})

    def orders(handler):   # no token: 401; a bad one: the token parser crashes
        token = handler.headers.get("Authorization")
        if token is None:
            return 401, JSON, json.dumps({"code": "unauthorized"})
        if token != "Bearer t0ken":
            return 500, {"Content-Type": "text/plain"}, "Internal Server Error"
        return 200, limits, json.dumps({"id": 1, "name": "order"})

    server.routes["/api/me"], server.routes["/api/orders"] = me, orders
    with server:
        yield ["--url", server.url, "--header", "Authorization: Bearer t0ken", "--checks", "openapi"]


@contextmanager
def _invalid_spec(work: Path) -> Iterator[list[str]]:
    """The openapi tests' complete document with one node of the wrong type, as a file (no service)."""
    document = minimal_spec()
    document["paths"]["/items"]["get"]["tags"] = {}
    spec = _write(work / "repo", {"openapi.json": json.dumps(document, indent=2)}) / "openapi.json"
    yield ["--repo", str(spec.parent), "--spec", str(spec), "--checks", "openapi"]


@contextmanager
def _n_plus_one(work: Path) -> Iterator[list[str]]:
    """The e2e Flask app (authors with lazily loaded books, and a selectinload twin), with 15 authors."""
    app = write_app("flask", work)
    db = work / "shop.sqlite"
    seed(db)
    with sqlite3.connect(db) as conn:
        first = conn.execute("SELECT max(id) FROM authors").fetchone()[0] + 1
        conn.executemany("INSERT INTO authors VALUES (?, ?)", [(a, f"author {a}") for a in range(first, 16)])
    yield ["--serve", command("flask", sys.executable, db), "--repo", str(app), "--checks", "nplusone"]


@contextmanager
def _n_plus_one_postgres(work: Path) -> Iterator[list[str]]:
    """The nplusone tests' service on PostgreSQL with pool_pre_ping and two sessions per request, read from
    the server's own log: every ping and BEGIN/COMMIT/ROLLBACK the service sends is captured."""
    try:
        import psycopg

        from tests.services import PG_URL
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:
        raise Unavailable(f"PostgreSQL at {PG_URL}: {exc}") from exc
    config = work / "auditor.toml"
    config.write_text('[tool.auditor.nplusone]\nsource = "postgres"\n')
    with pg_database("npq_precision") as database:
        serve = (f"PYTHONPATH={REPO_ROOT} {sys.executable} -m tests.checks.nplusone_helpers --port {{port}} "
                 f"--books 30 --db-url {url_for(database, driver='psycopg')}")
        yield ["--serve", serve, "--db-url", url_for(database), "--config", str(config), "--checks", "nplusone"]


# ---- the cases ------------------------------------------------------------------------------------------

CASES = [
    Case("repo: fixtures, docs, CI, migrations, lock file, seed scripts next to real secrets", _context_repo, [
        Label("security", "SEC010", "app/settings.py", severity="high"),
        Label("security", "SEC001", "app/run.py", severity="high", says="B602"),
        Label("security", "SEC001", "app/run.py", severity="info", says="B404"),   # import advice: info
        Label("security", "SEC001", "app/tokens.py", severity="low", says="B311"),
        Label("security", "SEC012", ".env", severity="high"),
        Label("security", "SEC010", "tests/conftest.py", severity="low"),
        Label("security", "SEC010", "tests/test_login.py", severity="low"),
        Label("security", "SEC013", "tests/fixtures/aws.py", severity="medium"),
        Label("security", "SEC010", "docker-compose.yml", severity="low"),
        # never again (the real-service triage's false positives)
        Label("security", "SEC014", "migrations/versions", true=False),
        Label("security", "SEC014", "package-lock.json", true=False),
        Label("security", "SEC014", "app/fixtures/content.json", true=False),
        Label("security", "SEC010", ".github/workflows", true=False),
        Label("security", "SEC012", "frontend/.env.production", true=False),
        Label("security", "SEC010", "README.md", severity="info"),   # a docs placeholder: info, never more
        Label("security", "SEC010|SEC012|SEC014", ".env.example", true=False),
        Label("security", "SEC010|SEC012|SEC014", ".env.testing", true=False),
        Label("security", "SEC001", "scripts/seed_data.py", true=False),
        Label("security", "SEC001", "create_random_data", true=False),
        Label("security", "SEC001", "tests/", true=False),       # B101: asserts in tests
        Label("security", "SEC001", "app/tests.py", true=False),
    ]),
    Case("repo: deployment + security, a committed .env, an AWS key, CI on Gitea", _deploy_repo, [
        Label("security", "SEC012|DPL020", ".env", severity="high", also="DPL020|SEC012"),
        Label("security", "SEC013", "app/storage.py", severity="critical"),
        Label("security", "SEC010", "app/storage.py", true=False),
        Label("security", "SEC014", "app/storage.py", true=False),
        Label("deployment", "DPL041", "", true=False),
    ], proof=_ci_row),
    Case("repo: deployment, CI on Woodpecker", _woodpecker_repo, [
        Label("deployment", "DPL041", "", true=False),
    ], proof=_ci_row),
    Case("service + repo: deployment, a server that dies on SIGTERM", _dies_on_sigterm, [
        Label("deployment", "DPL030", "GET /", severity="high", says="in flight when SIGTERM was sent got no complete answer"),
        Label("deployment", "DPL033", "", severity="medium", says="JSON"),
    ], proof=_shutdown_agrees),
    Case("repo: Alembic, hex revision ids, a NOT NULL column without default", _alembic_repo, [
        Label("migrations", "MIG002", "c4d5e6f7a8b3", severity="high", says="users.age"),
        Label("security", "SEC014", "migrations/versions", true=False),
        Label("security", "SEC010", "migrations/versions", true=False),
    ]),
    Case("repo: Django, AddFields that cannot fail next to ones that can", _django_repo, [
        Label("migrations", "MIG001", "0002_changes", severity="high", says="order.note"),
        Label("migrations", "MIG002", "0002_changes", severity="high", says="order.total"),
        Label("migrations", "MIG003", "0002_changes", severity="medium", says="RunPython"),
        Label("migrations", "MIG002", "0003_fields", severity="high", says="order.rank"),
        Label("migrations", "MIG002", "formfield.page", true=False),   # on a model the migration creates
        Label("migrations", "MIG002", "order.tags", true=False),       # many-to-many: no column
        Label("migrations", "MIG002", "order.mastodon_url", true=False),   # blank=True string: ''
        Label("security", "SEC014", "migrations", true=False),
    ]),
    Case("service: credentials in answers, cache headers, banner", _leaky_service, [
        Label("security", "SEC025", "GET /users", severity="high"),
        Label("security", "SEC042", "GET /me", severity="medium"),
        Label("security", "SEC040", "BaseHTTP"),
        Label("security", "SEC041", "of"),
        Label("security", "SEC052", "rate-limit"),
        Label("security", "SEC020", "GET /me", true=False),
    ]),
    Case("service: OpenAPI, a 500, an empty schema, optional and crashing authentication", _openapi_service, [
        Label("openapi", "OAS101", "GET /boom", severity="high", says="OAS103"),
        Label("openapi", "OAS103", "GET /boom", true=False),
        Label("openapi", "OAS029", "GET /items/{item_id}", severity="medium", says="401 has no content"),
        Label("openapi", "OAS029", "GET /anything", severity="medium", says="empty schema"),
        Label("openapi", "OAS029", "GET /anything", true=False),      # "no content"/"no schema" for {}
        Label("openapi", "OAS040", "GET /me", severity="low"),
        Label("openapi", "OAS401", "GET /me", true=False),
        Label("openapi", "OAS401", "GET /items/{item_id}", severity="high"),   # takes any bearer token
        Label("openapi", "OAS101", "GET /orders", severity="high", says="credentials"),
        Label("openapi", "OAS401", "GET /orders", true=False),
    ]),
    Case("spec file: one node of the wrong type", _invalid_spec, [
        # where: the JSON pointer and the file's line, never a bare "{} is not of type 'array'"
        Label("openapi", "OAS001", '"line": 29', severity="high", says="(at #/paths/~1items/get/tags)"),
        Label("openapi", "OAS024", "GET /items", severity="low", says="has no tag"),   # {} holds none
    ]),
    Case("service: Flask + SQLAlchemy, 15 authors with lazily loaded books, and a joined twin", _n_plus_one, [
        Label("nplusone", "NPQ001", "GET /authors\"", severity="medium", says="15 times"),
        Label("nplusone", "NPQ001", "GET /authors-clean", true=False),
        Label("nplusone", "NPQ004", "GET /authors", true=False),
        Label("nplusone", "NPQ003", "GET /authors", true=False),
    ]),
    Case("service: SQLAlchemy on PostgreSQL, pool_pre_ping, two sessions per request", _n_plus_one_postgres, [
        Label("nplusone", "NPQ001", "GET /lazy", severity="high", says="20 times"),
        Label("nplusone", "NPQ001", "GET /group", severity="high", says="20 times"),
        Label("nplusone", "NPQ003", "GET /dupes", severity="low"),
        Label("nplusone", "NPQ001", "GET /eager", true=False),
        Label("nplusone", "NPQ001", "GET /walk", true=False),
        Label("nplusone", "NPQ003", "", true=False),   # any other duplicate: a ping or BEGIN/COMMIT counted
        Label("nplusone", "NPQ004", "GET /group", true=False),   # its statements are NPQ001s of their own
        Label("nplusone", "NPQ002", "GET /group", true=False),
    ], proof=_left_out),
]
