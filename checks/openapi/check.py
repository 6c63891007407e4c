"""The openapi check: the document (acquired and validated: spec.py), the endpoint inventory and its
diff against --baseline (inventory.py), documentation completeness (completeness.py) and live
conformance through schemathesis (conformance.py → st_adapter.py, in a child process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from auditor.interface import AuditContext, Safety
from auditor.model import Finding, Outcome, Section, Severity, Status
from auditor.operations import operations

from checks.openapi import authmodes, boundaries, completeness, conformance, inventory, st_adapter
from checks.openapi.config import OpenApiConfig
from checks.openapi.rules import COMPLETENESS_RULES, make_finding
from checks.openapi.spec import SpecInfo, acquire, line_of


class OpenApiCheck:
    id: ClassVar[str] = "openapi"
    title: ClassVar[str] = "OpenAPI documentation and conformance"
    section: ClassVar[Section] = Section.OPENAPI
    # Nothing is strictly needed: completeness works from a --spec file alone, conformance runs only when
    # there is a service. The check itself skips when no document is found, and errors when the --spec
    # named cannot be used (the runner's generic "spec" need would turn that into a silent skip).
    needs: ClassVar[frozenset[str]] = frozenset()
    safety: ClassVar[Safety] = Safety.PASSIVE   # GET/HEAD/OPTIONS unless writes = true on a writable target
    config_model: ClassVar[type[OpenApiConfig]] = OpenApiConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, OpenApiConfig) else OpenApiConfig.model_validate(
            ctx.config.model_dump())
        ctx.progress("loading the OpenAPI document")
        spec = acquire(ctx)
        ops = operations(spec.document)
        findings: list[Finding] = []
        doc_location, doc_stable = _document_location(spec, ctx.target.repo)

        if spec.validation_errors:
            first = spec.validation_errors[0]
            where = dict(doc_location)
            line = line_of(spec.source, first) if "file" in doc_location else None
            if line is not None:
                where["line"] = line   # the fingerprint keeps doc_stable: lines move
            findings.append(make_finding(
                "OAS001", f"openapi-spec-validator rejects the document ({spec.version}): {first}",
                where, evidence="\n".join(spec.validation_errors), stable_location=doc_stable))
        if not ops:
            findings.append(make_finding("OAS002", "The document has no operations under paths.", doc_location,
                                         stable_location=doc_stable))

        rows = sorted((inventory.endpoint_row(op) for op in ops), key=lambda r: (r["path"], r["method"]))
        changes = None
        baseline_path = ctx.settings.get("baseline")
        if baseline_path:
            baseline = inventory.load_baseline(baseline_path)
            delta = inventory.diff(baseline, ops)
            changes = delta.metrics(baseline)
            findings += _breaking_findings(delta)

        plan = conformance.plan(ctx, config, spec.document, spec.source_url, ops)
        # The audit's request plan (live values, how secured operations treat anonymous callers): built
        # here, before any conformance request, and shared with the checks after this one.
        request_plan = None
        if plan.job is not None and not ctx.should_stop():
            ctx.progress("planning one GET per operation (live values, one preflight each)")
            request_plan = ctx.artifacts.request_plan(ctx.should_stop, ctx.progress)
        design = authmodes.classify(request_plan)

        ctx.progress("judging documentation completeness")
        judged = completeness.judge(spec.document, ops, config, frozenset(design.endpoints))
        findings += _completeness_findings(judged, doc_location, doc_stable)

        result = None
        bounds = None
        if plan.job is not None and not ctx.should_stop():
            if request_plan is not None:
                # Boundary values first (GET only, on the planned requests): before any write can remove
                # what the plan's values name; judged after schemathesis, so a 5xx is reported once.
                bounds = boundaries.probe(request_plan.requests, ctx.http, ctx.should_stop, ctx.progress)
                plan.job.document = conformance.with_live_examples(plan.job.document, request_plan.requests)
            ctx.progress(f"conformance: schemathesis against {plan.job.base_url}")
            result = st_adapter.run(plan.job, ctx.tmp_dir / "schemathesis", should_stop=ctx.should_stop,
                                    remaining=ctx.remaining, progress=ctx.progress)
            no_401 = frozenset(f.location.get("endpoint", "") for f in findings if f.rule_id == "OAS027")
            findings += conformance.judge(result, plan.job, ops, frozenset(design.endpoints),
                                          no_401_documented=no_401)
            if bounds is not None:
                findings += boundaries.findings(bounds, findings)
            findings = authmodes.fold_ignored_auth(design, findings)
            if plan.writes:
                ctx.artifacts.forget_plan()   # the writes may have removed what the plan's values name
        findings += authmodes.findings(design, doc_location, doc_stable)

        metrics: dict[str, Any] = {
            "method": _method_sentence(spec, plan, config),
            "operations": len(ops),
            "completeness_percent": judged.percent,
            "endpoints": rows,
            "spec": {"source": spec.source, "found_by": spec.found_by, "version": spec.version,
                     "valid": not spec.validation_errors if spec.validated else None,
                     "errors": spec.validation_errors, "validation_note": spec.validation_note or None,
                     "external_refs": spec.external_refs[:20], "nodes": spec.nodes},
            "completeness": {
                "rules": [r.id for r in COMPLETENESS_RULES if r.scope == "operation"],
                "document": [{"rule_id": r.rule_id, "passed": r.passed, "message": r.message} for r in judged.document],
                "operations": judged.table(),
                "rate_limited": judged.rate_limited,
            },
            "changes": changes,
            "conformance": {**conformance.summary_metrics(plan, result),
                            **({"boundary_requests": bounds.sent, "boundary_operations": len(bounds.tried),
                                "boundary_server_errors": [h.endpoint for h in bounds.hits]} if bounds else {})},
            "authentication": design.metrics(),
            "plan": request_plan.metrics() if request_plan is not None else None,
        }
        status = Status.WARN if result is not None and not result.complete else None
        return Outcome(summary=_summary(len(ops), judged.percent, spec, changes, plan, result, bounds, findings),
                       metrics=metrics, findings=findings, status=status)


def _document_location(spec: SpecInfo, repo: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Where document-level findings point, and what their fingerprint is computed from: the URL's path
    (never its port), or the file relative to the repo — else its name, never the directory it sits in,
    which differs between checkouts, CI workspaces and temp dirs."""
    if spec.source_url:
        from urllib.parse import urlsplit

        return {"url": spec.source}, {"spec": urlsplit(spec.source).path or "/"}
    # A document inside the repo is shown, like every other repo finding, relative to it (SARIF and code
    # review tools resolve it there); one outside it keeps the path it was given.
    in_repo = _repo_relative(spec.source, repo)
    return {"file": in_repo or spec.source}, {"file": in_repo or Path(spec.source).name or spec.source}


def _repo_relative(source: str, repo: Path | None) -> str | None:
    if repo is None:
        return None
    try:
        return Path(source).resolve().relative_to(Path(repo).resolve()).as_posix()
    except (OSError, ValueError):
        return None   # not under the repo


def _completeness_findings(judged: completeness.Completeness, doc_location: dict[str, Any],
                           doc_stable: dict[str, Any]) -> list[Finding]:
    findings = [make_finding(r.rule_id, r.message[0].upper() + r.message[1:] + ".", doc_location,
                             stable_location=doc_stable)
                for r in judged.document if not r.passed]
    for endpoint, results in judged.operations.items():
        findings += [make_finding(r.rule_id, f"{endpoint} {r.message}.", {"endpoint": endpoint}, evidence=r.evidence)
                     for r in results if not r.passed]
    return findings


def _breaking_findings(delta: inventory.Diff) -> list[Finding]:
    findings = []
    for change in delta.breaking:
        severity = None
        if change.rule_id == "OAS507" and not change.success_status:
            severity = Severity.LOW  # a removed error status rarely breaks a client; a removed 2xx does
        findings.append(make_finding(change.rule_id, change.message + ".", {"endpoint": change.endpoint},
                                     key=change.key, severity=severity))
    return findings


def _method_sentence(spec: SpecInfo, plan: conformance.Plan, config: OpenApiConfig) -> str:
    text = (f"Document {spec.source} (OpenAPI {spec.version}) validated with openapi-spec-validator and walked "
            "for the endpoint inventory and the completeness rules (external $refs are never followed).")
    if plan.job is None:
        return text + f" No live conformance: {plan.reason}."
    job = plan.job
    return text + (
        f" Live conformance with schemathesis against {job.base_url}: phases {', '.join(job.phases)}, "
        f"at most {job.max_examples} generated examples per operation and phase, seed {job.seed}, "
        f"request timeout {job.request_timeout:g} s, rate limit {job.rate_limit or 'none'}, "
        f"methods {', '.join(job.methods)}"
        + (" (WRITES ENABLED: POST/PUT/PATCH/DELETE were sent, stateful phase on)" if plan.writes else
           " (read-only: no unsafe method, no unexpected-method probes, no stateful phase, no sign-up)")
        + f", credentials {'from --header' if job.headers else 'none'}; run in a child process in the "
          "auditor's own working directory with an explicit config.")


def _summary(count: int, percent: float, spec: SpecInfo, changes: dict[str, Any] | None, plan: conformance.Plan,
             result: st_adapter.StResult | None, bounds: boundaries.Result | None, findings: list[Finding]) -> str:
    parts = [f"{count} operation{'s' if count != 1 else ''}", f"completeness {percent:g} %"]
    if spec.validation_errors:
        parts.append("document INVALID")
    elif not spec.validated:
        parts.append("validity unknown (validator too slow)")
    if changes is not None:
        parts.append(f"vs baseline: {len(changes['created'])} created, {len(changes['modified'])} modified, "
                     f"{len(changes['removed'])} removed, {changes['breaking_changes']} breaking")
    if result is None:
        parts.append(f"no conformance run ({plan.reason})" if plan.reason else "no conformance run")
    else:
        failing = sorted({f.location["endpoint"] for f in findings if "endpoint" in f.location
                          and f.rule_id[3] in "1234"})   # OAS1xx-4xx: conformance failures reported
        extra = f" (+{bounds.sent} boundary values)" if bounds and bounds.sent else ""
        text = f"conformance: {result.requests} requests{extra}, "
        text += (f"failures at {', '.join(failing[:3])}{' …' if len(failing) > 3 else ''}" if failing
                 else "no failures")
        if not result.complete:
            text += " (incomplete)"
        parts.append(text)
    return "; ".join(parts)

