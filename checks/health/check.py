"""The health check: gather (GET the candidate paths through ctx.http), then judge (endpoints.py,
metrics.py, metrics_lint.py — pure functions over the gathered probes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from auditor.http import HttpClient, RequestFailed
from auditor.interface import AuditContext, CheckError, Safety
from auditor.model import Finding, Outcome, Section, Status

from checks.health import endpoints, metrics
from checks.health.config import HealthConfig
from checks.health.endpoints import LIVENESS, OK, READINESS, Probe
from checks.health.repo_metrics import separate_metrics_server
from checks.health.repo_probes import DeclaredProbe, declared_probes, paths_for

# Other places exporters commonly serve metrics, tried only when metrics_path was not configured.
METRICS_FALLBACKS = ("/actuator/prometheus", "/prometheus")
# How many times a slow health endpoint is timed in all (the best counts: one slow first request,
# a cold connection or a GC pause, is not a slow endpoint).
TIMING_TRIES = 3


class HealthCheck:
    id: ClassVar[str] = "health"
    title: ClassVar[str] = "Health and metrics endpoints"
    section: ClassVar[Section] = Section.DEPLOYMENT
    needs: ClassVar[frozenset[str]] = frozenset({"service"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[HealthConfig]] = HealthConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, HealthConfig) else HealthConfig.model_validate(
            ctx.config.model_dump())
        gatherer = _Gatherer(ctx)
        try:
            gathered = gatherer.gather(config)
        except _OutOfTime:
            gathered = gatherer.partial
        return _judge(gathered, config, ctx.http.base_url)


class _OutOfTime(Exception):
    pass


class _Gathered:
    def __init__(self) -> None:
        self.catch_all: Probe | None = None
        self.liveness: list[Probe] = []
        self.readiness: list[Probe] = []
        self.metrics: list[Probe] = []
        self.spec_paths: dict[str, list[str]] = {LIVENESS: [], READINESS: []}
        self.done: set[str] = set()  # roles whose candidates were all probed (or one answered)
        self.metrics_elsewhere: str | None = None  # the repo's separate metrics server, when none answered here
        self.declared: list[DeclaredProbe] = []  # the probes the repo's Dockerfile, compose, Kubernetes declare
        self.complete = False


class _Gatherer:
    """All the I/O of the check: anonymous GETs for health endpoints (orchestrator probes send no
    credentials), GETs with the user's headers for metrics (Prometheus may scrape with a token)."""

    def __init__(self, ctx: AuditContext) -> None:
        self.ctx = ctx
        self.http: HttpClient = ctx.http
        self.partial = _Gathered()
        self._health_cache: dict[str, Probe] = {}

    def gather(self, config: HealthConfig) -> _Gathered:
        got = self.partial
        if not self.http.base_url:
            raise CheckError("no service URL to probe")
        got.catch_all = self._get("reference", endpoints.CATCH_ALL_PATH, auth=False)
        got.catch_all.verdict = "reference"
        if got.catch_all.status is None:
            raise CheckError(f"the service does not answer: {got.catch_all.error}")
        got.spec_paths = self._spec_paths(config)
        if self.ctx.target.repo and not (config.liveness and config.readiness):
            # The paths the deployment itself probes, after the spec's and before the conventional ones.
            got.declared = declared_probes(Path(self.ctx.target.repo))
        for role, configured, into in ((LIVENESS, config.liveness, got.liveness),
                                       (READINESS, config.readiness, got.readiness)):
            for path in endpoints.candidates(role, configured,
                                             [*got.spec_paths[role], *paths_for(role, got.declared)]):
                probe = self._health(role, path, got.catch_all)
                into.append(probe)
                if probe.verdict == OK:
                    break
            got.done.add(role)
        for probe in {id(p): p for p in got.liveness + got.readiness}.values():
            if probe.verdict == OK and probe.ms > config.max_response_ms:
                self._retime(probe)
        metric_paths = [config.metrics_path]
        if "metrics_path" not in config.model_fields_set:
            metric_paths += [p for p in METRICS_FALLBACKS if p != config.metrics_path]
        for path in metric_paths:
            probe = self._get("metrics", path, auth=True)
            probe.verdict = metrics.classify(probe, got.catch_all)
            got.metrics.append(probe)
            if probe.verdict != endpoints.ABSENT and probe.verdict != endpoints.CATCH_ALL:
                break
        got.done.add("metrics")
        if self.ctx.target.repo and not any(p.verdict in (OK, endpoints.PROTECTED, endpoints.ERROR)
                                            for p in got.metrics):
            got.metrics_elsewhere = separate_metrics_server(Path(self.ctx.target.repo))
        got.complete = True
        return got

    def _spec_paths(self, config: HealthConfig) -> dict[str, list[str]]:
        if config.liveness and config.readiness:
            return {LIVENESS: [], READINESS: []}  # both overridden: the spec would not be used
        try:
            spec = self.ctx.artifacts.spec
        except Exception:  # noqa: BLE001 — a broken spec must not stop the health probes
            return {LIVENESS: [], READINESS: []}
        return endpoints.spec_candidates(spec.document if spec else None)

    def _health(self, role: str, path: str, catch_all: Probe | None) -> Probe:
        """One probe per path, shared by both roles (a path tried for liveness is not fetched again)."""
        if path in self._health_cache:
            return self._health_cache[path]
        probe = self._get(role, path, auth=False)
        probe.verdict = endpoints.classify(probe, catch_all)
        self._health_cache[path] = probe
        return probe

    def _retime(self, probe: Probe) -> None:
        for _ in range(TIMING_TRIES - 1):
            again = self._get(probe.role, probe.path, auth=False)
            if again.status is None:
                break
            probe.repeat_ms.append(again.ms)

    def _get(self, role: str, path: str, *, auth: bool) -> Probe:
        if self.ctx.remaining() <= 0:
            raise _OutOfTime
        self.ctx.progress(f"GET {path}")
        try:
            response = self.http.get(path, auth=auth)
        except RequestFailed as exc:
            url = f"{self.http.base_url}{path}"
            return Probe(role=role, path=path, url=url, status=None, error=str(exc).split(": ", 1)[-1],
                         describe=f"GET {url} → no response ({exc})")
        return Probe(role=role, path=path, url=response.url, status=response.status,
                     content_type=response.content_type,
                     content_type_header=response.headers.get("content-type", ""),
                     body=response.text, ms=response.elapsed_s * 1000, describe=response.describe(),
                     evidence=response.evidence(), truncated=response.truncated)


def _judge(got: _Gathered, config: HealthConfig, base_url: str) -> Outcome:
    liveness = endpoints.select(LIVENESS, got.liveness)
    readiness = endpoints.select(READINESS, got.readiness)
    findings: list[Finding] = []
    # A role cut short by the deadline is not reported missing: not every candidate was tried.
    findings += endpoints.judge_role(liveness, required=LIVENESS in got.done, max_ms=config.max_response_ms,
                                     base_url=base_url, catch_all=got.catch_all)
    findings += endpoints.judge_role(readiness, required=config.require_readiness and READINESS in got.done,
                                     max_ms=config.max_response_ms, base_url=base_url, catch_all=got.catch_all)
    unique = {id(p): p for p in got.liveness + got.readiness}.values()
    for probe in unique:
        findings += endpoints.judge_probe(probe)
    findings += endpoints.judge_shared(liveness, readiness)
    facts = metrics.judge(got.metrics, required=config.require_metrics, base_url=base_url,
                          catch_all=got.catch_all, elsewhere=got.metrics_elsewhere) \
        if "metrics" in got.done else metrics.MetricsFacts(
                              state="not-probed")
    findings += facts.findings
    findings = _dedupe(findings)

    summary = "; ".join([_role_summary(liveness), _role_summary(readiness, config.require_readiness),
                         _metrics_summary(facts, config)])
    status = None
    if not got.complete:
        summary += " (stopped at the deadline: not every path was probed)"
        status = Status.WARN
    probes = [p for p in [got.catch_all, *unique, *got.metrics] if p is not None]
    metrics_out: dict[str, Any] = {
        "method": "Anonymous GETs of the liveness and readiness candidate paths (config, else the OpenAPI "
                  "spec's health-looking paths, the paths the repo's Dockerfile HEALTHCHECK, compose healthcheck "
                  "and Kubernetes probes declare, then the conventional ones) until one answers 2xx/3xx, "
                  f"compared with a GET of the non-existent {endpoints.CATCH_ALL_PATH} to rule out catch-all "
                  f"routes; a probe over max_response_ms is re-timed, best of {TIMING_TRIES}; GET of the "
                  "metrics path with the audit's headers, parsed with prometheus_client and linted on the raw "
                  "text (promtool's rules, histogram consistency, duplicates, ID-like labels, RED metrics).",
        "probes": [p.row() for p in probes],
        "liveness_path": liveness.selected.path if liveness.ok and liveness.selected else None,
        "readiness_path": readiness.selected.path if readiness.ok and readiness.selected else None,
        "metrics_path": facts.path if facts.state in ("parsed", "unparseable") else None,
        "metric_families": facts.families,
        "lint_violations": facts.lint_violations,
        "red_request_counter": facts.red.request_counter if facts.red else None,
        "red_duration_histogram": facts.red.duration_histogram if facts.red else None,
        "spec_paths": got.spec_paths,
        "declared_probes": [p.row() for p in got.declared],
        "max_response_ms": config.max_response_ms,
    }
    if facts.state == "elsewhere":
        metrics_out["metrics_elsewhere"] = facts.elsewhere
        metrics_out["not_verified"] = [{
            "what": f"metrics served by a separate server ({facts.elsewhere})",
            "action": "start the service with it on and set [tool.auditor.health] metrics_path to its full URL"}]
    return Outcome(summary=summary, metrics=metrics_out, findings=findings, status=status)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[str] = set()
    out = []
    for finding in findings:
        if finding.fingerprint not in seen:
            seen.add(finding.fingerprint)
            out.append(finding)
    return out


def _role_summary(result: endpoints.RoleResult, required: bool = True) -> str:
    probe = result.selected
    if probe is None:
        tried = len(result.probes)
        return f"no {result.role} endpoint ({tried} paths tried{'' if required else ', not required'})"
    if probe.verdict == OK:
        return f"{result.role} {probe.path} answers {probe.status}"
    if probe.verdict == endpoints.FAIL_BODY:
        return f"{result.role} {probe.path} answers {probe.status} but reports failure"
    if probe.status is None:
        return f"{result.role} {probe.path} gives no response"
    return f"{result.role} {probe.path} answers {probe.status}"


def _metrics_summary(facts: metrics.MetricsFacts, config: HealthConfig) -> str:
    if facts.state == "missing":
        return f"no metrics endpoint at {config.metrics_path}"
    if facts.state == "not-probed":
        return "metrics not probed"
    if facts.state == "elsewhere":
        return f"metrics on a separate server ({facts.elsewhere}), not checked"
    if facts.state == "not-required":
        return "no metrics endpoint (not required)"
    if facts.state in ("refused", "error"):
        return f"{facts.path} could not be read"
    if facts.state == "unparseable":
        return f"{facts.path} does not parse"
    red = facts.red
    red_text = "has RED metrics" if red and red.request_counter and red.duration_histogram else "lacks RED metrics"
    return (f"{facts.path} {red_text} ({facts.families} families, "
            f"{facts.lint_violations} lint problem{'s' if facts.lint_violations != 1 else ''})")
