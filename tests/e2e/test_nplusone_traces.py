"""N+1 detection with zero configuration (issue 18), through the CLI with --serve on three apps written here
(Django, Flask + Flask-SQLAlchemy, FastAPI + async SQLAlchemy; tests/e2e/nplusone_apps.py), none with SQL
logging configured: the N+1 is found with its exact per-request statement count, the clean endpoint is
not flagged, the SQL came from traces, and the app's files are unchanged. The same under concurrency
(gunicorn -w 2, uvicorn --workers 2) gives identical counts. A service that exports OTLP itself (the
OpenTelemetry SDK, standing in for another language) is profiled with --url and --otlp."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import run_audit_cli
from tests.e2e.nplusone_apps import AUTHORS, command, seed, write_app

pytestmark = pytest.mark.timeout(240)


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _audit(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "out"
    result = run_audit_cli("run", *args, "--checks", "nplusone", "--output-dir", str(out))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    (check,) = json.loads((out / "report.json").read_text())["checks"]
    assert check["status"] != "error", check["summary"]
    return check


def _judge(check: dict) -> None:
    assert check["metrics"]["source"] == "traces", check["metrics"]["method"]
    rows = {row["path"]: row for row in check["metrics"]["endpoints"]}
    # /authors: one query for the list, then one per author — exactly, per request.
    assert rows["/authors"]["max_repeats"] == AUTHORS
    assert rows["/authors"]["data_queries"] == AUTHORS + 1
    assert rows["/authors"]["attribution"] in ("trace", "request id")
    assert rows["/authors-clean"]["max_repeats"] == 1 and rows["/authors-clean"]["data_queries"] <= 2
    flagged = [f["location"]["endpoint"] for f in check["findings"] if f["rule_id"] == "NPQ001"]
    assert flagged == ["GET /authors"]
    message = next(f["message"] for f in check["findings"] if f["rule_id"] == "NPQ001")
    assert f"ran {AUTHORS} times" in message


@pytest.mark.parametrize(("kind", "workers"), [("django", 1), ("flask", 1), ("fastapi", 1),
                                                ("flask", 2), ("fastapi", 2)],
                         ids=["django", "flask", "fastapi-async", "gunicorn-w2", "uvicorn-workers2"])
def test_a_served_app_is_traced_with_no_configuration(tmp_path, kind, workers):
    app = write_app(kind, tmp_path)
    db = tmp_path / "shop.sqlite"
    seed(db)
    before = _tree(app)
    check = _audit(tmp_path, "--serve", command(kind, sys.executable, db, workers=workers), "--repo", str(app))
    _judge(check)
    assert "the auditor's tracing shim" in check["metrics"]["method"]
    after = {k: v for k, v in _tree(app).items() if "__pycache__" not in k}
    assert after == before  # nothing written into the app


SDK_SERVICE = '''\
"""A service that exports OTLP by itself (explicit OpenTelemetry SDK instrumentation: what a Java, Go or
Node service with its own exporter looks like to the auditor)."""
import json, sqlite3, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

DB, PORT, ENDPOINT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
provider = TracerProvider(resource=Resource.create({"service.name": "shop-sdk"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=ENDPOINT + "/v1/traces"),
                                               schedule_delay_millis=100))
tracer = provider.get_tracer("shop")
SPEC = json.loads(%r)


def query(conn, sql, params=()):
    with tracer.start_as_current_span("SELECT", kind=trace.SpanKind.CLIENT,
                                      attributes={"db.system.name": "sqlite", "db.query.text": sql}):
        return conn.execute(sql, params).fetchall()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        with tracer.start_as_current_span(f"GET {path}", context=extract(dict(self.headers)),
                                          kind=trace.SpanKind.SERVER,
                                          attributes={"http.request.method": "GET", "url.path": path}):
            conn = sqlite3.connect(DB)
            if path == "/openapi.json":
                body = SPEC
            elif path == "/authors":
                body = [{"id": i, "books": [t for (t,) in query(conn, "SELECT title FROM books WHERE author_id = ?", (i,))]}
                        for (i,) in query(conn, "SELECT id FROM authors ORDER BY id")]
            elif path == "/authors-clean":
                body = query(conn, "SELECT a.id, b.title FROM authors a JOIN books b ON b.author_id = a.id")
            else:
                body = None
            conn.close()
        data = json.dumps(body).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_service_that_exports_otlp_itself_is_profiled_with_url_and_otlp(tmp_path):
    from tests.e2e.nplusone_apps import SPEC

    db = tmp_path / "shop.sqlite"
    seed(db)
    script = tmp_path / "sdk_service.py"
    script.write_text(textwrap.dedent(SDK_SERVICE) % json.dumps(SPEC))
    otlp, port = _free_port(), _free_port()
    service = subprocess.Popen([sys.executable, str(script), str(db), str(port), f"http://127.0.0.1:{otlp}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert service.poll() is None, service.stderr.read().decode()
                assert time.monotonic() < deadline, "the SDK service did not start"
                time.sleep(0.05)
        check = _audit(tmp_path, "--url", f"http://127.0.0.1:{port}", "--otlp", str(otlp))
    finally:
        service.terminate()
        service.wait(10)
    _judge(check)
    assert "(--otlp)" in check["metrics"]["method"]


@pytest.fixture(scope="module")
def otel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OpenTelemetry's distro, OTLP/HTTP exporter and the Flask and SQLAlchemy instrumentors, installed
    from the registry into a directory of their own: a service interpreter that has them (on PYTHONPATH)."""
    target = tmp_path_factory.mktemp("otel-site")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
                             str(target), "opentelemetry-distro", "opentelemetry-exporter-otlp-proto-http",
                             "opentelemetry-instrumentation-flask", "opentelemetry-instrumentation-sqlalchemy"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return target


def test_a_served_app_whose_interpreter_has_opentelemetry_uses_it(tmp_path, otel_site):
    """OpenTelemetry's own auto-instrumentation makes the server spans; its SQLAlchemy instrumentor refuses
    this SQLAlchemy release (outside its range, as on real services), so the auditor's statement hooks
    record the SQL under the SDK's spans — the counts are the same."""
    app = write_app("flask", tmp_path)
    db = tmp_path / "shop.sqlite"
    seed(db)
    out = tmp_path / "out"
    result = run_audit_cli("run", "--serve", command("flask", sys.executable, db), "--repo", str(app), "--checks",
                           "nplusone", "--output-dir", str(out), env={"PYTHONPATH": str(otel_site)})
    assert result.returncode in (0, 1), result.stdout + result.stderr
    (check,) = json.loads((out / "report.json").read_text())["checks"]
    _judge(check)
    assert "the service's own OpenTelemetry SDK" in check["metrics"]["method"]


RAW_SQL_APP = '''\
"""FastAPI over the sqlite3 driver itself: no ORM any tracing instrumentation knows. It logs its SQL as
JSON lines with the request id it was given (what --sql-log reads)."""
import json, os, sqlite3
from fastapi import FastAPI, Request

app = FastAPI(title="raw")
LOG = open(os.environ["SQL_LOG"], "a", buffering=1)


def run(request, conn, sql, params=()):
    LOG.write(json.dumps({"statement": sql, "parameters": str(params),
                          "request_id": request.headers.get("x-request-id")}) + "\\n")
    return conn.execute(sql, params).fetchall()


@app.get("/authors")
def authors(request: Request):
    conn = sqlite3.connect(os.environ["SHOP_DB"])
    rows = run(request, conn, "SELECT id FROM authors ORDER BY id")
    return [{"id": i, "books": run(request, conn, "SELECT title FROM books WHERE author_id = ?", (i,))} for (i,) in rows]
'''


def test_traces_without_sql_fall_back_to_the_next_source_request_by_request(tmp_path):
    """The shim traces the requests (Starlette) but sees no SQL (the app calls sqlite3 itself): those
    requests are judged from --sql-log instead, and the report says which source judged how many."""
    db = tmp_path / "shop.sqlite"
    seed(db)
    app = tmp_path / "raw"
    app.mkdir()
    (app / "app.py").write_text(RAW_SQL_APP)
    log = tmp_path / "sql.log"
    log.touch()
    check = _audit(tmp_path, "--serve", f"SHOP_DB={db} SQL_LOG={log} {sys.executable} -m uvicorn app:app "
                   "--host 127.0.0.1 --port {port}", "--repo", str(app), "--sql-log", str(log))
    assert check["metrics"]["source"] == "log"   # every profiled request was judged by the log
    assert "the traces held no SQL for the others" in check["metrics"]["method"]
    rows = {row["path"]: row for row in check["metrics"]["endpoints"]}
    assert rows["/authors"]["max_repeats"] == AUTHORS
    assert [f["location"]["endpoint"] for f in check["findings"] if f["rule_id"] == "NPQ001"] == ["GET /authors"]


def test_concurrent_profiling_attributes_every_statement_as_one_at_a_time_does(tmp_path):
    """The sample service (the demo, traced by the shim) profiled one request at a time and four at a time:
    every endpoint's statement counts are identical — each request's statements are its own trace's."""
    rows = {}
    for concurrency in (1, 4):
        config = tmp_path / f"c{concurrency}.toml"
        config.write_text(f"[nplusone]\nconcurrency = {concurrency}\n")
        out = tmp_path / f"out{concurrency}"
        result = run_audit_cli("demo", "--defects", "n_plus_one", "--checks", "nplusone", "--config", str(config),
                               "--output-dir", str(out), "--format", "json")
        assert result.returncode == 1, result.stdout + result.stderr   # the seeded N+1 fails the gate
        (check,) = json.loads((out / "report.json").read_text())["checks"]
        assert check["metrics"]["source"] == "traces" and check["metrics"]["concurrency"] == concurrency
        assert ("4 at a time" in check["metrics"]["method"]) == (concurrency == 4)
        rows[concurrency] = sorted((r["method"], r["path"], r["status"], r["queries"], r["max_repeats"],
                                    r.get("queries_small_page")) for r in check["metrics"]["endpoints"])
        assert [f["location"]["endpoint"] for f in check["findings"] if f["rule_id"] == "NPQ001"] == ["GET /books"]
    assert rows[1] == rows[4]
    books = next(r for r in rows[4] if r[1] == "/books")
    assert books[4] >= 5  # the N+1: one lookup per book of the page
