"""Judging the metrics endpoint from its gathered probe: reachability, content type, parse, lint, RED.
Pure: turns a Probe (and metrics_lint's problems) into findings and facts, no I/O."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from auditor.model import Finding

from checks.health import metrics_lint
from checks.health.endpoints import ABSENT, CATCH_ALL, ERROR, OK, PROTECTED, Probe, same_as
from checks.health.rules import make_finding

# At most this many findings per lint rule; the rest are counted in one more finding.
MAX_PER_RULE = 10


@dataclass
class MetricsFacts:
    path: str | None = None            # where metrics were found
    families: int = 0                  # metric families prometheus_client parsed
    lint_violations: int = 0
    parse_error: str | None = None
    format: str | None = None
    red: metrics_lint.RedMetrics | None = None
    state: str = "missing"             # missing | elsewhere | refused | error | parsed | unparseable | not-required | not-probed
    elsewhere: str | None = None       # the repo's separate metrics server ("file:line (call)"), not checked
    findings: list[Finding] = field(default_factory=list)


def classify(probe: Probe, catch_all: Probe | None) -> str:
    if probe.status is None:
        return ERROR
    if probe.status in (404, 405, 410, 501):
        return ABSENT
    if catch_all is not None and catch_all.status not in (404, 405, 410, 501) and same_as(probe, catch_all):
        return CATCH_ALL
    if probe.status in (401, 403):
        return PROTECTED
    return OK if 200 <= probe.status < 300 else ERROR


def judge(probes: list[Probe], *, required: bool, base_url: str, catch_all: Probe | None,
          elsewhere: str | None = None) -> MetricsFacts:
    """``elsewhere``: the repo's call that serves metrics from a separate server (repo_metrics), if any."""
    facts = MetricsFacts()
    probe = next((p for p in probes if p.verdict == OK), None) or next(
        (p for p in probes if p.verdict in (PROTECTED, ERROR)), None)
    if probe is None and required and elsewhere:
        # Not "no metrics": they are served on another port, which this probe of the service cannot see.
        facts.state = "elsewhere"
        facts.elsewhere = elsewhere
        tried = ", ".join(p.path for p in probes)
        facts.findings.append(make_finding(
            "HLT026", f"No metrics at GET {tried} on the service's port; the repo serves them from a separate "
                      f"server ({elsewhere}), on a port of its own: not checked.",
            {"file": elsewhere.split(":", 1)[0], "line": int(elsewhere.split(":", 1)[1].split(" ", 1)[0])},
            evidence="\n".join(p.describe for p in probes), stable_location={"probe": "metrics"}))
        return facts
    if probe is None:
        facts.state = "missing" if required else "not-required"
        if required:
            tried = ", ".join(p.path for p in probes)
            message = f"no metrics endpoint: GET {tried} — none answered 2xx"
            if any(p.verdict == CATCH_ALL for p in probes) and catch_all is not None:
                message += (f" (answered exactly like the non-existent path {catch_all.path}, "
                            f"{catch_all.status}: a catch-all route)")
            evidence = "\n".join([p.describe for p in probes]
                                 + ([f"(catch-all reference) {catch_all.describe}"] if catch_all else []))
            facts.findings.append(make_finding("HLT020", message, {"url": base_url}, evidence=evidence,
                                               stable_location={"probe": "metrics"}))
        return facts
    facts.path = probe.path
    where = {"endpoint": f"GET {probe.path}"}
    if probe.verdict == PROTECTED:
        facts.state = "refused"
        facts.findings.append(make_finding(
            "HLT023", f"{probe.path} answers {probe.status}: the metrics could not be checked",
            where, evidence=probe.evidence))
        return facts
    if probe.verdict == ERROR:
        facts.state = "error"
        what = f"answers {probe.status}" if probe.status is not None else f"gave no response ({probe.error})"
        facts.findings.append(make_finding("HLT024", f"{probe.path} {what}: scrapes fail", where,
                                           evidence=probe.evidence or probe.describe))
        return facts

    text = probe.body
    fmt, problem = metrics_lint.judge_content_type(probe.content_type_header)
    if problem:
        facts.findings.append(make_finding("HLT021", f"{probe.path}: {problem}", where, evidence=probe.evidence))
    facts.format = fmt or metrics_lint.guess_format(text)
    if probe.truncated:
        text = text[: text.rfind("\n") + 1]  # drop the cut line; the rest is linted
        facts.findings.append(make_finding(
            "HLT025", f"{probe.path} is larger than the audit's response cap: parse check skipped, lint "
            f"ran on the first {len(text)} characters", where, evidence=probe.describe))
    else:
        facts.families, facts.parse_error = metrics_lint.parse_families(text, facts.format)
        if facts.parse_error:
            facts.state = "unparseable"
            facts.findings.append(make_finding(
                "HLT022", f"{probe.path} does not parse as {facts.format} exposition "
                f"(prometheus_client): {facts.parse_error}", where, evidence=probe.evidence))
    exposition = metrics_lint.scan(text)
    if facts.parse_error and (problem or not exposition.families):
        return facts  # likely not metrics at all (an HTML page, JSON): linting it would only add noise
    facts.state = "unparseable" if facts.parse_error else "parsed"
    problems = metrics_lint.lint(exposition)
    facts.lint_violations = len(problems)
    facts.findings += capped_findings(problems, probe.path)
    facts.red = metrics_lint.red_metrics(exposition)
    facts.findings += _red_findings(facts.red, probe)
    return facts


def capped_findings(problems: list[metrics_lint.Problem], path: str) -> list[Finding]:
    """One finding per problem, at most MAX_PER_RULE per rule, then one that counts the rest."""
    by_rule: dict[str, list[metrics_lint.Problem]] = defaultdict(list)
    for problem in problems:
        by_rule[problem.rule_id].append(problem)
    findings: list[Finding] = []
    endpoint = f"GET {path}"
    for rule_id, items in by_rule.items():
        for problem in items[:MAX_PER_RULE]:
            findings.append(make_finding(rule_id, problem.message, {"endpoint": endpoint, "metric": problem.metric},
                                         evidence=problem.message, key=problem.key))
        rest = items[MAX_PER_RULE:]
        if rest:
            names = sorted({p.metric for p in rest})
            shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
            findings.append(make_finding(
                rule_id, f"and {len(rest)} more violations of {rule_id} in: {shown}",
                {"endpoint": endpoint, "metric": "(more)"}, evidence="\n".join(p.message for p in rest[:50]),
                title=None))
    return findings


def _red_findings(red: metrics_lint.RedMetrics, probe: Probe) -> list[Finding]:
    findings = []
    where: dict[str, Any] = {"endpoint": f"GET {probe.path}"}
    near = "; ".join(red.near_misses)
    if red.request_counter is None:
        findings.append(make_finding(
            "HLT050", f"{probe.path} has no request counter with a status label (looked for a counter "
            f"whose name contains 'request' with one of the labels {', '.join(metrics_lint.STATUS_LABELS)})"
            + (f"; near misses: {near}" if near else ""), where, evidence=probe.describe))
    if red.duration_histogram is None:
        findings.append(make_finding(
            "HLT051", f"{probe.path} has no request duration histogram in seconds (looked for a histogram "
            f"named *_seconds containing request, duration or latency)" + (f"; near misses: {near}" if near else ""),
            where, evidence=probe.describe))
    return findings
