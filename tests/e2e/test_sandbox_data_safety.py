"""Never harm: the repo's tests and migrations run in the sandbox, through the real CLI.

The fixture repo (written here) does what real repositories do: a session fixture that deletes every row
of the database its settings name (DATABASE_URL, or POSTGRES_SERVER/POSTGRES_DB), and a migration that
creates and empties a table. The user's shell exports those variables pointing at a victim SQLite file
and a victim PostgreSQL database; after `audit run --checks coverage,migrations` both are unchanged. With
--db-url the tests ran on a scratch database that existed during the run and is gone after it, also
when the audit is interrupted with SIGINT mid-run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest

from tests.conftest import run_audit_cli
from tests.services import MARIADB_URL, PG_URL, require_mariadb, require_postgres

CONFTEST = '''\
import json, os, time
import pytest


def _load_dotenv():
    """The repo's .env, as python-dotenv / pydantic-settings read it: the environment wins over the file."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".env")
    if os.path.exists(path):
        for line in open(path):
            if "=" in line and not line.startswith("#"):
                key, value = line.strip().split("=", 1)
                os.environ.setdefault(key, value)


def _target():
    """The database this repo's settings would use, the way real settings modules find it."""
    _load_dotenv()
    if os.environ.get("READ_SPLIT") and os.environ.get("POSTGRES_SERVER"):
        user = os.environ.get("POSTGRES_USER", "postgres")
        return (f"postgresql://{user}@{os.environ['POSTGRES_SERVER']}:{os.environ.get('POSTGRES_PORT', '5432')}"
                f"/{os.environ['POSTGRES_DB']}")
    return os.environ.get("DATABASE_URL")


def _wipe(url):
    """DELETE every row, as a test fixture that 'cleans its database' does; the database it reached."""
    if url is None:
        return None
    if url.startswith("sqlite:///"):
        import sqlite3
        conn = sqlite3.connect(url[len("sqlite:///"):])
        conn.execute("CREATE TABLE IF NOT EXISTS victims (id integer)")
        conn.execute("DELETE FROM victims")
        conn.commit()
        return url
    scheme, rest = url.split("://", 1)
    if scheme.startswith("postgres"):
        import psycopg
        with psycopg.connect("postgresql://" + rest, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS victims (id integer)")
            conn.execute("DELETE FROM victims")
            return conn.execute("SELECT current_database()").fetchone()[0]
    if scheme.startswith("mysql"):
        import pymysql
        from urllib.parse import urlsplit
        parts = urlsplit(url)
        conn = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username,
                               password=parts.password or "", database=parts.path.lstrip("/"), autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS victims (id integer)")
            cur.execute("DELETE FROM victims")
            cur.execute("SELECT DATABASE()")
            return cur.fetchone()[0]
    raise RuntimeError(f"unknown database {scheme}")


@pytest.fixture(autouse=True, scope="session")
def clean_database():
    seen = {k: os.environ.get(k) for k in ("DATABASE_URL", "POSTGRES_SERVER", "POSTGRES_DB", "PGDATABASE",
                                           "REDIS_URL", "AWS_SECRET_ACCESS_KEY", "MYSQL_DATABASE")}
    reached = _wipe(_target())
    with open(os.environ["SPY"], "w") as handle:
        json.dump({"seen": seen, "reached": reached}, handle)
    if os.environ.get("HOLD"):
        time.sleep(60)  # the SIGINT test interrupts the audit here
    yield
'''

ENV_PY = '''\
import os
from alembic import context
from sqlalchemy import create_engine

url = os.environ.get("DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
target_metadata = None


def run():
    engine = create_engine(url)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run()
'''

MIGRATION = '''\
"""create and empty victims"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE IF NOT EXISTS victims (id integer)")
    op.execute("DELETE FROM victims")


def downgrade():
    op.execute("DROP TABLE victims")
'''


def make_repo(root: Path, spy: Path, extra_env: dict[str, str] | None = None) -> Path:
    repo = root / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "conftest.py").write_text(CONFTEST)
    (repo / "tests" / "test_app.py").write_text("from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    (repo / "migrations" / "versions").mkdir(parents=True)
    (repo / "migrations" / "env.py").write_text(ENV_PY)
    (repo / "migrations" / "script.py.mako").write_text("")
    (repo / "migrations" / "versions" / "0001_victims.py").write_text(MIGRATION)
    (repo / "alembic.ini").write_text("[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///app.db\n")
    env = {"SPY": str(spy), **(extra_env or {})}
    table = ", ".join(f'{k} = "{v}"' for k, v in env.items())
    (repo / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [tool.pytest.ini_options]
        testpaths = ["tests"]

        [tool.auditor.coverage]
        threshold = 0
        env = {{{table}}}

        [tool.auditor.migrations]
        env = {{{table}}}
        """))
    return repo


# -- victims -------------------------------------------------------------------------------------------------

def _admin(database: str = "test") -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture
def pg_victim() -> Iterator[str]:
    """A PostgreSQL database holding three rows in `victims`; its name."""
    require_postgres()
    name = f"audit_victim_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(_admin(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE victims (id integer)")
        conn.execute("INSERT INTO victims VALUES (1), (2), (3)")
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_rows(name: str) -> int:
    with psycopg.connect(_admin(name)) as conn:
        return conn.execute("SELECT count(*) FROM victims").fetchone()[0]


def pg_databases() -> set[str]:
    with psycopg.connect(PG_URL) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def sqlite_victim(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE victims (id integer)")
    conn.execute("INSERT INTO victims VALUES (1), (2), (3)")
    conn.commit()
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _victim_env(pg_victim: str, sqlite_path: Path) -> dict[str, str]:
    """What a developer who just ran the service has exported (the SQLite victim as DATABASE_URL, the
    PostgreSQL one in the split form)."""
    return {"DATABASE_URL": f"sqlite:///{sqlite_path}", "POSTGRES_SERVER": "127.0.0.1", "POSTGRES_PORT": "5432",
            "POSTGRES_USER": "postgres", "POSTGRES_DB": pg_victim, "REDIS_URL": "redis://127.0.0.1:6379/0",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"}


def _report(out: Path) -> dict:
    return {c["id"]: c for c in json.loads((out / "report.json").read_text())["checks"]}


# -- the proofs ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("read_split", [False, True], ids=["DATABASE_URL", "POSTGRES_SERVER+POSTGRES_DB"])
def test_exported_connections_never_reach_the_repos_code(tmp_path, pg_victim, read_split):
    victim_file = tmp_path / "victim.db"
    victim_hash = sqlite_victim(victim_file)
    spy = tmp_path / "spy.json"
    repo = make_repo(tmp_path, spy, {"READ_SPLIT": "1"} if read_split else None)
    out = tmp_path / "out"
    result = run_audit_cli("run", "--repo", str(repo), "--checks", "coverage,migrations", "--output-dir", str(out),
                           env=_victim_env(pg_victim, victim_file))
    assert result.returncode == 0, result.stdout + result.stderr
    # Both victims untouched, byte for byte and row for row.
    assert hashlib.sha256(victim_file.read_bytes()).hexdigest() == victim_hash
    assert pg_rows(pg_victim) == 3
    # The repo's code saw none of the exported connections (no server given: no database at all), and the
    # tests still ran.
    seen = json.loads(spy.read_text())
    assert seen == {"seen": dict.fromkeys(("DATABASE_URL", "POSTGRES_SERVER", "POSTGRES_DB", "PGDATABASE",
                                           "REDIS_URL", "AWS_SECRET_ACCESS_KEY", "MYSQL_DATABASE")),
                    "reached": None}
    checks = _report(out)
    assert checks["coverage"]["metrics"]["tests_passed"] == 1
    for check in ("coverage", "migrations"):
        withheld = checks[check]["metrics"]["sandbox"]["environment"]["withheld"]
        assert {"DATABASE_URL", "POSTGRES_SERVER", "POSTGRES_DB", "REDIS_URL", "AWS_SECRET_ACCESS_KEY"} <= set(withheld)
        method = checks[check]["metrics"]["method"]
        assert "withheld connection and credential variables" in method and "DATABASE_URL" in method
    # The migrations ran on their own SQLite scratch file (no server was given).
    assert checks["migrations"]["metrics"]["scratch"][0]["result"].startswith("upgrade ok")
    everything = (out / "report.json").read_text() + result.stdout + result.stderr
    assert "wJalrXUtnFEMIK7MDENG" not in everything and pg_victim not in everything


def test_a_local_env_file_naming_the_developers_database_never_reaches_it(tmp_path, pg_victim):
    """The developer's gitignored .env names their database; nothing is exported. The tests' settings read
    the file (the environment winning, as every settings library does): they find a host that does not
    exist, the victim keeps its rows, and the failure says why and what to give."""
    spy = tmp_path / "spy.json"
    repo = make_repo(tmp_path, spy)
    (repo / ".env").write_text(f"DATABASE_URL=postgresql://postgres@127.0.0.1:5432/{pg_victim}\n")
    out = tmp_path / "out"
    result = run_audit_cli("run", "--repo", str(repo), "--checks", "coverage", "--output-dir", str(out))
    assert pg_rows(pg_victim) == 3
    assert result.returncode == 2, result.stdout + result.stderr   # incomplete: the coverage check could not measure
    coverage = _report(out)["coverage"]
    # The run did not test the code: no figure, and no failing test blamed on the repo.
    assert coverage["status"] == "error" and "test environment broken" in coverage["summary"], coverage["summary"]
    assert [f["rule_id"] for f in coverage["findings"]] == ["COV008"]
    assert "a server its own .env file names, which the sandbox withholds" in coverage["findings"][0]["message"] and "--db-url" in coverage["findings"][0]["message"]
    assert coverage["metrics"]["sandbox"]["environment"]["local_env_decoys"] == ["DATABASE_URL (.env)"]
    assert "pointed at a host that does not exist: DATABASE_URL (.env)" in coverage["metrics"]["method"]
    text = json.dumps(coverage)
    assert "no-database-server-in-the-sandbox" in text and "--db-url" in text, text[:2000]
    assert pg_victim not in (out / "report.json").read_text()


def test_with_a_server_the_tests_and_migrations_get_a_scratch_database_dropped_after(tmp_path, pg_victim):
    victim_file = tmp_path / "victim.db"
    victim_hash = sqlite_victim(victim_file)
    spy = tmp_path / "spy.json"
    repo = make_repo(tmp_path, spy)
    out = tmp_path / "out"
    before = pg_databases()
    result = run_audit_cli("run", "--repo", str(repo), "--checks", "coverage,migrations", "--output-dir", str(out),
                           "--db-url", PG_URL, env=_victim_env(pg_victim, victim_file))
    assert result.returncode == 0, result.stdout + result.stderr
    reached = json.loads(spy.read_text())["reached"]
    assert reached.startswith("audit_scratch_")  # the tests cleaned a database made for them
    assert pg_databases() == before               # ... and it is gone
    assert pg_rows(pg_victim) == 3 and hashlib.sha256(victim_file.read_bytes()).hexdigest() == victim_hash
    checks = _report(out)
    coverage_db = checks["coverage"]["metrics"]["sandbox"]["scratch_database"]
    assert coverage_db["name"] == reached and coverage_db["engine"] == "postgresql"
    assert set(coverage_db["dropped"]) == {reached}
    migrations_db = checks["migrations"]["metrics"]["sandbox"]["scratch_database"]
    assert migrations_db["engine"] == "postgresql" and migrations_db["name"] not in before | {reached}
    assert checks["migrations"]["metrics"]["scratch"][0]["result"] == \
        "upgrade ok; models not compared: RuntimeError: env.py gives no target_metadata, so the models cannot be " \
        "compared; downgrade ok; upgrade again ok"
    assert "scratch postgresql database" in checks["coverage"]["metrics"]["method"]


def test_a_mariadb_server_works_the_same_way(tmp_path):
    require_mariadb()
    spy = tmp_path / "spy.json"
    repo = make_repo(tmp_path, spy)
    (repo / "requirements.txt").write_text("pymysql\n")
    out = tmp_path / "out"
    result = run_audit_cli("run", "--repo", str(repo), "--checks", "coverage,migrations", "--output-dir", str(out),
                           env={"AUDIT_SCRATCH_DB_URL": MARIADB_URL})
    assert result.returncode == 0, result.stdout + result.stderr
    reached = json.loads(spy.read_text())["reached"]
    assert reached.startswith("audit_scratch_")
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'audit\\_scratch\\_%%'")
        assert cur.fetchall() == ()
    checks = _report(out)
    assert checks["migrations"]["metrics"]["scratch"][0]["result"].startswith("upgrade ok")
    assert checks["migrations"]["metrics"]["sandbox"]["scratch_database"]["engine"] == "mysql"


def test_sigint_mid_run_still_drops_the_scratch_database(tmp_path, pg_victim):
    spy = tmp_path / "spy.json"
    repo = make_repo(tmp_path, spy, {"HOLD": "1"})
    out = tmp_path / "out"
    before = pg_databases()
    env = {**os.environ, "NO_COLOR": "1", **_victim_env(pg_victim, tmp_path / "victim.db")}
    env = {k: v for k, v in env.items() if not k.startswith("AUDIT_")}
    child = subprocess.Popen([sys.executable, "-m", "auditor", "run", "--repo", str(repo), "--checks", "coverage",
                              "--output-dir", str(out), "--db-url", PG_URL], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not spy.exists():  # the tests are running, inside their scratch database
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the tests never started"
            time.sleep(0.1)
        scratch = json.loads(spy.read_text())["reached"]
        assert scratch.startswith("audit_scratch_") and scratch in pg_databases()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 2, stdout + stderr
    assert pg_databases() == before
    assert pg_rows(pg_victim) == 3
    coverage = _report(out)["coverage"]
    assert coverage["status"] == "error" and "interrupted" in coverage["summary"]
