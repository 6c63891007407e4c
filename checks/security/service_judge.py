"""Judging the service probes (pure functions over the Exchanges probes.py gathered)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from auditor.model import CheckResult, Finding
from auditor.redact import credential_fields, redact

from auditor.planner import ANONYMOUS, OPTIONAL, PUBLIC

from checks.security.probes import Exchange, Gathered
from checks.security.rules import make_finding

# Stack traces and framework debug pages (after ZAP's Application Error Disclosure rule 90022 and
# its information-disclosure rules), case-sensitive where the text is.
TRACE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(p)) for name, p in (
    ("Python traceback", r"Traceback \(most recent call last\)"),
    ("Python stack frame", r"File \"[^\"]+\", line \d+, in "),
    ("Werkzeug debugger", r"Werkzeug Debugger|__debugger__"),
    ("Django debug page", r"You're seeing this error because you have <code>DEBUG = True</code>|"
                          r"Using the URLconf defined in"),
    ("Starlette/FastAPI debug page", r"<title>Starlette Debugger</title>|class=\"traceback-container\""),
    ("Java stack trace", r"\bat (?:java|javax|org|com|jdk|sun)\.[\w.$]+\([\w]+\.java:\d+\)"),
    ("Java exception", r"Exception in thread \"|java\.lang\.\w+(?:Exception|Error)\b"),
    ("Spring Whitelabel error page", r"Whitelabel Error Page"),
    (".NET stack trace", r"System\.\w+Exception|Server Error in '/' Application|   at [\w.]+\(.*\) in .+:line \d+"),
    ("Node.js stack trace", r"\n\s+at .+ \((?:/|[A-Za-z]:\\).+\.(?:js|ts):\d+:\d+\)"),
    ("Ruby/Rails error page", r"ActionController::RoutingError|\.rb:\d+:in `"),
    ("PHP error", r"(?:Fatal error|Warning|Parse error)</b>:.+ on line <b>\d+</b>|PHP (?:Fatal|Parse) error"),
    ("Go panic", r"goroutine \d+ \[running\]"),
))
# Internals without a full trace: database errors and exception class names.
INTERNAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(p)) for name, p in (
    ("SQL error", r"You have an error in your SQL syntax|SQLSTATE\[|ORA-\d{5}|PG::\w+Error|"
                  r"psycopg2?\.errors\.|sqlalchemy\.exc\.|sqlite3\.OperationalError|"
                  r"unterminated quoted string at or near|syntax error at or near \""),
    ("Python exception", r"\b(?:ValueError|KeyError|TypeError|AttributeError|IndexError|ZeroDivisionError|"
                         r"IntegrityError|OperationalError|ProgrammingError|NameError|RuntimeError): "),
))
BANNER_HEADERS = ("server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator")
VERSION = re.compile(r"\d+\.\d+")
RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy", "ratelimit",
                "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-rate-limit-limit",
                "retry-after")
# The openapi check's rule for schemathesis' ignored_auth (ST401): a secured operation that answered
# without valid credentials. Linked by rule id alone: free text (titles, messages, evidence quoting a
# response body) can mention "ST401" or "ignored auth" in a finding about something else.
OPENAPI_IGNORED_AUTH_RULE = "OAS401"


def _ok(exchange: Exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300


def _redirected(exchange: Exchange, base_url: str) -> bool:
    """The final URL is not the one asked for (a login redirect followed to a 200 page)."""
    if not exchange.url:
        return False
    asked = (base_url + exchange.path).split("?")[0].rstrip("/")
    return exchange.url.split("?")[0].rstrip("/") != asked


@dataclass
class ServiceVerdict:
    findings: list[Finding] = field(default_factory=list)
    open_operations: list[dict[str, Any]] = field(default_factory=list)  # incl. those linked to openapi
    linked: list[dict[str, Any]] = field(default_factory=list)
    # Secured operations that answer anonymous callers by design (a documentation matter, judged by the
    # openapi check: OAS036/OAS037), not an auth bypass:
    optional_auth: list[str] = field(default_factory=list)   # personalised when credentials are given
    public_reads: list[str] = field(default_factory=list)    # the document secures every operation


def by_design(got: Gathered, endpoint: str) -> str | None:
    """Why a secured operation answering anonymous callers is not an auth bypass, or None: it answers
    differently with credentials (optional authentication), or the document declares security on every
    operation while this read answers anonymous callers the same (or no credentials were given to compare)."""
    mode = got.auth_modes.get(endpoint)
    if mode == OPTIONAL:
        return "optional"
    if got.blanket_security and mode in (PUBLIC, ANONYMOUS):
        return "public"
    return None


def judge(got: Gathered, earlier: dict[str, CheckResult]) -> ServiceVerdict:
    verdict = ServiceVerdict()
    verdict.findings += _auth(got, earlier, verdict)
    verdict.findings += _exposure(got)
    verdict.findings += _cors(got)
    verdict.findings += _errors(got)
    verdict.findings += _headers(got)
    verdict.findings += _rate_limit(got)
    return verdict


def ignored_auth_finding(earlier: dict[str, CheckResult], endpoint: str) -> Finding | None:
    """The openapi check's finding of ignored auth (schemathesis ST401) at this endpoint, if any."""
    result = earlier.get("openapi")
    if result is None:
        return None
    for finding in result.findings:
        if finding.rule_id == OPENAPI_IGNORED_AUTH_RULE and finding.location.get("endpoint") == endpoint:
            return finding
    return None


def _auth(got: Gathered, earlier: dict[str, CheckResult], verdict: ServiceVerdict) -> list[Finding]:
    findings = []
    for exchange in got.by("anonymous"):
        if not _ok(exchange) or _redirected(exchange, got.base_url) or exchange.endpoint is None:
            continue
        design = by_design(got, exchange.endpoint)
        if design is not None:
            (verdict.optional_auth if design == "optional" else verdict.public_reads).append(exchange.endpoint)
            continue
        row = {"endpoint": exchange.endpoint, "status": exchange.status, "request": f"GET {exchange.path}"}
        linked = ignored_auth_finding(earlier, exchange.endpoint)
        if linked is not None:
            # One problem, one finding: the openapi check already reported it; refer to it.
            row.update(reported_by="openapi", rule_id=linked.rule_id, fingerprint=linked.fingerprint)
            verdict.linked.append(row)
            verdict.open_operations.append(row)
            continue
        verdict.open_operations.append(row)
        findings.append(make_finding(
            "SEC020", f"{exchange.endpoint} is declared secured in the OpenAPI document but GET {exchange.path} "
                      f"without any credential answered {exchange.status}.",
            {"endpoint": exchange.endpoint}, evidence=exchange.evidence))
    for exchange in got.by("invalid_token"):
        if not _ok(exchange) or _redirected(exchange, got.base_url) or exchange.endpoint is None:
            continue
        linked = ignored_auth_finding(earlier, exchange.endpoint)
        if linked is not None:  # openapi's ST401 covers invalid credentials too
            verdict.linked.append({"endpoint": exchange.endpoint, "status": exchange.status,
                                   "request": f"GET {exchange.path} with {exchange.note}", "reported_by": "openapi",
                                   "rule_id": linked.rule_id, "fingerprint": linked.fingerprint})
            continue
        findings.append(make_finding(
            "SEC021", f"{exchange.endpoint} answered {exchange.status} to {exchange.note} (without the audit's own "
                      "credentials).", {"endpoint": exchange.endpoint}, evidence=exchange.evidence))
    anonymous_status = {e.endpoint: e.status for e in got.by("anonymous")}
    for exchange in got.by("authenticated"):
        # An authenticated response: a 2xx with the audit's credentials where the anonymous call was refused.
        if not _ok(exchange) or anonymous_status.get(exchange.endpoint) not in (401, 403):
            continue
        cache = exchange.headers.get("cache-control", "")
        if "no-store" not in cache.lower():
            findings.append(make_finding(
                "SEC042", f"The authenticated answer of {exchange.endpoint} has "
                          f"{'Cache-Control: ' + cache if cache else 'no Cache-Control header'}, not no-store.",
                {"endpoint": exchange.endpoint}, evidence=exchange.evidence))
    return findings


_INDEX = re.compile(r"\[\d+\]")
MAX_FIELDS_SHOWN = 8


def exposed_credentials(exchange: Exchange) -> list[tuple[str, str]]:
    """(field path with list indexes generalised, what) of the credential material in a JSON body."""
    if "json" not in exchange.headers.get("content-type", "") and not exchange.body.lstrip().startswith(("{", "[")):
        return []
    try:
        body = json.loads(exchange.body)
    except ValueError:
        return []  # a cut or non-JSON body: nothing to judge by structure
    return list(dict.fromkeys((_INDEX.sub("[]", path), what) for path, what in credential_fields(body)))


def _exposure(got: Gathered) -> list[Finding]:
    """SEC025: an anonymous caller got credential material: password hashes, other users' tokens, secrets.
    Judged on every anonymous 2xx (public operations and secured ones that answered anyway); one finding
    per operation, naming the fields, the values never shown."""
    findings = []
    seen: set[str] = set()
    for exchange in got.by("exposure") + got.by("anonymous"):
        key = exchange.endpoint or exchange.path
        if not _ok(exchange) or _redirected(exchange, got.base_url) or key in seen:
            continue
        fields = exposed_credentials(exchange)
        if not fields:
            continue
        seen.add(key)
        hashes = sum(1 for _, what in fields if what == "password hash")
        listed = ", ".join(f"{path} ({what})" for path, what in fields[:MAX_FIELDS_SHOWN])
        more = f" and {len(fields) - MAX_FIELDS_SHOWN} more" if len(fields) > MAX_FIELDS_SHOWN else ""
        kind = "password hashes" if hashes == len(fields) else "credential material"
        findings.append(make_finding(
            "SEC025", f"GET {exchange.path} answered {exchange.status} to a caller without credentials with "
                      f"{kind} in its body: {listed}{more}. The values are masked here.",
            {"endpoint": exchange.endpoint} if exchange.endpoint else {"url": exchange.path},
            evidence=redact(exchange.evidence), key=",".join(sorted({path for path, _ in fields}))))
    return findings


def _cors(got: Gathered) -> list[Finding]:
    findings = []
    reflected_without_credentials: Exchange | None = None
    for exchange in got.by("cors_foreign") + got.by("cors_preflight") + got.by("cors_null"):
        allowed = exchange.headers.get("access-control-allow-origin", "").strip()
        credentials = exchange.headers.get("access-control-allow-credentials", "").strip().lower() == "true"
        where = {"endpoint": exchange.endpoint} if exchange.endpoint else {"url": got.base_url + exchange.path}
        stable = {"endpoint": exchange.endpoint} if exchange.endpoint else {"path": exchange.path.split("?")[0]}
        if exchange.note == "null":
            if allowed == "null" and credentials:
                findings.append(make_finding(
                    "SEC023", "A request with `Origin: null` got `Access-Control-Allow-Origin: null` with "
                              "`Access-Control-Allow-Credentials: true`.", where, evidence=exchange.evidence,
                    stable_location=stable))
            continue
        if allowed and allowed == exchange.note:
            if credentials and any(f.rule_id == "SEC022" for f in findings):
                continue  # the GET and the preflight show one problem: one finding
            if credentials:
                findings.append(make_finding(
                    "SEC022", f"A {exchange.method} with the foreign `Origin: {exchange.note}` got it echoed in "
                              "Access-Control-Allow-Origin with `Access-Control-Allow-Credentials: true`.", where,
                    evidence=exchange.evidence, stable_location=stable))
            elif reflected_without_credentials is None:
                reflected_without_credentials = exchange
    if reflected_without_credentials is not None and not any(f.rule_id == "SEC022" for f in findings):
        exchange = reflected_without_credentials
        findings.append(make_finding(
            "SEC024", f"The foreign `Origin: {exchange.note}` is echoed in Access-Control-Allow-Origin "
                      "(without credentials).",
            {"endpoint": exchange.endpoint} if exchange.endpoint else {"url": got.base_url + exchange.path},
            evidence=exchange.evidence,
            stable_location={"endpoint": exchange.endpoint} if exchange.endpoint else {"path": "cors"}))
    return findings


def leak_in(body: str) -> tuple[str, str, str] | None:
    """(rule id, what, matched text) of the first internals disclosure in a body."""
    for rule_id, patterns in (("SEC030", TRACE_PATTERNS), ("SEC031", INTERNAL_PATTERNS)):
        for name, pattern in patterns:
            match = pattern.search(body)
            if match:
                return rule_id, name, match.group(0)
    return None


def _errors(got: Gathered) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for exchange in got.by("malformed") + got.by("not_found") + got.by("baseline"):
        if exchange.status is None or not exchange.body:
            continue
        leak = leak_in(exchange.body)
        if leak is None:
            continue
        rule_id, what, matched = leak
        where_key = exchange.endpoint or exchange.path.split("?")[0]
        if (rule_id, where_key) in seen:
            continue  # one finding per endpoint and rule; the first probe that showed it is the evidence
        seen.add((rule_id, where_key))
        location = {"endpoint": exchange.endpoint} if exchange.endpoint else {"url": got.base_url + exchange.path}
        trigger = f" (malformed {exchange.note})" if exchange.note else ""
        findings.append(make_finding(
            rule_id, f"GET {exchange.path}{trigger} answered {exchange.status} with a {what} in the body "
                     f"({matched[:80]!r}).", location, evidence=exchange.evidence,
            stable_location={"endpoint": exchange.endpoint} if exchange.endpoint else {"path": where_key}))
    return findings


def _headers(got: Gathered) -> list[Finding]:
    findings: list[Finding] = []
    answered = [e for e in got.exchanges if e.status is not None]
    banners: dict[tuple[str, str], Exchange] = {}
    for exchange in answered:
        for name in BANNER_HEADERS:
            value = exchange.headers.get(name, "")
            if value and VERSION.search(value):
                banners.setdefault((name, value), exchange)
    for (name, value), exchange in banners.items():
        findings.append(make_finding(
            "SEC040", f"The {name.title()} header announces `{value[:120]}`.", {"url": got.base_url},
            evidence=exchange.evidence, stable_location={"header": name}, key=value))
    successes = [e for e in answered if _ok(e) and e.method == "GET"]
    missing = [e for e in successes if e.headers.get("x-content-type-options", "").strip().lower() != "nosniff"]
    if missing:
        paths = sorted({e.path.split("?")[0] for e in missing})
        findings.append(make_finding(
            "SEC041", f"{len(missing)} of {len(successes)} successful responses lack `X-Content-Type-Options: "
                      f"nosniff` (e.g. {', '.join(paths[:3])}).", {"url": got.base_url},
            evidence=missing[0].evidence, stable_location={"header": "x-content-type-options"}))
    if got.base_url.lower().startswith("https://") and answered:
        if not any("strict-transport-security" in e.headers for e in answered):
            findings.append(make_finding(
                "SEC043", "No response over https carried Strict-Transport-Security.", {"url": got.base_url},
                evidence=answered[0].evidence, stable_location={"header": "strict-transport-security"}))
    return findings


def _rate_limit(got: Gathered) -> list[Finding]:
    findings: list[Finding] = []
    burst = got.by("burst")
    where = {"endpoint": burst[-1].endpoint} if burst and burst[-1].endpoint else {"url": got.base_url}
    if got.burst_sent and burst:
        last = burst[-1]
        if last.status == 429:
            if not last.headers.get("retry-after"):
                findings.append(make_finding("SEC051", f"The burst got 429 after {got.burst_sent} requests to "
                                                       f"{got.burst_path}, without Retry-After.", where,
                                             evidence=last.evidence, stable_location={"probe": "burst"}))
        elif last.status is not None:
            findings.append(make_finding(
                "SEC050", f"{got.burst_sent} GETs in a row to {got.burst_path} got no 429 (the last answered "
                          f"{last.status}).", where, evidence=last.evidence, stable_location={"probe": "burst"}))
        return findings
    answered = [e for e in got.exchanges if e.status is not None]
    if answered and not any(any(h in e.headers for h in RATE_HEADERS) for e in answered):
        findings.append(make_finding(
            "SEC052", f"None of the {len(answered)} responses carried rate-limit headers "
                      "(RateLimit-*, X-RateLimit-*, Retry-After), and no 429 was seen.", {"url": got.base_url},
            evidence=answered[0].evidence, stable_location={"probe": "rate-limit-headers"}))
    return findings
