"""The deployment check's runtime items on real processes: graceful shutdown measured with requests in
flight (the sample service, and tiny servers that die or exit badly on SIGTERM), JSON logs from the
captured output, and the health check's result."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import httpx

from auditor.model import CheckResult, Finding, Section, Severity, Status
from auditor.service import ServiceProcess
from checks.deployment import DeploymentCheck, DeploymentConfig, shutdown
from tests.checks.deployment_helpers import by_rule, copy_repo, items, run_check
from tests.conftest import check_context, sample_service

# A tiny HTTP/1.1 keep-alive server whose GET takes SLOW seconds. mode "die": Python's default SIGTERM
# action (the process ends at once, requests in flight are dropped); mode "exit3": on SIGTERM it stops
# accepting, finishes the requests in flight, then exits with code 3.
SERVER = textwrap.dedent('''
    import signal, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    port, mode, slow = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(slow)
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            print("plain text access line", flush=True)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = False
    if mode == "exit3":
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()  # waits for the request threads
    sys.exit(3)
''')


def tiny_server(tmp_path: Path, mode: str, slow: float = 0.5) -> ServiceProcess:
    script = tmp_path / "tiny_server.py"
    script.write_text(SERVER)
    service = ServiceProcess(f"{sys.executable} {script} {{port}} {mode} {slow}", tmp_path / f"{mode}.log")
    service.start(20)
    return service


def health_result(status: Status, findings: list[Finding] | None = None, **metrics) -> CheckResult:
    return CheckResult(id="health", title="Health", section=Section.DEPLOYMENT, status=status,
                       summary="liveness /livez answers 200", metrics=metrics, findings=findings or [])


def test_sample_service_passes_with_a_measured_graceful_shutdown(tmp_path):
    repo = Path(__file__).resolve().parents[2] / "sample_service"
    with sample_service(tmp_path) as service:
        outcome = run_check(repo, tmp_path, service=service, service_log=service.log_path,
                            earlier={"health": health_result(Status.PASS, readiness_path="/readyz")})
        assert service.stop()["graceful_shutdown"] is True   # idempotent: the check's own stop
    rows = items(outcome)
    shut = outcome.metrics["shutdown"]
    assert shut["path"] == "/readyz" and shut["requests"] == 3 and shut["completed"] == 3
    assert shut["exit_code"] == 0 and shut["graceful_shutdown"] is True
    assert shut["in_flight_at_sigterm"] >= 1
    assert rows["Graceful shutdown"]["status"] == "pass"
    assert rows["Graceful shutdown"]["detail"].startswith("measured: SIGTERM with")
    assert rows["JSON structured logs"]["status"] == "pass"
    assert rows["Health and metrics endpoints"]["status"] == "pass"
    # Only a .env exclusion the sample's ignore file lacks may remain (low): nothing at medium or above.
    assert [f.rule_id for f in outcome.findings if f.severity.rank >= Severity.MEDIUM.rank] == []


def test_a_server_that_dies_on_sigterm_drops_the_request_in_flight(tmp_path):
    service = tiny_server(tmp_path, "die")
    try:
        outcome = run_check(copy_repo("good", tmp_path), tmp_path, service=service,
                            service_log=service.log_path, config={"shutdown_requests": 1})
    finally:
        service.stop()
    dropped = by_rule(outcome, "DPL030")
    assert dropped and dropped[0].severity == Severity.HIGH and "1 of 1" in dropped[0].message
    assert outcome.metrics["shutdown"]["completed"] == 0
    # The report's service block says the same: it exited on SIGTERM, but not gracefully.
    stop = service.stop()
    assert stop["exited_on_sigterm"] is True and stop["graceful_shutdown"] is False
    assert (stop["in_flight_at_sigterm"], stop["in_flight_dropped"]) == (1, 1)
    assert items(outcome)["Graceful shutdown"]["status"] == "fail"
    # Its output is plain text: the log item fails on what it actually wrote.
    logs = by_rule(outcome, "DPL033")
    assert logs and "plain text access line" in logs[0].evidence


def test_a_server_that_finishes_in_flight_work_but_exits_3(tmp_path):
    service = tiny_server(tmp_path, "exit3", slow=0.3)
    try:
        outcome = run_check(copy_repo("good", tmp_path), tmp_path, service=service,
                            config={"shutdown_requests": 2, "shutdown_path": "/work"})
    finally:
        service.stop()
    shut = outcome.metrics["shutdown"]
    assert shut["path"] == "/work" and shut["completed"] == 2 and shut["in_flight_at_sigterm"] == 2
    assert service.stop()["graceful_shutdown"] is True and service.stop()["in_flight_dropped"] == 0
    assert not by_rule(outcome, "DPL030")
    assert by_rule(outcome, "DPL032")[0].message.endswith("code 3 after SIGTERM.")


def test_no_measurement_when_disabled_and_the_service_keeps_running(tmp_path):
    service = tiny_server(tmp_path, "die", slow=0.0)
    try:
        outcome = run_check(copy_repo("good", tmp_path), tmp_path, service=service,
                            config={"measure_shutdown": False})
        assert httpx.get(service.url + "/", timeout=5).status_code == 200   # left running
    finally:
        service.stop()
    assert outcome.metrics["shutdown"] is None
    assert "measure_shutdown = false" in items(outcome)["Graceful shutdown"]["detail"]
    assert items(outcome)["Graceful shutdown"]["status"] == "not checked"


def test_judge_of_a_service_killed_after_the_grace_period():
    measured = shutdown.Measurement(path="/", probes=[shutdown.Probe(error="RemoteDisconnected")],
                                    stop={"graceful_shutdown": False, "shutdown_s": 10.02, "exit_code": -9})
    findings, detail, conclusive = shutdown.judge(measured)
    assert sorted(f.rule_id for f in findings) == ["DPL030", "DPL031"]
    assert conclusive and "exit code -9" in detail


def test_judge_says_when_every_answer_came_before_the_signal():
    measured = shutdown.Measurement(path="/", probes=[shutdown.Probe(status=200, answered_before_signal=True)],
                                    stop={"graceful_shutdown": True, "shutdown_s": 0.2, "exit_code": 0})
    findings, detail, conclusive = shutdown.judge(measured)
    assert findings == [] and not conclusive and "not observed" in detail


def test_log_lines_are_judged_and_secrets_in_them_masked(tmp_path):
    log = tmp_path / "service.log"
    lines = [json.dumps({"level": "INFO", "message": f"line {i}"}) for i in range(5)]
    lines += ["connecting to postgresql://app:pa55word@db.internal/app", "Traceback (most recent call last):"]
    log.write_text("\n".join(lines) + "\n")
    outcome = run_check(copy_repo("good", tmp_path), tmp_path, service_log=log)
    found = by_rule(outcome, "DPL033")
    assert found and "5 of the 7" in found[0].message and "line 6" in found[0].message
    assert "pa55word" not in found[0].evidence and "postgresql://app:" in found[0].evidence
    log.write_text("\n".join(lines[:5] + ["[not json]"] * 0) + "\n")
    assert items(run_check(copy_repo("good", tmp_path / "again"), tmp_path, service_log=log))[
        "JSON structured logs"]["status"] == "pass"


def test_health_item_mirrors_the_health_check_without_repeating_its_findings(tmp_path):
    failing = health_result(Status.FAIL, [Finding(rule_id="HLT020", severity=Severity.HIGH, title="No metrics",
                                                  message="none", location={"url": "x"})])
    outcome = run_check(copy_repo("good", tmp_path, git=True), tmp_path, earlier={"health": failing})
    row = items(outcome)["Health and metrics endpoints"]
    assert row["status"] == "fail" and "HLT020" in row["detail"]
    assert not [f for f in outcome.findings if f.rule_id.startswith("HLT")]
    errored = CheckResult(id="health", title="Health", section=Section.DEPLOYMENT, status=Status.ERROR,
                          summary="the service does not answer")
    row = items(run_check(copy_repo("good", tmp_path / "b", git=True), tmp_path,
                          earlier={"health": errored}))["Health and metrics endpoints"]
    assert row["status"] == "not checked" and "error" in row["detail"]


def test_no_measurement_once_the_audit_is_stopping(tmp_path):
    service = tiny_server(tmp_path, "die", slow=0.0)
    try:
        ctx = check_context(service.url, DeploymentConfig(), tmp_path, repo=copy_repo("good", tmp_path))
        ctx.artifacts.service = service
        ctx.stop.set()  # Ctrl-C or the deadline
        with ctx.http:
            outcome = DeploymentCheck().run(ctx)
        assert "the audit was stopping" in items(outcome)["Graceful shutdown"]["detail"]
        assert httpx.get(service.url + "/", timeout=5).status_code == 200   # left running
    finally:
        service.stop()
