"""Secured operations that answer anonymous callers by design, judged from the audit's request plan
(auditor.planner compared each secured GET with and without the audit's credentials):

- optional authentication (2xx anonymously and 2xx with credentials, bodies differing): one low finding
  suggesting an optional requirement (`{}`) — never "ignored auth" (OAS401) nor "undocumented 401";
- public reads under security declared on every operation (the same body, or no credentials to compare
  with): one medium documentation mismatch listing them — not one high "auth bypass" per operation.

High stays where it belongs: a secured operation that ignores credentials in a document that secures only
some operations (OAS401), and credential material handed to anonymous callers (the security check's
SEC025)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.model import Finding
from auditor.planner import ANONYMOUS, OPTIONAL, PUBLIC, RequestPlan

from checks.openapi.rules import make_finding

MAX_LISTED = 10


@dataclass
class ByDesign:
    optional: list[str] = field(default_factory=list)      # endpoints with optional authentication
    public: list[str] = field(default_factory=list)        # public reads under a blanket requirement
    same_body: set[str] = field(default_factory=set)       # ... of which the bodies were compared: the same
    blanket: bool = False                                   # the document secures every operation

    @property
    def endpoints(self) -> set[str]:
        """Where "ignored auth" and "undocumented 401" do not apply: the GETs the plan judged, and the HEADs
        of the same paths (a HEAD is answered like its GET; schemathesis probes both)."""
        gets = {*self.optional, *self.public}
        return gets | {"HEAD " + e.removeprefix("GET ") for e in gets}

    def metrics(self) -> dict[str, Any]:
        return {"optional_auth": self.optional, "public_reads_under_global_security": self.public}


def classify(plan: RequestPlan | None) -> ByDesign:
    found = ByDesign(blanket=bool(plan and plan.blanket_security))
    if plan is None:
        return found
    for endpoint, mode in plan.auth_modes().items():
        if mode == OPTIONAL:
            found.optional.append(endpoint)
        elif plan.blanket_security and mode in (PUBLIC, ANONYMOUS):
            found.public.append(endpoint)
            if mode == PUBLIC:
                found.same_body.add(endpoint)
    return found


def fold_ignored_auth(design: ByDesign, findings: list[Finding]) -> list[Finding]:
    """Under security declared on every operation, a read that schemathesis saw answer without credentials
    (OAS401) but that the plan could not request (no live value for its parameters) is the same
    documentation matter as the reads the plan judged: folded into OAS041, not one high per operation."""
    if not design.blanket:
        return findings
    kept = []
    for finding in findings:
        endpoint = finding.location.get("endpoint", "")
        if finding.rule_id == "OAS401" and endpoint.startswith(("GET ", "HEAD ")):
            read = "GET " + endpoint.split(" ", 1)[1]
            if read not in design.optional and read not in design.public:
                design.public.append(read)
            continue
        kept.append(finding)
    return kept


def findings(design: ByDesign, doc_location: dict[str, Any], doc_stable: dict[str, Any]) -> list[Finding]:
    out = []
    if design.optional:
        out.append(make_finding(
            "OAS040", f"{_listed(design.optional)} answer{'s' if len(design.optional) == 1 else ''} callers "
                      "without credentials (2xx) and answer differently with the audit's credentials: optional "
                      "authentication, declared required in the document. Add `{}` to "
                      f"{'its' if len(design.optional) == 1 else 'their'} security requirements.",
            doc_location, stable_location={**doc_stable, "rule": "optional-auth"}))
    if design.public:
        same = len(design.same_body)
        how = (f" ({'all' if same == len(design.public) else same} with the same body as with the audit's "
               "credentials)" if same else
               " (bodies not compared with credentials: give --header to tell optional authentication apart)")
        out.append(make_finding(
            "OAS041", f"The document declares security on every operation, but {len(design.public)} read"
                      f"{'s' if len(design.public) != 1 else ''} answer callers without credentials{how}: "
                      f"{_listed(sorted(design.public))}.",
            doc_location, stable_location={**doc_stable, "rule": "public-reads"}))
    return out


def _listed(endpoints: list[str]) -> str:
    shown = ", ".join(endpoints[:MAX_LISTED])
    return shown + (f" and {len(endpoints) - MAX_LISTED} more" if len(endpoints) > MAX_LISTED else "")
