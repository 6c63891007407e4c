"""PostgreSQL live capture (--db-url) against the real local server: the sample service on PostgreSQL, the
auditor's own session ignored, and the server's settings restored after every run — normal, stopped
mid-way, interrupted (SIGINT) and killed (SIGKILL, healed by the next run). Other test suites use this
server at the same time: every test restores, and the capture window stays short."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from auditor.interface import CheckError
from auditor.model import Severity
from checks.nplusone.check import NPlusOneCheck
from checks.nplusone.config import NPlusOneConfig
from checks.nplusone.sources.interface import SourceUnavailable
from checks.nplusone.sources.postgres_live import MARK, PostgresLiveSource
from tests.checks.nplusone_helpers import PG_URL, REPO_ROOT, log_settings, pg_database, url_for
from tests.conftest import check_context, sample_service
from tests.services import require_postgres, unavailable


@pytest.fixture(scope="module", autouse=True)
def _postgres() -> None:
    """Skips (fails in CI, tests/services.py) only when the server cannot be connected to."""
    require_postgres(PG_URL)


@pytest.fixture(scope="module")
def pg_service(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The sample service with the n_plus_one defect on its own PostgreSQL database: (service URL, db URL)."""
    with pg_database("npq_sample") as database:
        log_dir = tmp_path_factory.mktemp("pg-service")
        env = {"DATABASE_URL": url_for(database, driver="psycopg"), "SQL_ECHO": "0"}
        with sample_service(log_dir, defects=["n_plus_one"], env=env) as service:
            yield service.url, url_for(database)


def _run(url: str, db_url: str, tmp_path: Path, **kwargs):
    ctx = check_context(url, NPlusOneConfig(), tmp_path, settings={"db_url": db_url}, **kwargs)
    try:
        return NPlusOneCheck().run(ctx), ctx
    finally:
        ctx.http.close()


def test_n_plus_one_on_postgresql_is_flagged_with_growth_and_settings_are_restored(pg_service, tmp_path):
    url, db_url = pg_service
    before = log_settings()
    outcome, _ = _run(url, db_url, tmp_path)
    assert log_settings() == before
    (finding,) = [f for f in outcome.findings if f.rule_id == "NPQ001"]
    assert finding.location == {"endpoint": "GET /books"} and finding.severity == Severity.HIGH
    assert "ran 20 times" in finding.message and "confirmed N+1" in finding.message
    assert "$1 = '" in finding.evidence   # values from the server log's DETAIL lines
    assert "backend-auditor" not in finding.evidence
    assert outcome.metrics["source"] == "postgres" and outcome.metrics["queries_captured"] > 0
    assert outcome.metrics["requests_profiled"] == 9    # the 3 secured operations: excluded, with why
    assert len(outcome.metrics["excluded"]) == 3
    import psycopg

    with psycopg.connect(db_url) as conn:
        preloaded = "pg_stat_statements" in conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    assert outcome.metrics["pg_stat_statements"] is preloaded   # used only where already loaded
    database = db_url.rsplit("/", 1)[1]
    assert (f"SQL read from the PostgreSQL server log {_server_log()} (database {database}, "
            "log_min_duration_statement = 0 for the audit only)") in outcome.metrics["method"]


def test_clean_service_on_postgresql_has_no_n_plus_one(pg_service, tmp_path):
    _url, db_url = pg_service
    database = db_url.rsplit("/", 1)[1]
    env = {"DATABASE_URL": url_for(database, driver="psycopg"), "SQL_ECHO": "0"}
    before = log_settings()
    with sample_service(tmp_path, env=env) as clean:
        outcome, _ = _run(clean.url, db_url, tmp_path)
    assert log_settings() == before
    assert not [f for f in outcome.findings if f.rule_id in ("NPQ001", "NPQ004")]
    books = next(r for r in outcome.metrics["endpoints"] if r["path"] == "/books")
    assert books["data_queries"] <= 6 and books["max_repeats"] <= 2


def test_own_session_is_ignored_and_other_sessions_are_captured():
    import psycopg

    before = log_settings()
    source = PostgresLiveSource(PG_URL)
    with source, psycopg.connect(PG_URL, autocommit=True) as app:
        source.begin("r1")
        app.execute("SELECT 'from the app' AS x WHERE 1 = %s", [1])
        source._execute("SELECT 'from the auditor session'")
        capture = source.end("r1")
    assert log_settings() == before
    texts = [s.sql for s in capture.statements]
    assert any("from the app" in t for t in texts), texts
    assert not any("auditor session" in t or "nplusone:" in t for t in texts)
    assert [s.parameters for s in capture.statements if "from the app" in s.sql] == ["$1 = '1'"]


def test_settings_restored_when_the_audit_is_stopped_mid_way(pg_service, tmp_path):
    url, db_url = pg_service
    before = log_settings()
    ctx = check_context(url, NPlusOneConfig(), tmp_path, settings={"db_url": db_url})
    seen: list[str] = []
    during: dict = {}

    def progress(message: str) -> None:
        seen.append(message)
        if message.startswith("profiling") and len([m for m in seen if m.startswith("profiling")]) == 2:
            during.update(log_settings())
            ctx.stop.set()   # as the runner does on Ctrl-C or at the deadline

    ctx.progress = progress
    try:
        outcome = NPlusOneCheck().run(ctx)
    finally:
        ctx.http.close()
    assert MARK in during["shown"]["log_line_prefix"]   # the capture really was on
    assert log_settings() == before
    assert "stopped early" in outcome.summary


def _child(tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "capture.py"
    script.write_text(
        "import sys, time\n"
        "from checks.nplusone.sources.postgres_live import PostgresLiveSource\n"
        f"source = PostgresLiveSource({PG_URL!r})\n"
        "with source:\n"
        "    print('capturing', flush=True)\n"
        "    time.sleep(60)\n")
    return subprocess.Popen([sys.executable, str(script)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def _wait_capturing(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "capturing", line


def test_settings_restored_when_the_process_is_interrupted(tmp_path):
    before = log_settings()
    child = _child(tmp_path)
    try:
        _wait_capturing(child)
        assert MARK in log_settings()["shown"]["log_line_prefix"]
        child.send_signal(signal.SIGINT)   # Ctrl-C: KeyboardInterrupt unwinds through close()
        child.wait(20)
    finally:
        if child.poll() is None:
            child.kill()
    assert log_settings() == before


def test_a_killed_capture_is_healed_by_the_next_run(tmp_path):
    before = log_settings()
    child = _child(tmp_path)
    try:
        _wait_capturing(child)
        child.kill()   # SIGKILL: nothing can restore in the killed process
        child.wait(20)
        left = log_settings()
        # The next audit recognises its own prefix, resets, and restores on close.
        source = PostgresLiveSource(PG_URL)
        with source:
            pass
        after = log_settings()   # read before any safety net below could mask a failed heal
    finally:
        if child.poll() is None:
            child.kill()
        _ensure_reset(before)
    assert MARK in left["shown"]["log_line_prefix"]
    assert "interrupted audit were reset" in " ".join(source.problems)
    assert after == before


def _ensure_reset(before: dict) -> None:
    """Never leave the shared server logging every statement, whatever a failing assertion did."""
    import psycopg

    if log_settings() != before and not before["auto_conf"]:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET log_min_duration_statement")
            conn.execute("ALTER SYSTEM RESET log_line_prefix")
            conn.execute("SELECT pg_reload_conf()")


def test_a_user_without_the_privilege_gets_a_one_line_error_and_nothing_changes(pg_service, tmp_path):
    import psycopg

    url, _ = pg_service
    role = f"npq_noprivs_{os.getpid()}"
    before = log_settings()
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        with pytest.raises(CheckError, match="may not change logging") as info:
            _run(url, url_for(PG_URL.rsplit("/", 1)[1], user=role), tmp_path)
        assert "\n" not in str(info.value)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    assert log_settings() == before


def test_an_unreachable_database_is_a_one_line_error(pg_service, tmp_path):
    url, _ = pg_service
    with pytest.raises(CheckError, match="--db-url: cannot connect"):
        _run(url, "postgresql://postgres@127.0.0.1:1/nothing", tmp_path)



def test_a_capture_closed_by_the_stop_watcher_answers_empty_instead_of_failing():
    before = log_settings()
    source = PostgresLiveSource(PG_URL)
    source.open()
    source.begin("r1")
    source.close()          # what the stop watcher does from its own thread on Ctrl-C
    capture = source.end("r1")
    source.begin("r2")      # the check's thread may still be inside its loop
    assert capture.statements == [] and source.end("r2").statements == []
    assert source.restored and log_settings() == before


def test_an_unreadable_db_log_is_a_one_line_error_before_anything_changes(pg_service, tmp_path):
    url, db_url = pg_service
    before = log_settings()
    ctx = check_context(url, NPlusOneConfig(), tmp_path, settings={"db_url": db_url,
                                                                  "db_log": tmp_path / "no-such.log"})
    try:
        with pytest.raises(CheckError, match=r"--db-log .*no-such\.log: not readable"):
            NPlusOneCheck().run(ctx)
    finally:
        ctx.http.close()
    assert log_settings() == before


def test_an_explicit_db_log_is_used(pg_service, tmp_path):
    url, db_url = pg_service
    source = PostgresLiveSource(db_url)
    with source:
        found = source.log_path
    assert found is not None
    ctx = check_context(url, NPlusOneConfig(), tmp_path, settings={"db_url": db_url, "db_log": str(found)})
    try:
        outcome = NPlusOneCheck().run(ctx)
    finally:
        ctx.http.close()
    assert str(found) in outcome.metrics["method"]
    assert [f.location for f in outcome.findings if f.rule_id == "NPQ001"] == [{"endpoint": "GET /books"}]


def test_ctrl_c_on_the_real_cli_restores_the_settings(tmp_path, stub):
    """`audit run --db-url ...` interrupted while the capture is on: the runner sets ctx.stop and the
    check's stop watcher restores at once, though the check's thread is still waiting on a slow GET."""
    import json as _json

    from tests.stub_server import slow

    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {f"/slow{i}": {"get": {"responses": {"200": {"description": "ok"}}}} for i in range(3)}}
    stub.routes["/openapi.json"] = (200, {"Content-Type": "application/json"}, _json.dumps(spec))
    for i in range(3):
        stub.routes[f"/slow{i}"] = slow(2.0, (200, {"Content-Type": "application/json"}, "{}"))
    before = log_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIT_")}
    cli = subprocess.Popen([sys.executable, "-m", "auditor", "run", "--url", stub.url, "--checks", "nplusone",
                            "--db-url", PG_URL, "--output-dir", str(tmp_path / "out"), "--format", "json"],
                           cwd=REPO_ROOT, env={**env, "NO_COLOR": "1"}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while MARK not in log_settings()["shown"]["log_line_prefix"]:
            assert time.monotonic() < deadline and cli.poll() is None, "the capture never started"
            time.sleep(0.05)
        cli.send_signal(signal.SIGINT)
        _out, err = cli.communicate(timeout=30)
        after = log_settings()   # read before the safety net below could mask a failed restore
    finally:
        if cli.poll() is None:
            cli.kill()
        _ensure_reset(before)
    assert after == before
    assert "interrupted" in err


# ------------------------------------------------------------------------------------------------------
# A non-superuser: every missing privilege is found before any setting changes (nothing to restore).
_ALTER = "GRANT ALTER SYSTEM ON PARAMETER log_min_duration_statement, log_line_prefix TO {role}"
_READ = ("GRANT SELECT ON pg_catalog.pg_file_settings TO {role}",
         "GRANT EXECUTE ON FUNCTION pg_catalog.pg_show_all_file_settings() TO {role}")
_RELOAD = "GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO {role}"


@contextmanager
def _role(*grants: str) -> Iterator[str]:
    """A throwaway LOGIN role (no superuser) with these grants; its URL. Dropped with its grants afterwards."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as admin:
        version = int(admin.execute("SHOW server_version_num").fetchone()[0])
        if version < 150000:
            unavailable("postgres", f"GRANT ALTER SYSTEM ON PARAMETER needs PostgreSQL 15+, the server is {version}")
        role = f"npq_role_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
        for grant in grants:
            admin.execute(grant.format(role=f'"{role}"'))
    try:
        yield url_for(PG_URL.rsplit("/", 1)[1], user=role)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')   # also revokes the grants, which would block DROP ROLE
            admin.execute(f'DROP ROLE "{role}"')


def _server_log() -> Path:
    source = PostgresLiveSource(PG_URL)
    with source:
        assert source.log_path is not None
        return source.log_path


def test_alter_system_alone_is_refused_before_anything_changes(tmp_path):
    """The reported case: ALTER SYSTEM granted, but pg_file_settings (what to restore) is superuser-only and
    pg_reload_conf() needs its own grant; both are named, in one line, and no setting was touched."""
    log = tmp_path / "server.log"
    log.write_text("readable\n")   # past the log check: the privileges are what is tested
    before = log_settings()
    with _role(_ALTER) as url:
        source = PostgresLiveSource(url, db_log=log)
        with pytest.raises(SourceUnavailable) as info:
            source.open()
    message = str(info.value)
    assert "\n" not in message and "may not change logging" in message
    assert "pg_file_settings" in message and "pg_reload_conf()" in message
    assert "ALTER SYSTEM ON PARAMETER" not in message   # that one it has
    assert not source._changed and not source.restored   # nothing was changed, so nothing was restored
    assert log_settings() == before


def test_reading_pg_file_settings_alone_is_not_enough(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("readable\n")
    before = log_settings()
    with _role(_ALTER, *_READ) as url:
        with pytest.raises(SourceUnavailable, match=r"needed\); or give --sql-log") as info:
            PostgresLiveSource(url, db_log=log).open()
    assert "pg_reload_conf()" in str(info.value) and "pg_file_settings" not in str(info.value)
    assert log_settings() == before


def test_a_non_superuser_with_every_grant_captures_and_restores():
    log = _server_log()
    before = log_settings()
    with _role(_ALTER, *_READ, _RELOAD) as url:
        source = PostgresLiveSource(url, db_log=log)
        with source:
            during = log_settings()
        after = log_settings()
    assert MARK in during["shown"]["log_line_prefix"]
    assert source.restored and not source.problems
    assert after == before
