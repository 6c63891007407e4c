"""The service part's I/O: safe black-box probes (GET/HEAD/OPTIONS only, through ctx.http), driven by
the OpenAPI document when there is one. Every answer is kept as an Exchange; service_judge.py decides.

Probes, each bounded by config and by the check's deadline:
- exposure: public GET operations once without credentials (their bodies are judged for credential
  material handed to anonymous callers; secured operations that answer anonymously are judged too);
- auth: every secured GET operation, once without credentials, once with the audit's own credentials
  (to see an authenticated response's headers) and once with a bogus credential of the operation's
  scheme (an unsigned `alg: none` JWT, a wrong basic password, a wrong API key);
- CORS: a GET with a foreign Origin, a GET with `Origin: null`, an OPTIONS preflight;
- errors: malformed query and path values (a date that is not one, a number that is not one...) and a
  path that does not exist, looking for stack traces and debug pages;
- rate limiting (opt-in): a capped burst of GETs to one operation, stopping at the first 429.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from auditor.http import RequestFailed, UnsafeRequest
from auditor.interface import AuditContext
from auditor.operations import Operation, Parameter, base_path, operations
from auditor.planner import Exclusion, PlannedRequest

from checks.security.config import SecurityConfig

NO_SUCH_PATH = "/backend-auditor-probe-no-such-path"
BODY_KEEP = 64 * 1024  # characters of a body kept for judging (patterns look at the start of bodies)


class OutOfTime(Exception):
    pass


@dataclass
class Exchange:
    probe: str                    # anonymous | authenticated | invalid_token | exposure | cors_foreign |
                                  # cors_null | cors_preflight | malformed | not_found | baseline | burst
    method: str
    path: str                     # what was requested (path and query)
    endpoint: str | None          # "GET /books/{book_id}" of the operation, when spec-driven
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: str = ""
    url: str = ""
    evidence: str = ""
    error: str = ""
    note: str = ""                # e.g. which parameter was malformed


@dataclass
class Gathered:
    base_url: str
    spec_used: bool = False
    spec_problem: str | None = None
    operations: int = 0
    secured_operations: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    burst_sent: int = 0
    burst_path: str | None = None
    complete: bool = True
    excluded: list[Exclusion] = field(default_factory=list)    # operations the plan could not fill
    auth_modes: dict[str, str] = field(default_factory=dict)   # secured endpoint -> how it treats callers
    blanket_security: bool = False                             # the document secures every operation
    credentials: bool = False                                  # --header was given

    def by(self, probe: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.probe == probe]


class Prober:
    def __init__(self, ctx: AuditContext, config: SecurityConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.http = ctx.http
        self.got = Gathered(base_url=ctx.http.base_url)

    def gather(self) -> Gathered:
        try:
            self._gather()
        except OutOfTime:
            self.got.complete = False
        return self.got

    # -- orchestration -------------------------------------------------------------------------------
    def _gather(self) -> None:
        document, source = self._spec()
        ops: list[Operation] = []
        plans: list[PlannedRequest] = []
        prefix = ""
        if document is not None:
            ops = operations(document)
            prefix = base_path(document, source)
            # The audit's plan (auditor.planner): live values, so probes reach real resources; operations
            # without a live value are not probed (their reasons are in the summary).
            request_plan = self.ctx.artifacts.request_plan(self.ctx.should_stop, self.ctx.progress)
            if request_plan is not None:
                plans = request_plan.requests
                self.got.excluded = list(request_plan.unresolved)
                self.got.auth_modes = request_plan.auth_modes()
                self.got.blanket_security = request_plan.blanket_security
                self.got.credentials = request_plan.credentials
            self.got.spec_used = True
            self.got.operations = len(ops)
            self.got.secured_operations = [op.endpoint for op in ops if op.secured]
        reference = next((p for p in plans if not p.operation.secured and not p.operation.params_in("path")), None)
        reference = reference or (plans[0] if plans else None)
        ref_path = reference.url_path if reference else (prefix or "") + "/"
        ref_endpoint = reference.operation.endpoint if reference else None
        self._send("baseline", "GET", ref_path, ref_endpoint)
        self._cors(ref_path, ref_endpoint)
        secured = [p for p in plans if p.operation.secured][: self.config.auth_probes]
        for plan in secured:
            self._auth(plan, document or {})
        for plan in [p for p in plans if not p.operation.secured][: self.config.exposure_probes]:
            self._send("exposure", "GET", plan.url_path, plan.operation.endpoint, auth=False, headers=plan.headers)
        self._errors(plans, prefix)
        if self.config.rate_limit_burst:
            self._burst(self.config.rate_limit_path or ref_path, ref_endpoint if not self.config.rate_limit_path
                        else None)

    def _spec(self) -> tuple[dict[str, Any] | None, str | None]:
        try:
            spec = self.ctx.artifacts.spec
        except Exception as exc:  # noqa: BLE001 — no spec: the probes still run on the base URL
            self.got.spec_problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, None
        if spec is None:
            self.got.spec_problem = self.ctx.artifacts.spec_problem
            return None, None
        return spec.document, spec.source_url

    # -- probes --------------------------------------------------------------------------------------
    def _auth(self, plan: PlannedRequest, document: dict[str, Any]) -> None:
        endpoint = plan.operation.endpoint
        anonymous = self._send("anonymous", "GET", plan.url_path, endpoint, auth=False, headers=plan.headers)
        if anonymous.status is not None and 200 <= anonymous.status < 300:
            return  # open to anyone: the other two probes would only repeat it
        self._send("authenticated", "GET", plan.url_path, endpoint, headers=plan.headers)
        if not self.config.invalid_token:
            return
        bogus = bogus_credential(plan.operation, document)
        if bogus is None:
            return
        headers, query, what = bogus
        path = plan.url_path
        if query:
            path += ("&" if "?" in path else "?") + urlencode(query)
        self._send("invalid_token", "GET", path, endpoint, auth=False, headers={**plan.headers, **headers}, note=what)

    def _cors(self, path: str, endpoint: str | None) -> None:
        origin = self.config.cors_origin
        self._send("cors_foreign", "GET", path, endpoint, headers={"Origin": origin}, note=origin)
        self._send("cors_null", "GET", path, endpoint, headers={"Origin": "null"}, note="null")
        self._send("cors_preflight", "OPTIONS", path, endpoint, note=origin,
                   headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                            "Access-Control-Request-Headers": "authorization"})

    def _errors(self, plans: list[PlannedRequest], prefix: str) -> None:
        budget = self.config.error_probes
        if budget <= 0:
            return
        self._send("not_found", "GET", prefix + NO_SUCH_PATH, None)
        budget -= 1
        # Round-robin over operations (first malformed parameter of each, then the second...) so that a
        # long spec does not spend the whole budget on its first operation.
        queues = [list(malformed_requests(plan)) for plan in plans]
        while budget > 0 and any(queues):
            for queue in queues:
                if queue and budget > 0:
                    path, note, endpoint = queue.pop(0)
                    self._send("malformed", "GET", path, endpoint, note=note)
                    budget -= 1

    def _burst(self, path: str, endpoint: str | None) -> None:
        self.got.burst_path = path
        assert self.config.rate_limit_burst is not None
        for _ in range(self.config.rate_limit_burst):
            exchange = self._send("burst", "GET", path, endpoint, keep=False)
            self.got.burst_sent += 1
            if exchange.status == 429 or exchange.status is None:
                self.got.exchanges.append(exchange)
                return
        self.got.exchanges.append(exchange)  # the last one, to show what the burst ended with

    # -- transport -----------------------------------------------------------------------------------
    def _send(self, probe: str, method: str, path: str, endpoint: str | None, *, auth: bool = True,
              headers: dict[str, str] | None = None, note: str = "", keep: bool = True) -> Exchange:
        if self.ctx.should_stop():
            raise OutOfTime
        self.ctx.progress(f"{method} {path} ({probe})")
        exchange = Exchange(probe=probe, method=method, path=path, endpoint=endpoint, status=None, note=note)
        try:
            response = self.http.request(method, path, auth=auth, headers=headers or {})
        except (RequestFailed, UnsafeRequest) as exc:
            exchange.error = str(exc)
            exchange.evidence = f"{method} {path} → no response ({exc})"
        else:
            exchange.status = response.status
            exchange.headers = {k.lower(): v for k, v in response.headers.items()}
            exchange.body = response.text[:BODY_KEEP]
            exchange.url = response.url
            sent = "".join(f"\n> {k}: {v}" for k, v in (headers or {}).items() if k.lower() != "authorization")
            exchange.evidence = (response.evidence(600) if not sent else
                                 f"{response.describe()}{sent}\n" + response.evidence(600).split("\n", 1)[-1])
        if keep:
            self.got.exchanges.append(exchange)
        return exchange


# -- request builders (pure) -------------------------------------------------------------------------

def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


# An unsigned JWT (alg "none") claiming an admin subject: a service that accepts it verifies nothing.
BOGUS_JWT = (_b64({"alg": "none", "typ": "JWT"}) + "."
             + _b64({"sub": "1", "role": "admin", "iss": "backend-auditor", "exp": 4102444800}) + ".")
BOGUS_SECRET = "backend-auditor-invalid-credential"  # pragma: allowlist secret (deliberately wrong)


def bogus_credential(op: Operation, document: dict[str, Any]
                     ) -> tuple[dict[str, str], dict[str, str], str] | None:
    """(headers, query, description) of a wrong credential for the operation's first scheme."""
    schemes = (document.get("components") or {}).get("securitySchemes") or document.get("securityDefinitions") or {}
    for requirement in op.security:
        for name in requirement:
            scheme = schemes.get(name)
            if not isinstance(scheme, dict):
                continue
            kind = str(scheme.get("type", "")).lower()
            if kind in ("oauth2", "openidconnect") or (kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer"):
                return {"Authorization": f"Bearer {BOGUS_JWT}"}, {}, "an unsigned JWT (alg none)"
            if kind == "basic" or (kind == "http" and str(scheme.get("scheme", "")).lower() == "basic"):
                token = base64.b64encode(f"backend-auditor:{BOGUS_SECRET}".encode()).decode()
                return {"Authorization": f"Basic {token}"}, {}, "wrong basic credentials"
            if kind == "apikey" and scheme.get("name"):
                where = str(scheme.get("in", "header")).lower()
                if where == "header":
                    return {str(scheme["name"]): BOGUS_SECRET}, {}, f"a wrong API key in {scheme['name']}"
                if where == "query":
                    return {}, {str(scheme["name"]): BOGUS_SECRET}, f"a wrong API key in ?{scheme['name']}"
                if where == "cookie":
                    return {"Cookie": f"{scheme['name']}={BOGUS_SECRET}"}, {}, f"a wrong API key cookie {scheme['name']}"
    return None


def malformed_value(param: Parameter) -> str | None:
    """A value of the right shape for a URL but invalid for the parameter's schema, or None."""
    schema = param.schema or {}
    kinds = schema.get("type")
    kind = kinds if isinstance(kinds, str) else next((k for k in kinds or [] if k != "null"), None)
    if kind is None:
        for alternative in schema.get("anyOf") or schema.get("oneOf") or []:
            if isinstance(alternative, dict) and alternative.get("type") not in (None, "null"):
                return malformed_value(Parameter(param.name, param.location, param.required, alternative))
        return None
    fmt = str(schema.get("format", "")).lower()
    if kind in ("integer", "number"):
        return "not-a-number"
    if kind == "boolean":
        return "not-a-bool"
    if kind == "string":
        if schema.get("enum"):
            return "not-one-of-the-enum"[: int(schema.get("maxLength") or 100)]
        if fmt == "date":
            return "not-a-date"
        if fmt == "date-time":
            return "not-a-date-time"
        if fmt == "uuid":
            return "not-a-uuid"
        if fmt in ("email", "uri", "url", "ipv4", "ipv6"):
            return f"not-an-{fmt}"
        if schema.get("pattern"):
            return "'\"<>"  # very unlikely to match any pattern
        return None  # any string is valid: nothing malformed to send
    return None


def malformed_requests(plan: PlannedRequest) -> list[tuple[str, str, str]]:
    """(url_path, note, endpoint) per parameter that can be malformed: query parameters replaced or
    added, path parameters substituted."""
    op = plan.operation
    split = urlsplit(plan.url_path)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    out: list[tuple[str, str, str]] = []
    for param in op.params_in("query"):
        value = malformed_value(param)
        if value is None:
            continue
        changed = {**query, param.name: value}
        out.append((f"{split.path}?{urlencode(changed)}", f"{param.name}={value}", op.endpoint))
    for param in op.params_in("path"):
        value = malformed_value(param)
        if value is None or param.name not in plan.params:
            continue
        good = _fill(op.path, plan.params)
        if not split.path.endswith(good):
            continue  # cannot tell the base path from the operation's path: skip rather than guess
        base = split.path[: len(split.path) - len(good)]
        bad = base + _fill(op.path, {**plan.params, param.name: value})
        out.append((bad + (f"?{split.query}" if split.query else ""), f"{param.name}={value}", op.endpoint))
    return out


def _fill(template: str, params: dict[str, Any]) -> str:
    for name, value in params.items():
        template = template.replace("{" + name + "}", quote(str(value), safe=""))
    return template
