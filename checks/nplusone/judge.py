"""Judging: from the profiled requests of each endpoint to NPQ findings and the per-endpoint metrics.
Pure functions: everything here works on saved ProfiledRequest records, with no service or database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor.model import Finding, Severity

from checks.nplusone.analysis import Group, Repeat, data_statements, fingerprints_of, repeating_group, repeats
from checks.nplusone.config import NPlusOneConfig
from checks.nplusone.fingerprint import cached_fingerprint
from checks.nplusone.model import ProfiledRequest, Statement, StatementStats
from checks.nplusone.pretty import pretty_sql, short_sql
from checks.nplusone.rules import make_finding
from checks.nplusone.scaling import Growth, growth

SAMPLE_VALUES = 3   # values of a repeated statement shown in evidence


@dataclass
class EndpointProfile:
    """Everything gathered for one operation: its main request (the larger page when two were taken)
    and, for the scaling proof, the smaller page."""

    endpoint: str
    main: ProfiledRequest
    small: ProfiledRequest | None = None
    single_object: bool = False       # a templated path answering one object, not a list
    page_parameter: str | None = None
    notes: list[str] = field(default_factory=list)


def judge_endpoint(profile: EndpointProfile, config: NPlusOneConfig, framework: str | None) -> list[Finding]:
    request = profile.main
    statements = data_statements(request.statements)
    if len(statements) < 2:
        return []
    location = {"endpoint": profile.endpoint}
    findings: list[Finding] = []
    stats = _stats_by_shape(request)
    group = repeating_group(statements, min_repeats=config.group_repeats)
    grouped = set(group.fingerprints) if group else set()
    reps = repeats(statements)
    # One finding per defect, at its true count: a statement that crosses the threshold by itself is its
    # own N+1 (15 runs of the tag query are 15, not "a group of 2 repeated 4 times"); the group is context.
    n_plus_one = [rep for rep in reps if _is_n_plus_one(rep, stats.get(rep.fingerprint), config)]
    for rep in n_plus_one:
        findings.append(_n_plus_one(profile, rep, config, framework, stats.get(rep.fingerprint),
                                    group if rep.fingerprint in grouped else None))
    reported = {rep.fingerprint for rep in n_plus_one}
    if group is not None and not grouped & reported:
        findings.append(_group_finding(profile, group, config, framework))
        reported |= grouped
    for rep in reps:
        if rep.fingerprint in reported or (rep.batching and not _batching_refuted(stats.get(rep.fingerprint))):
            continue
        differing = rep.distinct if rep.distinct is not None else rep.count
        if differing >= 2 and rep.count >= config.info_threshold and not profile.single_object:
            findings.append(make_finding(
                "NPQ002", f"{profile.endpoint} ran {short_sql(rep.example.sql)} {rep.count} times in one request "
                f"({differing} different values{_time(rep.total_ms)}).", location,
                evidence=_evidence(request, rep), key=rep.fingerprint))
        elif rep.duplicates >= 1:
            slow = rep.total_ms is not None and rep.total_ms >= config.slow_ms
            findings.append(make_finding(
                "NPQ003", f"{profile.endpoint} ran the same statement with the same values {rep.count} times "
                f"({rep.distinct} distinct{_time(rep.total_ms)}): {short_sql(rep.example.sql)}.", location,
                evidence=_evidence(request, rep), severity=Severity.MEDIUM if slow else None, key=rep.fingerprint))
    return findings


def _batching_refuted(stat: StatementStats | None) -> bool:
    """A batching walk returns many rows per run; pg_stat_statements, where loaded, can say it did not."""
    return stat is not None and bool(stat.calls) and stat.rows <= stat.calls


def _is_n_plus_one(rep: Repeat, stat: StatementStats | None, config: NPlusOneConfig) -> bool:
    if rep.batching and not _batching_refuted(stat):
        return False
    differing = rep.distinct if rep.distinct is not None else rep.count
    return differing >= 2 and rep.count >= config.threshold


def _n_plus_one(profile: EndpointProfile, rep: Repeat, config: NPlusOneConfig, framework: str | None,
                stat: StatementStats | None = None, group: Group | None = None) -> Finding:
    request = profile.main
    proof = growth(rep.fingerprint, profile.small, request) if profile.small is not None else None
    severity = _severity(rep.total_ms, proof, config)
    differing = f"{rep.distinct} different values" if rep.distinct is not None else "values not logged"
    message = (f"Potential N+1 at {profile.endpoint}: {short_sql(rep.example.sql)} ran {rep.count} times in one "
               f"request ({differing}{_time(rep.total_ms)}")
    if rep.duplicates:
        message += f"; {rep.duplicates} of them repeated earlier values"
    message += ")."
    if group is not None:
        message += (f" It runs inside a loop of {len(group.fingerprints)} statements repeated {group.repeats} times "
                    f"in a row ({', '.join(short_sql(s.sql, 60) for s in group.examples)}).")
    if proof is not None:
        message += f" The count {proof.describe()}"
        message += " — confirmed N+1." if proof.verdict == "grows" else "."
    elif profile.page_parameter is None and request.items is not None:
        message += f" The response listed {request.items} items; no page-size parameter to confirm growth."
    return make_finding("NPQ001", message, {"endpoint": profile.endpoint},
                        evidence=_evidence(request, rep, proof, stat), severity=severity, key=rep.fingerprint,
                        remediation=_fix(rep.example.sql, framework))


def _group_finding(profile: EndpointProfile, group: Group, config: NPlusOneConfig,
                   framework: str | None) -> Finding:
    request = profile.main
    shape = group.fingerprints[0]
    proof = growth(shape, profile.small, request) if profile.small is not None else None
    severity = _severity(group.total_ms, proof, config)
    message = (f"{profile.endpoint} ran a group of {len(group.fingerprints)} statements {group.repeats} times in a "
               f"row ({', '.join(short_sql(s.sql, 60) for s in group.examples)}{_time(group.total_ms)}).")
    if proof is not None:
        message += f" The first statement {proof.describe()}"
        message += " — confirmed." if proof.verdict == "grows" else "."
    lines = [f"{request.describe()}", f"group of {len(group.fingerprints)} repeated {group.repeats}× from "
             f"statement #{group.start + 1}:"]
    lines += [pretty_sql(s.sql, limit=400) for s in group.examples]
    if proof is not None:
        lines.append(f"scaling: {proof.describe()}")
    return make_finding("NPQ004", message, {"endpoint": profile.endpoint}, evidence="\n".join(lines),
                        severity=severity, key=_cyclic_key(group.fingerprints),
                        remediation=_fix(group.examples[0].sql, framework, several=True))


def _cyclic_key(shapes: tuple[str, ...]) -> str:
    """The group's shapes in loop order, from whichever one sorts first: where detection started (the first
    iteration may skip a cached statement, so a run can find B,A where another found A,B) does not change
    the finding's fingerprint, while a different loop body still does."""
    rotations = ("|".join(shapes[i:] + shapes[:i]) for i in range(len(shapes)))
    return min(rotations, default="")


def _severity(total_ms: float | None, proof: Growth | None, config: NPlusOneConfig) -> Severity | None:
    slow = total_ms is not None and total_ms >= config.slow_ms
    if proof is not None and proof.verdict == "grows" or slow:
        return Severity.HIGH
    if proof is not None and proof.verdict == "constant":
        return Severity.LOW
    return None   # the rule's default (medium)


def _time(total_ms: float | None) -> str:
    return f", {total_ms:.1f} ms in total" if total_ms is not None else ""


def _evidence(request: ProfiledRequest, rep: Repeat, proof: Growth | None = None,
              stat: StatementStats | None = None) -> str:
    shape = rep.fingerprint if len(rep.fingerprint) <= 300 else rep.fingerprint[:300] + "…"
    lines = [request.describe(), f"repeated {rep.count}× (first at statement #{rep.positions[0] + 1}), "
             f"fingerprint: {shape}", pretty_sql(rep.example.sql)]
    values = _sample_values(request.statements, rep)
    if values:
        lines.append("values: " + " · ".join(values))
    if proof is not None:
        lines.append(f"scaling: {proof.describe()}")
    if stat is not None:
        lines.append(f"pg_stat_statements: {stat.calls} calls, {stat.rows} rows")
    return "\n".join(lines)


def _stats_by_shape(request: ProfiledRequest) -> dict[str, StatementStats]:
    """pg_stat_statements deltas by our fingerprint (it normalises constants to $n, which become ? too)."""
    out: dict[str, StatementStats] = {}
    for stat in request.stats:
        shape = cached_fingerprint(stat.query, False)
        known = out.get(shape)
        out[shape] = stat if known is None else StatementStats(stat.query, known.calls + stat.calls,
                                                               known.rows + stat.rows)
    return out


def _sample_values(statements: list[Statement], rep: Repeat) -> list[str]:
    data = data_statements(statements)
    seen: list[str] = []
    for index in rep.positions:
        value = data[index].parameters if index < len(data) else ""
        if value and value not in seen:
            seen.append(value if len(value) <= 80 else value[:80] + "…")
        if len(seen) >= SAMPLE_VALUES:
            break
    if seen and rep.distinct is not None and rep.distinct > len(seen):
        seen.append("…")
    return seen


_TABLE = re.compile(r"(?is)\bFROM\s+((?:\"[^\"]+\"|`[^`]+`|[\w$]+)(?:\.(?:\"[^\"]+\"|`[^`]+`|[\w$]+))?)")


def _fix(sql: str, framework: str | None, *, several: bool = False) -> str:
    """The fix in the service's framework where it is recognisable, naming the table loaded per item."""
    match = _TABLE.search(sql)
    table = match.group(1) if match else "the related table"
    what = "each relation the loop touches" if several else f"the relation that loads {table}"
    if framework == "sqlalchemy":
        return (f"SQLAlchemy: eager-load {what} for the whole page in the list query, "
                f"e.g. `select(...).options(selectinload(Model.relation))` (one extra `IN` query for the page) "
                f"or `joinedload()` for a many-to-one; `lazy=\"raise\"` on the relationship catches the next one.")
    if framework == "django":
        return (f"Django: load {what} with the list queryset: `select_related(\"fk\")` for a foreign key or "
                f"one-to-one, `prefetch_related(\"relation\")` for reverse and many-to-many relations.")
    return (f"Load {what} for the whole page at once: a batched `SELECT ... FROM {table} WHERE id IN (...)` "
            f"with the page's ids, or a JOIN in the list query, instead of one query per item (ORMs: "
            f"SQLAlchemy selectinload/joinedload, Django select_related/prefetch_related).")


def endpoint_row(profile: EndpointProfile) -> dict[str, Any]:
    """One row of the per-endpoint query-count table."""
    request = profile.main
    statements = data_statements(request.statements)
    reps = [r for r in repeats(statements) if not r.batching]
    durations = [s.duration_ms for s in request.statements]
    method, _, path = profile.endpoint.partition(" ")
    row: dict[str, Any] = {
        "method": method, "path": path, "status": request.status, "items": request.items,
        "queries": len(request.statements), "data_queries": len(statements),
        "distinct_shapes": len(set(fingerprints_of(statements))),
        "max_repeats": max((r.count for r in reps), default=1 if statements else 0),
        "sql_ms": round(sum(d for d in durations if d is not None), 2) if durations and None not in durations
        else None,
        "attribution": "request id" if request.exact else "bracketing",
    }
    if profile.small is not None:
        row["queries_small_page"] = len(profile.small.statements)
        row["items_small_page"] = profile.small.items
    return row

