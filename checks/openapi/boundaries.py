"""Boundary values for path parameters, in the safe conformance phase: integers past 64 bits and below
zero, strings longer than anyone types, sent as GETs on the planned requests (live values for every
other parameter, so the request reaches the handler). A 5xx is a server error (OAS101), reported once
per operation whichever values caused it and whether or not schemathesis also found one.

Why the auditor's own and not schemathesis': its coverage phase derives boundaries from documented
bounds, and an unbounded integer id is never tried past 64 bits, where an ORM's integer column overflows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.http import HttpClient, RequestFailed, UnsafeRequest
from auditor.model import Finding
from auditor.operations import Parameter
from auditor.planner import PlannedRequest

from checks.openapi.rules import make_finding

# Past signed 64 bits (2**63), past unsigned 64 bits (2**64), below signed 64 bits, negative, and far past.
INTEGER_VALUES = ("9223372036854775808", "18446744073709551616", "-9223372036854775809", "-1",
                  "99999999999999999999999")
LONG_STRING = 1024          # characters: long for an identifier, well within every server's URL limit
MAX_STRING = 4096           # a documented maxLength + 1 is tried only up to this
MAX_REQUESTS = 60


@dataclass
class Hit:
    endpoint: str
    request: str              # what was sent (path and query)
    parameter: str
    value: str
    status: int
    evidence: str


@dataclass
class Result:
    sent: int = 0
    hits: list[Hit] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)     # endpoints probed


def values_for(param: Parameter) -> list[str]:
    schema = param.schema if isinstance(param.schema, dict) else {}
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    for part in schema.get("anyOf") or schema.get("oneOf") or []:
        if isinstance(part, dict):
            kinds.add(part.get("type"))
    if kinds & {"integer", "number"}:
        return list(INTEGER_VALUES)
    if schema.get("enum") or schema.get("format") in ("uuid", "date", "date-time"):
        return []   # malformed values are the security check's probes; nothing is long here
    values = ["a" * LONG_STRING]
    longest = schema.get("maxLength")
    if isinstance(longest, int) and 0 <= longest < MAX_STRING and longest + 1 != LONG_STRING:
        values.insert(0, "a" * (longest + 1))
    return values


def probe(plans: list[PlannedRequest], http: HttpClient, should_stop: Callable[[], bool],
          progress: Callable[[str], None] = lambda message: None, max_requests: int = MAX_REQUESTS) -> Result:
    result = Result()
    for planned in plans:
        params = [p for p in planned.operation.params_in("path") if p.name in planned.params]
        if not params:
            continue
        result.tried.append(planned.endpoint)
        hit = False
        for param in params:
            for value in values_for(param):
                if should_stop() or result.sent >= max_requests:
                    return result
                path = planned.with_path_values(**{param.name: value})
                progress(f"boundary value GET {path[:120]}")
                result.sent += 1
                try:
                    response = http.get(path, headers=planned.headers or None)
                except (RequestFailed, UnsafeRequest):
                    continue
                if response.status >= 500:
                    result.hits.append(Hit(planned.endpoint, path, param.name, value, response.status,
                                           response.evidence(400)))
                    hit = True
                    break   # one server error per operation is enough: reported once
            if hit:
                break
    return result


def findings(result: Result, existing: list[Finding]) -> list[Finding]:
    """One OAS101 per operation with a server error on a boundary value, unless schemathesis reported a
    server error there already (the same problem, once)."""
    reported = {f.location.get("endpoint") for f in existing if f.rule_id == "OAS101"}
    out = []
    for hit in result.hits:
        if hit.endpoint in reported:
            continue
        reported.add(hit.endpoint)
        shown = hit.value if len(hit.value) <= 40 else f"{len(hit.value)} × {hit.value[0]!r}"
        out.append(make_finding(
            "OAS101", f"{hit.endpoint}: server error on a boundary value — {hit.parameter}={shown} answered "
                      f"{hit.status} (the auditor's boundary values for path parameters).",
            {"endpoint": hit.endpoint}, evidence=hit.evidence))
    return out
