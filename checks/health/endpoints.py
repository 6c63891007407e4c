"""Liveness and readiness: where to look (defaults, the OpenAPI spec, config) and how to judge what came
back. Everything here is pure: it works on Probe records gathered by check.py, never on the network."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from auditor.model import Finding

from checks.health.rules import make_finding

LIVENESS = "liveness"
READINESS = "readiness"

# Most specific first: the Kubernetes names, then the common ones.
LIVENESS_PATHS = ("/livez", "/healthz", "/health", "/health/live", "/health/liveness", "/-/healthy", "/ping",
                  "/actuator/health/liveness", "/actuator/health")
READINESS_PATHS = ("/readyz", "/health/ready", "/health/readiness", "/ready", "/-/ready",
                   "/actuator/health/readiness")

# A path nothing serves: what the service answers here tells a catch-all route from a real endpoint.
CATCH_ALL_PATH = "/backend-auditor-probe-no-such-path"

# Verdicts of one probe.
OK = "ok"                  # 2xx/3xx (redirects are followed), body does not say it is failing
ABSENT = "absent"          # 404/405/410/501: nothing there
CATCH_ALL = "catch-all"    # answered exactly like a path that does not exist
PROTECTED = "protected"    # 401/403 to an anonymous probe
ERROR = "error"            # 5xx, another 4xx, or no response at all
FAIL_BODY = "fail-body"    # 2xx/3xx but the body reports fail/down

_ABSENT_STATUSES = {404, 405, 410, 501}


@dataclass
class Probe:
    """One GET, as gathered: enough to judge it and to show it as evidence."""

    role: str
    path: str
    url: str
    status: int | None          # None: no HTTP response (error says why)
    content_type: str = ""      # media type only, lower case
    content_type_header: str = ""
    body: str = ""
    ms: float = 0.0
    error: str | None = None
    describe: str = ""          # "GET url → 200 (3 ms)"
    evidence: str = ""          # request line, headers, body excerpt
    truncated: bool = False
    repeat_ms: list[float] = field(default_factory=list)  # extra timings taken when the first was slow
    verdict: str = ""

    @property
    def best_ms(self) -> float:
        return min([self.ms, *self.repeat_ms])

    def row(self) -> dict[str, Any]:
        """The metrics view of a probe."""
        return {"role": self.role, "path": self.path, "status": self.status, "ms": round(self.ms, 1),
                "content_type": self.content_type, "verdict": self.verdict}


# ----------------------------------------------------------------------------------------------------
# Where to look

# Tokens (camelCase and punctuation split) that name a role. Whole tokens only: "healthcare" or
# "already" do not count.
_ROLE_WORDS = {READINESS: frozenset({"ready", "readyz", "readiness"}),
               LIVENESS: frozenset({"live", "livez", "liveness", "alive", "ping"})}
# "health" names either role. Beside a separate liveness path (/probe/live next to /probe/health) it is the
# one that checks the dependencies: a readiness candidate too (seen on a real FastAPI service whose
# /probe/health opens a database session).
_HEALTH_WORDS = frozenset({"health", "healthz", "healthcheck", "healthy"})


def spec_candidates(document: dict[str, Any] | None) -> dict[str, list[str]]:
    """Health-looking GET paths in the OpenAPI document, by role. A path (or its operationId, summary
    or tags) mentioning ready/readiness is a readiness candidate; live/health/ping a liveness one.
    Templated paths are skipped: a probe cannot fill them."""
    found: dict[str, list[str]] = {LIVENESS: [], READINESS: []}
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        return found
    prefix = _server_prefix(document)
    health: list[str] = []
    for path, item in document["paths"].items():
        if not isinstance(path, str) or "{" in path or not isinstance(item, dict):
            continue
        operation = item.get("get")
        if not isinstance(operation, dict):
            continue
        words = " ".join([path, str(operation.get("operationId", "")), str(operation.get("summary", "")),
                          " ".join(str(t) for t in operation.get("tags", []) or [])])
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", words).lower()  # readinessProbe → readiness probe
        tokens = set(re.split(r"[^a-z]+", words)) - {""}
        role = READINESS if tokens & _ROLE_WORDS[READINESS] else (
            LIVENESS if tokens & _ROLE_WORDS[LIVENESS] else ("health" if tokens & _HEALTH_WORDS else None))
        if role:
            into = health if role == "health" else found[role]
            for full in ([prefix + path] if prefix else []) + [path]:
                if full not in into:
                    into.append(full)
    found[LIVENESS] += [p for p in health if p not in found[LIVENESS]]
    if len(found[LIVENESS]) > len(health):   # a separate liveness path: the health one is for readiness
        found[READINESS] += [p for p in health if p not in found[READINESS]]
    return found


def _server_prefix(document: dict[str, Any]) -> str:
    """The path part of the first server URL ("/api/v1"), which the spec's paths are relative to."""
    servers = document.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        url = str(servers[0].get("url", ""))
        path = urlsplit(url).path if "://" in url else url
        return path.rstrip("/") if path.startswith("/") else ""
    base = document.get("basePath")  # Swagger 2
    return base.rstrip("/") if isinstance(base, str) and base.startswith("/") else ""


def candidates(role: str, configured: list[str] | None, from_spec: list[str]) -> list[str]:
    """Paths to try for a role, in order: the configured ones alone when given (an override), else
    the spec's, then the conventional ones."""
    if configured:
        return _dedupe(_slash(p) for p in configured)
    defaults = LIVENESS_PATHS if role == LIVENESS else READINESS_PATHS
    return _dedupe([*from_spec, *defaults])


def _slash(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _dedupe(paths: Any) -> list[str]:
    out: list[str] = []
    for path in paths:
        if path not in out:
            out.append(path)
    return out


# ----------------------------------------------------------------------------------------------------
# Judging one probe

_PASS = {"pass", "ok", "up", "healthy", "green", "serving"}
_WARN = {"warn", "warning", "degraded"}
_FAIL = {"fail", "down", "error", "unhealthy", "critical", "red", "not_serving", "out_of_service"}


@dataclass
class HealthBody:
    """What a JSON health body says. kind: "health+json" (the IETF draft's media type) or "json"."""

    kind: str
    status: str | None      # the raw "status" member
    meaning: str | None     # pass | warn | fail, or None when not understood
    problem: str = ""       # why a health+json body is invalid


def read_health_body(probe: Probe) -> HealthBody | None:
    """The status a JSON health body reports; None for non-JSON bodies (plain "ok" is fine)."""
    health_json = probe.content_type == "application/health+json"
    if not (health_json or probe.content_type == "application/json" or probe.content_type.endswith("+json")):
        return None
    kind = "health+json" if health_json else "json"
    try:
        document = json.loads(probe.body)
    except ValueError:
        return HealthBody(kind, None, None, "the body is not JSON")
    if not isinstance(document, dict):
        return HealthBody(kind, None, None, "the body is not a JSON object")
    status = document.get("status")
    if not isinstance(status, str):
        return HealthBody(kind, None, None, 'the object has no string "status" member')
    word = status.strip().lower()
    meaning = "pass" if word in _PASS else "warn" if word in _WARN else "fail" if word in _FAIL else None
    problem = "" if meaning else f'status {status!r} is none of "pass", "warn", "fail"'
    return HealthBody(kind, status, meaning, problem)


def same_as(probe: Probe, other: Probe | None) -> bool:
    """Did ``probe`` answer exactly like ``other`` (the catch-all probe), paths aside?"""
    if other is None or probe.status is None or probe.status != other.status:
        return False
    if probe.content_type != other.content_type:
        return False
    return probe.body.replace(probe.path, "") == other.body.replace(other.path, "")


def classify(probe: Probe, catch_all: Probe | None) -> str:
    if probe.status is None:
        return ERROR
    if probe.status in _ABSENT_STATUSES:
        return ABSENT
    if same_as(probe, catch_all) and catch_all is not None and catch_all.status not in _ABSENT_STATUSES:
        return CATCH_ALL
    if probe.status in (401, 403):
        return PROTECTED
    if 200 <= probe.status < 400:
        body = read_health_body(probe)
        return FAIL_BODY if body and body.meaning == "fail" else OK
    return ERROR


# ----------------------------------------------------------------------------------------------------
# Judging a role


@dataclass
class RoleResult:
    role: str
    probes: list[Probe]
    selected: Probe | None      # the endpoint that serves the role (first OK, else the first that exists)

    @property
    def ok(self) -> bool:
        return self.selected is not None and self.selected.verdict == OK


def select(role: str, probes: list[Probe]) -> RoleResult:
    chosen = next((p for p in probes if p.verdict == OK), None)
    if chosen is None:
        chosen = next((p for p in probes if p.verdict in (FAIL_BODY, ERROR, PROTECTED)), None)
    return RoleResult(role, probes, chosen)


def judge_role(result: RoleResult, *, required: bool, max_ms: float, base_url: str,
               catch_all: Probe | None) -> list[Finding]:
    """Findings for one role: missing, and for every endpoint that exists, how it answered."""
    findings: list[Finding] = []
    tried = list(result.probes)
    if result.selected is None:
        if required:
            rule = "HLT001" if result.role == LIVENESS else "HLT002"
            findings.append(make_finding(rule, _missing_message(result, catch_all), {"url": base_url},
                                         evidence=_evidence_lines(tried, catch_all),
                                         stable_location={"probe": result.role}))
        return findings
    selected = result.selected
    if selected.verdict == PROTECTED:
        findings.append(make_finding(
            "HLT010", f"{result.role} endpoint {selected.path} answers {selected.status} to an anonymous GET; "
            f"orchestrator probes send no credentials, so they would fail", _where(selected),
            evidence=selected.evidence))
    if selected.verdict == OK and selected.best_ms > max_ms:
        timings = ", ".join(f"{ms:.0f}" for ms in [selected.ms, *selected.repeat_ms])
        findings.append(make_finding(
            "HLT003", f"{result.role} endpoint {selected.path} took {selected.best_ms:.0f} ms at best "
            f"(max_response_ms = {max_ms:.0f}; samples: {timings} ms)", _where(selected),
            evidence=selected.describe))
    return findings


def judge_probe(probe: Probe) -> list[Finding]:
    """Findings about one health endpoint that exists, whatever role it was tried for."""
    findings: list[Finding] = []
    if probe.verdict == ERROR:
        what = f"answers {probe.status}" if probe.status is not None else f"gave no response ({probe.error})"
        findings.append(make_finding(
            "HLT004", f"{probe.role} endpoint {probe.path} {what}: probes against it fail",
            _where(probe), evidence=probe.evidence or probe.describe))
    if probe.verdict in (OK, FAIL_BODY, ERROR, PROTECTED):
        body = read_health_body(probe)
        if body is not None:
            findings += _judge_body(probe, body)
    return findings


def _judge_body(probe: Probe, body: HealthBody) -> list[Finding]:
    findings: list[Finding] = []
    success = probe.status is not None and 200 <= probe.status < 400
    if body.meaning == "fail" and success:
        findings.append(make_finding(
            "HLT005", f"{probe.path} answers {probe.status} but its body says status {body.status!r}: "
            f"probes see a healthy service", _where(probe), evidence=probe.evidence))
    if body.kind != "health+json":
        return findings
    if body.problem:
        findings.append(make_finding(
            "HLT007", f"{probe.path} is served as application/health+json but {body.problem}",
            _where(probe), evidence=probe.evidence))
    elif body.status not in ("pass", "warn", "fail"):
        findings.append(make_finding(
            "HLT008", f"{probe.path} reports status {body.status!r}; application/health+json defines "
            f"pass/warn/fail (read here as {body.meaning})", _where(probe), evidence=probe.evidence))
    if body.meaning in ("pass", "warn") and probe.status is not None and probe.status >= 400:
        findings.append(make_finding(
            "HLT006", f"{probe.path} says status {body.status!r} but answers {probe.status} "
            f"(pass/warn go with 2xx-3xx)", _where(probe), evidence=probe.evidence))
    return findings


def judge_shared(liveness: RoleResult, readiness: RoleResult) -> list[Finding]:
    if liveness.ok and readiness.ok and liveness.selected and readiness.selected \
            and liveness.selected.path == readiness.selected.path:
        path = liveness.selected.path
        return [make_finding(
            "HLT009", f"{path} serves both liveness and readiness; a dependency outage would fail liveness "
            f"too and restart every instance", _where(liveness.selected), evidence=liveness.selected.describe)]
    return []


def _where(probe: Probe) -> dict[str, Any]:
    return {"endpoint": f"GET {probe.path}"}


def _missing_message(result: RoleResult, catch_all: Probe | None) -> str:
    paths = ", ".join(p.path for p in result.probes) or "(none)"
    counts: dict[str, int] = {}
    for probe in result.probes:
        counts[probe.verdict] = counts.get(probe.verdict, 0) + 1
    message = f"no {result.role} endpoint: GET {paths} — none answered 2xx/3xx"
    if counts.get(CATCH_ALL):
        message += (f"; {counts[CATCH_ALL]} answered exactly like the non-existent {CATCH_ALL_PATH} "
                    f"({catch_all.status if catch_all else '?'}), so they are a catch-all route, not an endpoint")
    return message


def _evidence_lines(probes: list[Probe], catch_all: Probe | None) -> str:
    lines = [p.describe for p in probes]
    if catch_all is not None:
        lines.append(f"(catch-all reference) {catch_all.describe}")
    return "\n".join(lines)
