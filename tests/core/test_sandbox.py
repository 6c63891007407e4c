"""The sandbox's parts on their own: the allow-listed environment, the URL form, scratch databases on the
real local PostgreSQL and MariaDB servers (created, found, dropped with their test_ copies), and the one
line a server that refuses gives."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pymysql
import pytest

from auditor.sandbox import Sandbox, SandboxError, SandboxOptions, ScratchRegistry, environment
from auditor.sandbox.scratchdb.interface import ScratchError, ServerAddress, server_for
from auditor.sandbox.failure import no_server_hint, root_cause
from auditor.sandbox.urlform import detect_scheme
from tests.services import MARIADB_URL, PG_URL, require_mariadb, require_postgres

SHELL = {
    "PATH": "/usr/local/bin:/usr/bin", "HOME": "/home/dev", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm",
    "DATABASE_URL": "postgresql://app:pw@prod-db:5432/app", "POSTGRES_SERVER": "prod-db", "POSTGRES_DB": "app",
    "PGPASSWORD": "pw", "REDIS_URL": "redis://cache:6379/0", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
    "APP_STORE": "mongodb://store:27017", "AUDIT_DB_URL": "postgresql://x:y@z/db", "EDITOR": "vim",
    "PYTHONPATH": "/home/dev/other", "VIRTUAL_ENV": "/home/dev/auditor-venv",
}


def _build(tmp_path: Path, **kwargs) -> environment.ChildEnvironment:
    options = {"environ": SHELL, "configured": {}, "scratch": {}, "inherit": False, "python": Path(sys.executable),
               "tmp_dir": tmp_path / "tmp", **kwargs}
    return environment.build(**options)


def test_the_child_gets_the_allow_list_and_nothing_that_names_a_connection(tmp_path):
    child = _build(tmp_path)
    env = child.env
    for kept in ("HOME", "LANG", "LC_ALL", "TERM"):
        assert env[kept] == SHELL[kept]
    for withheld in ("DATABASE_URL", "POSTGRES_SERVER", "POSTGRES_DB", "PGPASSWORD", "REDIS_URL",
                     "AWS_SECRET_ACCESS_KEY", "APP_STORE", "AUDIT_DB_URL", "EDITOR", "PYTHONPATH"):
        assert withheld not in env
    # Named in the report (connection-like by name or by a value with a scheme and a host), never valued.
    assert child.withheld == sorted(["APP_STORE", "AUDIT_DB_URL", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL",
                                     "PGPASSWORD", "POSTGRES_DB", "POSTGRES_SERVER", "REDIS_URL"])
    assert child.withheld_other == 3  # EDITOR, PYTHONPATH, VIRTUAL_ENV
    described = str(child.describe()) + child.sentence()
    assert "prod-db" not in described and "pw@" not in described and "DATABASE_URL" in described
    # The interpreter's directory first on PATH; no venv marker of the auditor's own venv; temp files
    # in the sandbox; credential files of HOME pointed at nothing.
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert env.get("VIRTUAL_ENV") != "/home/dev/auditor-venv"
    assert env["TMPDIR"] == str(tmp_path / "tmp")
    assert not Path(env["PGPASSFILE"]).exists()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_configured_values_win_and_scratch_exports_pass(tmp_path):
    child = _build(tmp_path, configured={"DATABASE_URL": "sqlite:///mine.db", "APP_MODE": "test"},
                   scratch={"DATABASE_URL": "postgresql://u@h/audit_scratch_x", "PGDATABASE": "audit_scratch_x"})
    assert child.env["DATABASE_URL"] == "sqlite:///mine.db"  # the user's explicit setting
    assert child.env["PGDATABASE"] == "audit_scratch_x" and child.env["APP_MODE"] == "test"
    assert child.configured == ["APP_MODE", "DATABASE_URL"] and child.scratch == ["DATABASE_URL", "PGDATABASE"]


def test_the_local_servers_default_socket_is_out_of_reach_without_a_scratch_server(tmp_path):
    """A client given no host (Django's HOST = '', postgresql:///app) reaches the developer's local server
    through its default socket: the child's libpq finds no server there, and the cause names the way out."""
    require_postgres()
    connect = [sys.executable, "-c", "import psycopg; psycopg.connect('dbname=test user=postgres connect_timeout=5')"]
    plain = subprocess.run(connect, capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    child = _build(tmp_path)
    sandboxed = subprocess.run(connect, capture_output=True, text=True, timeout=60, env=child.env)
    # Outside the sandbox the same line reaches the local server (the danger), where it listens there.
    assert plain.returncode == 0 or "No such file" in plain.stderr, plain.stderr
    assert sandboxed.returncode != 0 and environment.NO_SERVER_DIR in sandboxed.stderr, sandboxed.stderr
    hint = no_server_hint(root_cause(sandboxed.stderr))
    assert hint is not None and "--db-url" in hint and "default socket" in hint
    # A scratch server's exports replace the decoy.
    scratch = _build(tmp_path, scratch={"PGHOST": "127.0.0.1", "PGDATABASE": "audit_scratch_x"})
    assert scratch.env["PGHOST"] == "127.0.0.1"


def test_inherit_env_is_the_explicit_opt_out_but_never_hands_over_audit_settings(tmp_path):
    child = _build(tmp_path, inherit=True, scratch={"DATABASE_URL": "postgresql://u@h/audit_scratch_x"})
    assert child.env["POSTGRES_SERVER"] == "prod-db" and child.env["REDIS_URL"] == SHELL["REDIS_URL"]
    assert child.env["DATABASE_URL"] == "postgresql://u@h/audit_scratch_x"  # the scratch database overrides
    assert "AUDIT_DB_URL" not in child.env and child.withheld == ["AUDIT_DB_URL"]
    assert "whole environment" in child.sentence()


def test_env_keys_that_are_not_variable_names_are_refused():
    with pytest.raises(ValueError, match="'BAD-NAME' is not a valid environment variable name"):
        SandboxOptions(env={"BAD-NAME": "x"})
    with pytest.raises(ValueError):
        SandboxOptions(env={"1ST": "x"})
    assert SandboxOptions(env={"_OK_1": "x"}).env == {"_OK_1": "x"}


@pytest.mark.parametrize(("files", "environ", "expected"), [
    ({}, {"DATABASE_URL": "postgresql+asyncpg://app:pw@db/app"}, "postgresql+asyncpg"),
    ({".env.example": "DATABASE_URL=postgresql+psycopg://user:pass@localhost/app\n",
      "alembic.ini": "sqlalchemy.url = postgresql://localhost/app\n"}, {}, "postgresql+psycopg"),
    ({"settings.py": "DEFAULT = 'postgres://localhost/app'\n"}, {}, "postgres"),
    ({"requirements.txt": "fastapi\nasyncpg==0.29\n"}, {}, "postgresql+asyncpg"),
    ({"pyproject.toml": '[project]\ndependencies = ["psycopg2-binary"]\n'}, {}, "postgresql"),
    ({}, {"DATABASE_URL": "mysql+pymysql://x@y/z"}, "postgresql"),  # another engine's scheme is no evidence
])
def test_the_scratch_url_takes_the_form_the_repo_uses(tmp_path, files, environ, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    scheme, why = detect_scheme(tmp_path, "postgresql", environ)
    assert scheme == expected, why


def test_mysql_form_from_the_repo(tmp_path):
    (tmp_path / "config.py").write_text("URL = 'mysql+aiomysql://root@localhost/app'\n")
    assert detect_scheme(tmp_path, "mysql", {})[0] == "mysql+aiomysql"
    assert detect_scheme(tmp_path / "none", "mysql", {})[0] == "mysql+pymysql"


def test_server_urls_keep_the_driver_and_quote_the_password():
    address = ServerAddress.parse("postgresql+psycopg://us%40er:p%40ss:w@127.0.0.1:5433/postgres")
    assert (address.user, address.password, address.port, address.database) == ("us@er", "p@ss:w", 5433, "postgres")
    assert address.url("postgresql+asyncpg", "audit_scratch_1") == \
        "postgresql+asyncpg://us%40er:p%40ss%3Aw@127.0.0.1:5433/audit_scratch_1"


def test_an_unsupported_engine_is_one_line():
    with pytest.raises(ScratchError, match="PostgreSQL or MariaDB/MySQL servers, not 'sqlite'"):
        server_for("sqlite:///x.db")


# -- real servers ------------------------------------------------------------------------------------------

def _pg_databases() -> set[str]:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def _maria_databases() -> set[str]:
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES")
        return {row[0] for row in cur.fetchall()}


def test_postgres_scratch_database_is_created_and_dropped_with_its_test_copies():
    require_postgres()
    before = _pg_databases()
    registry = ScratchRegistry()
    server = server_for(PG_URL)
    database = registry.create(server, "postgresql+psycopg", "test")
    assert database.name.startswith("audit_scratch_") and database.name in _pg_databases()
    # What a Django or pytest-django run creates from it, with a session left open (a killed test run).
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "test_{database.name}"')
    leftover = psycopg.connect(database.url.replace("+psycopg", ""), autocommit=True)
    try:
        exports = server.exports(database.name, database.scheme)
        assert exports["DATABASE_URL"].startswith("postgresql+psycopg://postgres@127.0.0.1:5432/audit_scratch_")
        assert exports["PGDATABASE"] == exports["POSTGRES_DB"] == exports["DB_NAME"] == database.name
        assert exports["POSTGRES_SERVER"] == exports["PGHOST"] == "127.0.0.1"
        assert registry.close() == []
    finally:
        leftover.close()
    assert set(database.dropped or []) == {database.name, f"test_{database.name}"}
    assert _pg_databases() == before
    assert registry.live == []


def test_mariadb_scratch_database_is_created_and_dropped():
    require_mariadb()
    before = _maria_databases()
    registry = ScratchRegistry()
    server = server_for(MARIADB_URL)
    database = registry.create(server, "mysql+pymysql", "test")
    assert database.name in _maria_databases()
    exports = server.exports(database.name, database.scheme)
    assert exports["DATABASE_URL"] == f"mysql+pymysql://root@127.0.0.1:3306/{database.name}"
    assert exports["MYSQL_DATABASE"] == exports["MARIADB_DATABASE"] == database.name
    registry.drop(database)
    assert _maria_databases() == before


def test_a_role_without_createdb_is_one_line_and_changes_nothing():
    require_postgres()
    role = f"audit_nocreatedb_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB")
    try:
        before = _pg_databases()
        url = PG_URL.replace("postgres@", f"{role}@")
        with pytest.raises(ScratchError) as caught:
            ScratchRegistry().create(server_for(url), "postgresql", "test")
        message = str(caught.value)
        assert "CREATEDB privilege missing" in message and role in message and "\n" not in message
        assert _pg_databases() == before
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


def test_a_server_that_is_down_is_one_line_naming_it(tmp_path):
    sandbox = Sandbox(repo=tmp_path, tmp_dir=tmp_path / "sb", python=None,
                      server_url="postgresql://postgres@127.0.0.1:9/postgres", options=SandboxOptions(),
                      registry=ScratchRegistry(), should_stop=lambda: False)
    with pytest.raises(SandboxError, match=r"cannot connect to the PostgreSQL server at 127\.0\.0\.1:9"):
        sandbox.run([sys.executable, "-c", "pass"], cwd=tmp_path, timeout_s=10, log_name="x.log")


def test_a_missing_python_is_one_line(tmp_path):
    with pytest.raises(SandboxError, match=r"--python \S*nowhere/python: no such file"):
        Sandbox(repo=tmp_path, tmp_dir=tmp_path / "sb", python="nowhere/python", server_url=None,
                options=SandboxOptions(), registry=ScratchRegistry(), should_stop=lambda: False)


def test_the_url_form_is_read_up_to_the_git_root_and_knows_tortoise(tmp_path):
    import subprocess

    mono = tmp_path / "mono"
    (mono / "backend").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=mono, check=True)
    (mono / "docker-compose.yml").write_text("services:\n  web:\n    environment:\n"
                                             "      - DATABASE_URL=postgres://postgres:postgres@db:5432/dev\n")
    backend = mono / "backend"
    (backend / "requirements.txt").write_text("asyncpg==0.29\n")
    assert detect_scheme(backend, "postgresql", {}) == ("postgres", "the form written in the repo's config")
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "requirements.txt").write_text("tortoise-orm==0.20\nasyncpg==0.29\n")
    assert detect_scheme(alone, "postgresql", {}) == ("postgres", "the repo depends on tortoise-orm")


def test_the_repos_own_env_files_cannot_point_the_code_at_a_server(tmp_path):
    """A local .env (gitignored, the developer's) names their database the way settings libraries read it
    when the variable is not exported: each connection setting gets a host that does not exist; ports,
    names, SQLite files and secrets of no server pass as they are (harmless without a host)."""
    mono = tmp_path / "mono"
    repo = mono / "backend"
    repo.mkdir(parents=True)
    (mono / ".git").mkdir()
    (repo / ".env").write_text(
        "DATABASE__HOSTNAME=db.internal\nDATABASE__PORT=5455\nDATABASE__DB=app\n"
        "DATABASE_URL=postgresql+asyncpg://app:s3cret@db.internal:5432/app\nCACHE=sqlite:///cache.db\n"
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\nJWT_SECRET=abc\n")
    (repo / ".env.example").write_text("SMTP_HOST=mail.example.com\n")            # a template: not read as settings
    (mono / ".env").write_text("REDIS_URL=redis://cache.internal:6379/0\nDATABASE__HOSTNAME=root-db\n")
    sandbox = Sandbox(repo=repo, tmp_dir=tmp_path / "sb", python=None, server_url=None, options=SandboxOptions(),
                      registry=ScratchRegistry(), should_stop=lambda: False, environ={"PATH": "/usr/bin"})
    child = sandbox.environment()
    env = child.env
    nowhere = "no-database-server-in-the-sandbox.invalid"
    assert env["DATABASE__HOSTNAME"] == nowhere                                  # the nearest file's, made inert
    assert env["DATABASE_URL"] == f"postgresql+asyncpg://{nowhere}/app"
    assert env["REDIS_URL"] == f"redis://{nowhere}/0"                             # from the git root's .env
    assert env["AWS_SECRET_ACCESS_KEY"] == "withheld-by-the-auditor"
    for untouched in ("DATABASE__PORT", "DATABASE__DB", "CACHE", "JWT_SECRET", "SMTP_HOST"):
        assert untouched not in env
    assert "DATABASE__HOSTNAME (backend/.env)" in child.local_env and "REDIS_URL (.env)" in child.local_env
    described = str(sandbox.describe()) + sandbox.sentence()
    assert "db.internal" not in described and "s3cret" not in described and "wJalrXUtn" not in described
    assert "pointed at a host that does not exist: AWS_SECRET_ACCESS_KEY (backend/.env)" in described


def test_scratch_placeholders_fill_settings_split_over_other_names(tmp_path):
    """A repo that reads DATABASE__HOSTNAME / DATABASE__DB (pydantic-settings' nested form) gets the
    scratch database through the check's env: {scratch_host}, {scratch_name}..."""
    require_postgres()
    (tmp_path / ".env").write_text("DATABASE__HOSTNAME=db.internal\n")
    options = SandboxOptions(env={"DATABASE__HOSTNAME": "{scratch_host}", "DATABASE__PORT": "{scratch_port}",
                                  "DATABASE__DB": "{scratch_name}", "DATABASE__USERNAME": "{scratch_user}",
                                  "LITERAL": "{not_a_placeholder}"})
    with Sandbox(repo=tmp_path, tmp_dir=tmp_path / "sb", python=None, server_url=PG_URL, options=options,
                 registry=ScratchRegistry(), should_stop=lambda: False, environ={}) as sandbox:
        env = sandbox.environment().env
        name = sandbox.scratch.name
        assert (env["DATABASE__HOSTNAME"], env["DATABASE__PORT"], env["DATABASE__DB"], env["DATABASE__USERNAME"]) \
            == ("127.0.0.1", "5432", name, "postgres")
        assert env["LITERAL"] == "{not_a_placeholder}"
        assert sandbox.environment().local_env == []   # the configured value wins over the .env decoy
    without = Sandbox(repo=tmp_path, tmp_dir=tmp_path / "sb2", python=None, server_url=None, options=options,
                      registry=ScratchRegistry(), should_stop=lambda: False, environ={})
    with pytest.raises(SandboxError, match=r"env DATABASE__HOSTNAME uses \{scratch_host\} but no database server "
                                           r"is known: give --db-url"):
        without.environment()


def test_databases_the_run_made_itself_are_reported_not_dropped():
    """A conftest that creates test_db_gw0 on the server it was given (rafsaf/minimal-fastapi-postgres-template):
    the scratch database's record names it; the auditor drops only what it made."""
    require_postgres()
    registry = ScratchRegistry()
    database = registry.create(server_for(PG_URL), "postgresql", "test")
    made = f"audit_leftover_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{made}"')
    try:
        registry.drop(database)
        assert database.left_behind == [made] and made in _pg_databases()
        assert database.describe()["left_behind"] == [made]
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{made}"')
