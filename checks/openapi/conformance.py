"""Live conformance: build the schemathesis job from the audit's context (safety first), and judge the
results into findings (pure: testable from a saved StResult)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from auditor.defects import server_error_defect
from auditor.http import HttpClient
from auditor.interface import AuditContext
from auditor.model import Finding, Severity
from auditor.operations import Operation, base_path, is_swagger2
from auditor.planner import PlannedRequest
from auditor.redact import MASK as MASK  # what masked text reads as (re-exported for tests)
from auditor.redact import Redactor

from checks.openapi.config import KNOWN_ST_CHECKS, WRITE_ST_CHECKS, OpenApiConfig
from checks.openapi.rules import make_finding, rule_for_st_code
from checks.openapi.st_adapter import SAFE_METHODS, UNSAFE_METHODS, StFailure, StJob, StResult

AUTH_STATUSES = frozenset({401, 403})


@dataclass
class Plan:
    job: StJob | None
    reason: str                # why conformance does not run (job is None), else ""
    writes: bool


def credentials(http: HttpClient) -> dict[str, str]:
    """The headers the user supplied (--header / config): they go to schemathesis and nowhere else.
    Names keep their case: schemathesis' auth probes remove "Authorization" case-sensitively, so a
    lower-cased name would survive the "without credentials" probe."""
    return http.supplied_headers()


def plan(ctx: AuditContext, config: OpenApiConfig, document: dict[str, Any], source_url: str | None,
         ops: list[Operation]) -> Plan:
    if not config.conformance:
        return Plan(None, "conformance = false in [tool.auditor.openapi]", False)
    if not ctx.http.base_url:
        return Plan(None, "no service URL (documentation judged from the document alone)", False)
    if not ops:
        return Plan(None, "the document declares no operations", False)
    writes = config.writes and not ctx.read_only
    methods = [*SAFE_METHODS, *UNSAFE_METHODS] if writes else list(SAFE_METHODS)
    if not any(op.method in methods for op in ops):
        return Plan(None, "no operation the audit may call (read-only: GET/HEAD/OPTIONS only)", False)
    checks = [c for c in config.checks if writes or c not in WRITE_ST_CHECKS]
    if writes:
        checks += [c for c in WRITE_ST_CHECKS if c not in checks]
    job = StJob(document=document, base_url=ctx.http.base_url + base_path(document, source_url),
                headers=credentials(ctx.http), seed=ctx.seed, max_examples=config.max_examples,
                request_timeout=config.request_timeout, rate_limit=config.rate_limit, checks=checks,
                phases=list(config.phases), methods=methods, max_seconds=config.conformance_seconds,
                known_checks=list(KNOWN_ST_CHECKS), stateful=writes)
    return Plan(job, "", writes)


def with_live_examples(document: dict[str, Any], plans: list[PlannedRequest]) -> dict[str, Any]:
    """A copy of the document where each planned GET's path parameters carry the live value the planner
    found as their example: schemathesis' examples phase then requests resources that exist, and their
    success responses are checked against the document (instead of a run of 404s)."""
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return document
    swagger = is_swagger2(document)
    new_paths = dict(paths)
    for planned in plans:
        path_params = {p.name: p for p in planned.operation.params_in("path")}
        live = {name: planned.params[name] for name, source in planned.sources.items()
                if source.startswith("live") and name in path_params and name in planned.params}
        item = new_paths.get(planned.operation.path)
        if not live or not isinstance(item, dict) or not isinstance(item.get("get"), dict):
            continue
        operation = dict(item["get"])
        own = [p for p in operation.get("parameters") or [] if _param_key(document, p) not in
               {(name, "path") for name in live}]
        for name, value in live.items():
            param = path_params[name]
            entry: dict[str, Any] = {"name": name, "in": "path", "required": True}
            if param.description:
                entry["description"] = param.description
            if swagger:
                entry.update({**param.schema, "x-example": value})
            else:
                entry.update({"schema": param.schema, "example": value})
            own.append(entry)
        operation["parameters"] = own
        new_paths[planned.operation.path] = {**item, "get": operation}
    return {**document, "paths": new_paths}


def _param_key(document: dict[str, Any], param: Any) -> tuple[str, str] | None:
    if isinstance(param, dict) and isinstance(param.get("$ref"), str) and param["$ref"].startswith("#/"):
        node: Any = document
        for token in param["$ref"][2:].split("/"):
            node = node.get(token.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        param = node
    if isinstance(param, dict):
        return str(param.get("name")), str(param.get("in"))
    return None


def _crash_is_a_server_error(failure: StFailure) -> StFailure:
    """"Ignored auth" (ST401) that answered 5xx did not accept the credential: it crashed on it. Said as
    the server error it is, never as "accepts anonymous or invalid credentials"."""
    if rule_for_st_code(failure.code) == "OAS401" and (failure.status or 0) >= 500:
        return replace(failure, code="ST101", title="Server error on a request without valid credentials")
    return failure


def judge(result: StResult, job: StJob, ops: list[Operation], by_design: frozenset[str] = frozenset(), *,
          no_401_documented: frozenset[str] = frozenset()) -> list[Finding]:
    """Findings from the run. ``by_design``: secured operations that answer anonymous callers on purpose
    (optional authentication, public reads: authmodes.py), where "ignored auth" and "undocumented 401"
    are not problems. ``no_401_documented``: secured operations the completeness rules already report
    for documenting no 401 (OAS027): their answering an undocumented 401 is that gap seen live, one
    problem reported once, there."""
    # The audit's own rules for secrets (auditor.redact): the runner scrubs the report with them too, but
    # findings are masked here already so a judged result is safe wherever it is shown.
    mask = Redactor(list(job.headers.values())).scrub
    findings: list[Finding] = []
    grouped: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    secured = {op.endpoint for op in ops if op.secured}
    refusals: dict[str, set[int]] = defaultdict(set)   # secured endpoint -> undocumented 401/403 it answered
    # One defect, one finding: a 5xx answer is a server error (OAS101); the same answers failing other
    # checks (undocumented status, wrong content type or schema) are that error seen again.
    failures = [_crash_is_a_server_error(f) for f in result.failures]
    server_errors = {f.endpoint for f in failures if rule_for_st_code(f.code) == "OAS101"}
    also: dict[str, set[str]] = defaultdict(set)
    for failure in failures:
        rule_id = rule_for_st_code(failure.code)
        if failure.endpoint in by_design and (rule_id == "OAS401" or (rule_id == "OAS103" and failure.status == 401)):
            continue
        if rule_id != "OAS101" and failure.endpoint in server_errors and (failure.status or 0) >= 500:
            also[failure.endpoint].add(f"{rule_id} ({failure.title})")
            continue
        if rule_id == "OAS103" and failure.status in AUTH_STATUSES and failure.endpoint in secured:
            if not (failure.status == 401 and failure.endpoint in no_401_documented):
                refusals[failure.endpoint].add(failure.status)   # one finding for all of them, below
            continue
        # codes we do not map share OAS199 but stay apart: each is its own problem
        grouped[(rule_id, failure.endpoint, failure.code if rule_id == "OAS199" else "")].append(failure)
    for (rule_id, endpoint, _code), failures in grouped.items():
        first = failures[0]
        phases = sorted({f.phase for f in failures if f.phase})
        detail = " ".join((first.message or "").split())[:400]
        status = f"answered {first.status}; " if first.status else ""
        message = (f"{endpoint}: {first.title} [{first.code or 'unknown code'}] — {status}"
                   f"{detail + '; ' if detail else ''}{len(failures)} failing request"
                   f"{'s' if len(failures) != 1 else ''} ({', '.join(phases) or 'schemathesis'} phase"
                   f"{'s' if len(phases) != 1 else ''}).")
        if rule_id == "OAS101" and also.get(endpoint):
            message += f" The same answers also failed: {', '.join(sorted(also[endpoint]))} — one problem, reported here."
        explanation = (first.message or "").strip()[:600]
        evidence = f"{first.curl}\n# {first.title}" + (f": {explanation}" if explanation else "")
        finding = make_finding(rule_id, mask(message), {"endpoint": endpoint},
                               evidence=mask(evidence), key=first.code if rule_id == "OAS199" else "")
        if rule_id == "OAS101":
            finding.defect = server_error_defect(endpoint)   # the latency check's LAT002 may see it too
        findings.append(finding)
    if refusals:
        findings.append(_undocumented_refusals(refusals, job))
    for endpoint, statuses in sorted(result.statuses.items()):
        refused = sum(n for status, n in statuses.items() if status in AUTH_STATUSES)
        succeeded = any(200 <= status < 300 for status in statuses)
        if endpoint in secured and refused and not succeeded:
            given = bool(job.headers)
            findings.append(make_finding(
                "OAS090",
                f"{endpoint}: no conformance request got a 2xx; {refused} of {sum(statuses.values())} answered "
                f"{'/'.join(str(s) for s in sorted(statuses) if s in AUTH_STATUSES)}"
                + (": the credentials given with --header were refused" if given else
                   " (no credentials given), so its success responses were not checked"),
                {"endpoint": endpoint}, severity=Severity.LOW if given else Severity.INFO))
    if not result.complete or result.errors:
        # An operation schemathesis could not test (an unsatisfiable schema, a request it could not
        # build) leaves the run finished but the testing incomplete all the same.
        why = "; ".join(filter(None, [result.stopped, *result.errors[:2]])) or "the run did not finish"
        what = "stopped early" if not result.complete else "finished, but not every operation could be tested"
        findings.append(make_finding("OAS091", f"Conformance testing {what}: {mask(why)} "
                                     f"(after {result.requests} requests).", {"url": job.base_url},
                                     stable_location={"conformance": "run"}))
    return findings


MAX_LISTED = 10


def _undocumented_refusals(refusals: dict[str, set[int]], job: StJob) -> Finding:
    """Secured operations refusing a caller with a 401/403 their documentation does not list: one finding
    listing them (NetBox: 129 operations answering 403 without credentials), not one per operation — it is
    one gap, usually fixed once in a shared response component."""
    statuses = "/".join(str(s) for s in sorted(set().union(*refusals.values())))
    listed = sorted(refusals)
    shown = ", ".join(listed[:MAX_LISTED]) + (f" and {len(listed) - MAX_LISTED} more" if len(listed) > MAX_LISTED
                                              else "")
    who = "with the credentials given" if job.headers else "without credentials"
    return make_finding(
        "OAS103", f"{len(listed)} secured operation{'s' if len(listed) != 1 else ''} answered {statuses} "
                  f"{who}, a status {'their' if len(listed) != 1 else 'its'} documentation does not list: {shown}. "
                  "Document the refusal once (a shared response component) on every secured operation.",
        {"url": job.base_url}, key="auth-status",
        stable_location={"conformance": "undocumented authentication errors"})


def summary_metrics(plan_: Plan, result: StResult | None) -> dict[str, Any]:
    job = plan_.job
    if job is None or result is None:
        return {"ran": False, "reason": plan_.reason}
    return {
        "ran": True,
        "tool": f"schemathesis {result.version}".strip(),
        "base_url": job.base_url,
        "seed": job.seed,
        "max_examples": job.max_examples,
        "phases": job.phases + (["stateful"] if job.stateful else []),
        "checks": job.checks,
        "methods": job.methods,
        "writes_enabled": plan_.writes,
        "credentials": bool(job.headers),
        "requests": result.requests,
        "operations_tested": len(result.statuses),
        "failures": len(result.failures),
        "complete": result.complete,
        "stopped": result.stopped or None,
        "errors": result.errors[:5],
        "blocked_requests": result.blocked[:10],
        "duration_s": round(result.duration_s, 2),
    }
