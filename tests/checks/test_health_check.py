"""The health check end to end against real HTTP servers on 127.0.0.1 (tests/stub_server.py)."""

from __future__ import annotations

import json

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS_TYPE
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from auditor.interface import Check, Safety
from auditor.model import Section, Severity
from checks.health import HealthCheck, HealthConfig
from checks.health.metrics import MAX_PER_RULE
from tests.checks.conftest import (TEXT_PLAIN, by_rule, good_routes, health, metrics_route, quick_stub,
                                   red_registry, rules)
from tests.stub_server import slow

HIGH = {Severity.HIGH, Severity.CRITICAL}


def test_declares_the_check_interface():
    assert isinstance(HealthCheck(), Check)
    assert HealthCheck.id == "health" and HealthCheck.section is Section.DEPLOYMENT
    assert HealthCheck.needs == frozenset({"service"}) and HealthCheck.safety is Safety.PASSIVE
    assert HealthCheck.config_model is HealthConfig


def test_config_defaults_and_unknown_keys():
    config = HealthConfig()
    assert (config.liveness, config.readiness, config.metrics_path, config.max_response_ms,
            config.require_metrics, config.require_readiness) == (None, None, "/metrics", 500, True, True)
    with pytest.raises(Exception, match="metrics_pth"):
        HealthConfig(metrics_pth="/m")


def test_good_service_has_no_findings(server, audit):
    server.routes.update(good_routes())
    outcome = audit(server)
    assert outcome.findings == []
    assert outcome.summary == ("liveness /livez answers 200; readiness /readyz answers 200; "
                               "/metrics has RED metrics (4 families, 0 lint problems)")
    m = outcome.metrics
    assert (m["liveness_path"], m["readiness_path"], m["metrics_path"]) == ("/livez", "/readyz", "/metrics")
    assert m["metric_families"] == 4 and m["lint_violations"] == 0 and m["method"]
    assert {p["path"] for p in m["probes"]} >= {"/livez", "/readyz", "/metrics"}
    assert all({"path", "status", "ms", "content_type", "verdict"} <= p.keys() for p in m["probes"])
    # GET only, and the health probes stop at the first endpoint that answers.
    assert {method for method, _, _ in server.requests} == {"GET"}
    assert "/healthz" not in {path for _, path, _ in server.requests}


def test_default_registry_output_gives_no_false_positives(server, audit):
    """process_cpu_seconds_total, python_gc_objects_collected_total, python_info... are clean; a service
    exposing only the default collectors lacks RED metrics and nothing else."""
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(generate_latest(REGISTRY))
    outcome = audit(server)
    assert rules(outcome) == {"HLT050", "HLT051"}
    assert outcome.metrics["lint_violations"] == 0 and outcome.metrics["metric_families"] >= 5


def test_nothing_there_is_high(server, audit):
    outcome = audit(server)
    assert rules(outcome) == {"HLT001", "HLT002", "HLT020"}
    assert all(f.severity is Severity.HIGH for f in outcome.findings)
    missing = by_rule(outcome, "HLT001")[0]
    assert "/livez" in missing.message and "/healthz" in missing.message
    assert "/livez → 404" in missing.evidence and missing.remediation
    assert outcome.summary.startswith("no liveness endpoint")


def test_fingerprints_are_stable_across_ports(audit):
    prints = []
    for _ in range(2):
        with quick_stub() as stub:
            prints.append(sorted(f.fingerprint for f in audit(stub).findings))
    assert prints[0] == prints[1]


def test_readiness_not_required(server, audit):
    server.routes.update(good_routes())
    del server.routes["/readyz"]
    assert rules(audit(server)) == {"HLT002"}
    outcome = audit(server, require_readiness=False)
    assert outcome.findings == [] and "not required" in outcome.summary


def test_metrics_not_required(server, audit):
    server.routes.update(good_routes())
    del server.routes["/metrics"]
    assert rules(audit(server)) == {"HLT020"}
    assert audit(server, require_metrics=False).findings == []


def test_fallback_liveness_paths_and_metrics_path_config(server, audit):
    server.routes.update({"/healthz": (200, {"Content-Type": "text/plain"}, "ok"),
                          "/health/ready": (200, {"Content-Type": "text/plain"}, "ok"),
                          "/prom": metrics_route(generate_latest(red_registry()))})
    outcome = audit(server, metrics_path="/prom")
    assert outcome.findings == []
    assert (outcome.metrics["liveness_path"], outcome.metrics["readiness_path"]) == ("/healthz", "/health/ready")


def test_configured_paths_replace_the_defaults(server, audit):
    server.routes.update(good_routes())
    server.routes["/status/alive"] = health("pass")
    outcome = audit(server, liveness=["/status/alive"], readiness=["status/ready"])
    assert outcome.metrics["liveness_path"] == "/status/alive"
    assert rules(outcome) == {"HLT002"}  # /readyz exists, but the override says where to look
    assert "/status/ready" in by_rule(outcome, "HLT002")[0].message


def test_health_json_fail_with_200_is_high(server, audit):
    server.routes.update(good_routes())
    server.routes["/readyz"] = health("fail", 200)
    outcome = audit(server)
    [finding] = by_rule(outcome, "HLT005")
    assert finding.severity is Severity.HIGH and finding.location == {"endpoint": "GET /readyz"}
    assert '"fail"' in finding.evidence
    assert "reports failure" in outcome.summary


def test_plain_json_down_with_200_is_high(server, audit):
    server.routes.update(good_routes())
    server.routes["/livez"] = health("DOWN", 200, "application/json")
    assert rules(audit(server)) == {"HLT005"}


def test_health_json_pass_with_503_is_inconsistent(server, audit):
    server.routes.update(good_routes())
    server.routes["/readyz"] = health("pass", 503)
    outcome = audit(server)
    assert {"HLT004", "HLT006"} <= rules(outcome)
    assert by_rule(outcome, "HLT006")[0].severity is Severity.MEDIUM


def test_health_json_fail_with_503_is_only_the_error(server, audit):
    server.routes.update(good_routes())
    server.routes["/readyz"] = health("fail", 503)
    outcome = audit(server)
    assert rules(outcome) == {"HLT004"}
    assert "503" in by_rule(outcome, "HLT004")[0].message


def test_health_json_non_standard_and_invalid(server, audit):
    server.routes.update(good_routes())
    server.routes["/livez"] = health("UP")
    server.routes["/readyz"] = (200, {"Content-Type": "application/health+json"}, '{"healthy": true}')
    outcome = audit(server)
    assert rules(outcome) == {"HLT007", "HLT008"}
    assert by_rule(outcome, "HLT008")[0].severity is Severity.LOW
    assert by_rule(outcome, "HLT007")[0].location == {"endpoint": "GET /readyz"}


def test_500_health_endpoint_is_high_with_evidence(server, audit):
    server.routes.update(good_routes())
    server.routes["/livez"] = (500, {"Content-Type": "text/plain"}, "database connection refused")
    outcome = audit(server)
    [finding] = by_rule(outcome, "HLT004")
    assert finding.severity is Severity.HIGH and "answers 500" in finding.message
    assert "database connection refused" in finding.evidence
    assert "HLT001" not in rules(outcome)  # the endpoint exists; it is failing, not missing


def test_a_failing_candidate_is_reported_even_when_a_later_one_answers(server, audit):
    server.routes.update(good_routes())
    server.routes["/livez"] = (502, {}, "bad gateway")
    server.routes["/healthz"] = (200, {}, "ok")
    outcome = audit(server)
    assert rules(outcome) == {"HLT004"} and outcome.metrics["liveness_path"] == "/healthz"


def test_liveness_equals_readiness(server, audit):
    server.routes.update(good_routes())
    server.routes["/health"] = health("pass")
    outcome = audit(server, liveness=["/health"], readiness=["/health"])
    [finding] = by_rule(outcome, "HLT009")
    assert finding.severity is Severity.LOW and rules(outcome) == {"HLT009"}
    assert sum(1 for _, path, _ in server.requests if path == "/health") == 1  # probed once


def test_protected_health_endpoint(server, audit):
    server.routes.update(good_routes())
    server.routes["/readyz"] = (401, {"WWW-Authenticate": "Bearer"}, "")
    outcome = audit(server, readiness=["/readyz"])
    assert rules(outcome) == {"HLT010"}


def test_health_probes_are_anonymous(server, tmp_path):
    import time

    from auditor.artifacts import Artifacts
    from auditor.http import HttpClient
    from auditor.interface import AuditContext, Target

    server.routes.update(good_routes())
    with HttpClient(server.url, headers={"Authorization": "Bearer s3cret"}) as http:
        ctx = AuditContext(target=Target(url=server.url), http=http, artifacts=Artifacts(http, spec=None),
                           config=HealthConfig(), tmp_dir=tmp_path, deadline=time.monotonic() + 30,
                           read_only=True)
        HealthCheck().run(ctx)
    sent = {path: headers for _, path, headers in server.requests}
    assert "Authorization" not in sent["/livez"] and sent["/metrics"]["Authorization"] == "Bearer s3cret"


def test_slow_health_endpoint_is_medium(server, audit):
    server.routes.update(good_routes())
    server.routes["/livez"] = slow(0.4, health("pass"))
    outcome = audit(server, max_response_ms=200)
    [finding] = by_rule(outcome, "HLT003")
    assert finding.severity is Severity.MEDIUM and "max_response_ms = 200" in finding.message
    assert sum(1 for _, path, _ in server.requests if path == "/livez") == 3  # re-timed, best of 3
    assert rules(outcome) == {"HLT003"}


def test_catch_all_route_is_not_a_health_endpoint(server, audit):
    server.default = (200, {"Content-Type": "text/html"}, "<html><body>Single-page app</body></html>")
    outcome = audit(server)
    assert rules(outcome) == {"HLT001", "HLT002", "HLT020"}
    assert "catch-all" in by_rule(outcome, "HLT001")[0].message
    assert "catch-all" in by_rule(outcome, "HLT020")[0].message


def test_catch_all_does_not_hide_real_endpoints(server, audit):
    server.default = (200, {"Content-Type": "text/html"}, "<html><body>Single-page app</body></html>")
    server.routes.update(good_routes())
    assert audit(server).findings == []


def test_metrics_wrong_content_type(server, audit):
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(generate_latest(red_registry()), "application/json")
    outcome = audit(server)
    [finding] = by_rule(outcome, "HLT021")
    assert finding.severity is Severity.MEDIUM and "application/json" in finding.message
    assert rules(outcome) == {"HLT021"}  # the body itself is fine


def test_metrics_unparseable(server, audit):
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route('# TYPE broken gauge\nbroken{a="b" 1\n')
    outcome = audit(server)
    [finding] = by_rule(outcome, "HLT022")
    assert finding.severity is Severity.HIGH and "ValueError" in finding.message
    assert "does not parse" in outcome.summary


def test_metrics_html_page_is_one_clear_problem(server, audit):
    server.routes.update(good_routes())
    server.routes["/metrics"] = (200, {"Content-Type": "text/html"}, "<html><body>Dashboard</body></html>")
    assert rules(audit(server)) == {"HLT021", "HLT022"}


def test_openmetrics_is_accepted(server, audit):
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(generate_openmetrics(red_registry()), OPENMETRICS_TYPE)
    outcome = audit(server)
    assert outcome.findings == [] and outcome.metrics["metric_families"] == 2


def test_metrics_with_lint_violations_name_the_metric(server, audit):
    text = """\
# HELP jobs_processed Jobs
# TYPE jobs_processed counter
jobs_processed 3
# HELP queue_total Queue depth
# TYPE queue_total gauge
queue_total 4
# HELP render_time_milliseconds Render time
# TYPE render_time_milliseconds gauge
render_time_milliseconds 12
# HELP activeSessions Sessions
# TYPE activeSessions gauge
activeSessions 2
# HELP job:errors:rate5m Errors
# TYPE job:errors:rate5m gauge
job:errors:rate5m 0
# TYPE no_help_here gauge
no_help_here 1
# HELP http_request_duration_seconds Duration
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 5
http_request_duration_seconds_bucket{le="1"} 3
http_request_duration_seconds_count 5
http_request_duration_seconds_sum 2
# HELP http_requests_total Requests
# TYPE http_requests_total counter
http_requests_total{status="200",request_id="6f1c2a4e-8d1b-4c3e-9f7a-2b5d8e9c0a11"} 1
http_requests_total{status="200",request_id="0b7e3c9d-1a2f-4e5b-8c6d-7e8f9a0b1c22"} 1
http_requests_total{status="200",request_id="0b7e3c9d-1a2f-4e5b-8c6d-7e8f9a0b1c22"} 1
"""
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(text)
    outcome = audit(server)
    found = {(f.rule_id, f.location.get("metric")) for f in outcome.findings}
    assert {("HLT031", "jobs_processed"), ("HLT032", "queue_total"), ("HLT033", "render_time_milliseconds"),
            ("HLT037", "activeSessions"), ("HLT036", "job:errors:rate5m"), ("HLT030", "no_help_here"),
            ("HLT039", "http_request_duration_seconds"), ("HLT040", "http_requests_total"),
            ("HLT041", "http_requests_total")} <= found
    for finding in outcome.findings:
        if finding.rule_id >= "HLT030":
            assert finding.location["endpoint"] == "GET /metrics"
            assert finding.severity in (Severity.LOW, Severity.MEDIUM)
            assert finding.location["metric"] in finding.message
    assert outcome.metrics["lint_violations"] == len([f for f in outcome.findings if f.rule_id >= "HLT030"
                                                      and f.rule_id < "HLT050"])
    assert len({f.fingerprint for f in outcome.findings}) == len(outcome.findings)


def test_findings_per_rule_are_capped(server, audit):
    registry = CollectorRegistry()
    for i in range(25):
        Gauge(f"thing{i}_total", "Not a counter", registry=registry).set(i)
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(generate_latest(registry))
    outcome = audit(server)
    listed = by_rule(outcome, "HLT032")
    assert len(listed) == MAX_PER_RULE + 1
    assert listed[-1].message.startswith(f"and {25 - MAX_PER_RULE} more violations of HLT032")
    assert outcome.metrics["lint_violations"] == 25


def test_no_red_metrics(server, audit):
    registry = CollectorRegistry()
    Counter("emails_sent", "Emails", registry=registry).inc()
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(generate_latest(registry))
    outcome = audit(server)
    assert rules(outcome) == {"HLT050", "HLT051"}
    assert all(f.severity is Severity.MEDIUM for f in outcome.findings)
    assert "lacks RED metrics" in outcome.summary


def test_metrics_refused_and_erroring(server, audit):
    server.routes.update(good_routes())
    server.routes["/metrics"] = (403, {}, "forbidden")
    assert rules(audit(server)) == {"HLT023"}
    server.routes["/metrics"] = (500, {}, "collector crashed")
    outcome = audit(server)
    assert rules(outcome) == {"HLT024"} and by_rule(outcome, "HLT024")[0].severity is Severity.HIGH


def test_truncated_metrics_are_not_called_unparseable(server, tmp_path):
    import time

    from auditor.artifacts import Artifacts
    from auditor.http import HttpClient
    from auditor.interface import AuditContext, Target

    registry = CollectorRegistry()
    gauge = Gauge("items_in_bin", "Items", ["bin"], registry=registry)
    for i in range(400):
        gauge.labels(f"bin{i}").set(i)
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(generate_latest(registry))
    with HttpClient(server.url, max_bytes=4096) as http:
        ctx = AuditContext(target=Target(url=server.url), http=http, artifacts=Artifacts(http, spec=None),
                           config=HealthConfig(), tmp_dir=tmp_path, deadline=time.monotonic() + 30,
                           read_only=True)
        outcome = HealthCheck().run(ctx)
    assert "HLT025" in rules(outcome) and "HLT022" not in rules(outcome)


def test_spec_provided_health_path_is_discovered(server, audit, tmp_path):
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/books/{id}": {"get": {"operationId": "getBook"}},
                      "/internal/alive": {"get": {"operationId": "livenessProbe", "summary": "Liveness"}},
                      "/internal/deps": {"get": {"operationId": "readinessProbe"}}}}
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec))
    server.routes.update({"/internal/alive": health("pass"), "/internal/deps": health("pass"),
                          "/metrics": good_routes()["/metrics"]})
    outcome = audit(server, spec=str(path))
    assert outcome.findings == []
    assert (outcome.metrics["liveness_path"], outcome.metrics["readiness_path"]) == ("/internal/alive",
                                                                                     "/internal/deps")
    assert outcome.metrics["spec_paths"] == {"liveness": ["/internal/alive"], "readiness": ["/internal/deps"]}


def test_spec_server_prefix_is_applied(server, audit, tmp_path):
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "/api/v1"}],
            "paths": {"/health": {"get": {}}}}
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec))
    server.routes.update({"/api/v1/health": health("pass"), "/readyz": health("pass"),
                          "/metrics": good_routes()["/metrics"]})
    outcome = audit(server, spec=str(path))
    assert outcome.findings == [] and outcome.metrics["liveness_path"] == "/api/v1/health"


def test_unreachable_service_is_a_check_error(audit):
    from auditor.interface import CheckError
    from tests.stub_server import StubServer

    stub = StubServer()
    url = stub.url
    stub._httpd.server_close()  # the port is free again: connection refused
    with pytest.raises(CheckError, match="does not answer"):
        audit(type("Dead", (), {"url": url})())


def test_metrics_text_plain_1_0_0_is_accepted(server, audit):
    server.routes.update(good_routes())
    server.routes["/metrics"] = metrics_route(generate_latest(red_registry()),
                                              "text/plain; version=1.0.0; charset=utf-8")
    assert audit(server).findings == []
    assert TEXT_PLAIN  # the default the other tests use is version=0.0.4


def test_spec_words_must_be_whole(server, audit, tmp_path):
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/healthcare/providers": {"get": {"operationId": "listProviders"}},
                      "/orders/already-shipped": {"get": {}},
                      "/status": {"get": {"operationId": "getHealthCheck"}}}}
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec))
    outcome = audit(server, spec=str(path))
    assert outcome.metrics["spec_paths"] == {"liveness": ["/status"], "readiness": []}


def test_deadline_passed_reports_nothing_missing(server, tmp_path):
    import time

    from auditor.artifacts import Artifacts
    from auditor.http import HttpClient
    from auditor.interface import AuditContext, Target
    from auditor.model import Status

    with HttpClient(server.url) as http:
        ctx = AuditContext(target=Target(url=server.url), http=http, artifacts=Artifacts(http, spec=None),
                           config=HealthConfig(), tmp_dir=tmp_path, deadline=time.monotonic() - 1,
                           read_only=True)
        outcome = HealthCheck().run(ctx)
    assert outcome.status is Status.WARN and outcome.findings == []
    assert "deadline" in outcome.summary and server.requests == []


def test_a_health_path_beside_a_separate_liveness_path_is_the_readiness_probe(server, audit, tmp_path):
    """/probe/live and /probe/health (a real FastAPI service: the health one opens a database session): the
    health endpoint is found for readiness, not reported missing."""
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/probe/live": {"get": {"tags": ["probe"]}}, "/probe/health": {"get": {"tags": ["probe"]}},
                      "/auth/me": {"get": {}}}}
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec))
    server.routes.update({"/probe/live": (200, {"Content-Type": "application/json"}, '"ok"'),
                          "/probe/health": (200, {"Content-Type": "application/json"}, '"app and database ok"'),
                          "/metrics": good_routes()["/metrics"]})
    outcome = audit(server, spec=str(path))
    assert outcome.metrics["spec_paths"] == {"liveness": ["/probe/live", "/probe/health"],
                                             "readiness": ["/probe/health"]}
    assert (outcome.metrics["liveness_path"], outcome.metrics["readiness_path"]) == ("/probe/live", "/probe/health")
    assert "HLT002" not in rules(outcome)
    # A lone health path stays a liveness candidate only (one endpoint cannot be both roles' proof).
    spec["paths"] = {"/health": {"get": {}}}
    path.write_text(json.dumps(spec))
    assert audit(server, spec=str(path)).metrics["spec_paths"] == {"liveness": ["/health"], "readiness": []}


def test_metrics_served_by_a_separate_server_are_not_verified_never_missing(server, audit, tmp_path):
    """The repo starts prometheus_client's own server on another port: no HLT020 (high), an HLT026 (info)
    naming the call, a not-verified entry; metrics_path as that server's full URL checks it."""
    repo = tmp_path / "repo"
    (repo / "app" / "core").mkdir(parents=True)
    (repo / "app" / "core" / "lifespan.py").write_text(
        "import prometheus_client\n\n\ndef start(settings):\n    if settings.enabled:\n"
        "        prometheus_client.start_http_server(port=settings.port)\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_metrics.py").write_text("from prometheus_client import start_http_server\n"
                                                    "start_http_server(0)\n")
    server.routes.update({k: v for k, v in good_routes().items() if k != "/metrics"})
    outcome = audit(server, repo=repo)
    assert rules(outcome) == {"HLT026"}
    (finding,) = by_rule(outcome, "HLT026")
    assert finding.severity is Severity.INFO and finding.location == {"file": "app/core/lifespan.py", "line": 6}
    assert "app/core/lifespan.py:6 (prometheus_client.start_http_server)" in outcome.summary
    assert outcome.metrics["not_verified"][0]["what"].startswith("metrics served by a separate server")
    # Without that call in the repo's code (a test's does not count), no metrics is the high finding it was.
    (repo / "app" / "core" / "lifespan.py").unlink()
    assert "HLT020" in rules(audit(server, repo=repo))
    # The separate server given as a full URL is checked like any metrics endpoint.
    with quick_stub() as metrics_server:
        metrics_server.routes["/metrics"] = good_routes()["/metrics"]
        outcome = audit(server, repo=repo, metrics_path=f"{metrics_server.url}/metrics")
        assert outcome.findings == [] and outcome.metrics["metrics_path"] == f"{metrics_server.url}/metrics"


def test_the_path_the_repos_deployment_probes_is_the_health_endpoint(server, audit, tmp_path):
    """A service whose one health endpoint sits at a path of its own (/api/v2/alive/), probed by its
    Dockerfile's HEALTHCHECK through a script the image runs: that path is found (no HLT001/HLT002, high),
    and serving both roles is the low HLT009. Kubernetes probes name a path per role."""
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "Dockerfile").write_text(
        "FROM python:3.12-slim\nCOPY deploy/probe.py /app/\n"
        "HEALTHCHECK --interval=60s \\\n    CMD ./probe.py\nCMD [\"gunicorn\", \"app.wsgi\"]\n")
    (repo / "deploy" / "probe.py").write_text(
        "import os\nfrom urllib.request import urlopen\n\n"
        "BASE = os.getenv('BASE_URL', 'http://localhost:8000')  # a base, not an endpoint\n"
        "prefix = os.getenv('PREFIX', '')\n"
        "with urlopen(f'http://localhost:8000{prefix}/api/v2/alive/') as r:\n    assert r.status == 200\n")
    server.routes.update({k: v for k, v in good_routes().items() if k not in ("/livez", "/readyz")})
    server.routes["/api/v2/alive/"] = (200, {"Content-Type": TEXT_PLAIN}, "OK")
    assert rules(audit(server)) == {"HLT001", "HLT002"}       # without the repo: not found
    outcome = audit(server, repo=repo)
    assert rules(outcome) == {"HLT009"}
    assert outcome.metrics["liveness_path"] == outcome.metrics["readiness_path"] == "/api/v2/alive/"
    assert outcome.metrics["declared_probes"] == [
        {"role": "both", "path": "/api/v2/alive/", "source": "deploy/Dockerfile:3 HEALTHCHECK via deploy/probe.py"}]
    assert "/" not in {p["path"] for p in outcome.metrics["probes"]}    # the base URL names no endpoint

    k8s = tmp_path / "k8s"
    (k8s / "chart").mkdir(parents=True)
    (k8s / "chart" / "deployment.yaml").write_text(yaml.safe_dump({"kind": "Deployment", "spec": {"template": {
        "spec": {"containers": [{"name": "web", "livenessProbe": {"httpGet": {"path": "/sys/alive", "port": 8000}},
                                 "readinessProbe": {"httpGet": {"path": "/api/v2/alive/", "port": 8000}}}]}}}}))
    server.routes["/sys/alive"] = (200, {"Content-Type": TEXT_PLAIN}, "OK")
    outcome = audit(server, repo=k8s)
    assert outcome.findings == []
    assert (outcome.metrics["liveness_path"], outcome.metrics["readiness_path"]) == ("/sys/alive", "/api/v2/alive/")


def test_a_compose_healthcheck_declares_its_path_and_a_remote_url_does_not(tmp_path):
    from checks.health.repo_probes import declared_probes

    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": {
        "web": {"image": "app", "healthcheck": {"test": ["CMD", "curl", "-f", "http://localhost:${PORT}/system/ping"]}},
        "worker": {"image": "app", "healthcheck": {"test": "wget -qO- https://status.example.com/ok || exit 1"}},
    }}))
    assert [p.row() for p in declared_probes(tmp_path)] == [
        {"role": "both", "path": "/system/ping", "source": "compose.yaml healthcheck"}]
