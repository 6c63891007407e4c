"""What the planner hands to the checks: one planned GET per operation it could fill with live values
(and how its preflight was answered), and the operations it left out, each with its reason."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from auditor.operations import Operation
from auditor.planner.fetch import Answer

# How a secured operation treats callers (judged from the preflights):
ENFORCED = "enforced"      # refuses anonymous callers (401/403)
OPTIONAL = "optional"      # answers anonymous callers, and answers differently with credentials
PUBLIC = "public"          # answers anonymous callers exactly as it answers the audit's credentials
ANONYMOUS = "anonymous"    # answers anonymous callers; no credentials were given to compare with
UNKNOWN = "unknown"        # anything else (not found, server error, a body that changes by itself)


@dataclass
class PlannedRequest:
    operation: Operation
    url_path: str                              # base path + concrete path + query string
    params: dict[str, Any]                     # every value used, by parameter name
    headers: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)   # parameter -> where its value came from
    page_size: tuple[str, int] | None = None   # the page-size parameter set to the largest allowed
    preflight: Answer | None = None            # the confirming request (with the audit's credentials)
    anonymous: Answer | None = None            # secured operations, credentials given: without them
    auth_mode: str | None = None               # secured operations: ENFORCED, OPTIONAL, ...
    representative: str = ""                   # why this resource was chosen ("most children: 12 of 4 seen")
    prefix: str = ""                           # the document's base path ("/api")

    @property
    def endpoint(self) -> str:
        return self.operation.endpoint

    def with_path_values(self, **values: Any) -> str:
        """The planned URL with some path parameters set to other values (boundary and malformed probes)."""
        merged = {**self.params, **values}
        path = self.operation.path
        for name in re.findall(r"{([^}/]+)}", self.operation.path):
            path = path.replace("{" + name + "}", quote(str(merged.get(name, "")), safe=""))
        query = urlsplit(self.url_path).query
        return self.prefix + path + (f"?{query}" if query else "")

    @property
    def ids_from_service(self) -> bool:
        return any(source.startswith("live") for source in self.sources.values())

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"endpoint": self.endpoint, "request": f"GET {self.url_path}",
                               "values": dict(self.sources)}
        if self.preflight is not None:
            row["preflight"] = self.preflight.to_dict()
        if self.anonymous is not None:
            row["anonymous"] = self.anonymous.to_dict()
        if self.auth_mode:
            row["auth"] = self.auth_mode
        if self.representative:
            row["representative"] = self.representative
        return row


@dataclass(frozen=True)
class Exclusion:
    endpoint: str
    reason: str              # one line: "no live value for {username}", "401 without credentials — give --header"
    kind: str    # no-live-value | unauthorized | forbidden | redirected | not-found | rejected | not-planned | config

    def to_dict(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "reason": self.reason, "kind": self.kind}


def refusal(answer: Answer | None, credentials: bool) -> tuple[str, str] | None:
    """(reason, kind) when a preflight answer means the request must not be loaded or profiled; None when
    it may (2xx, and 5xx or no answer too: those are what the error gates are for)."""
    if answer is None or answer.status is None or answer.ok or answer.status >= 500:
        return None
    if answer.redirected:
        where = f"redirected to {answer.redirected} (a login page?)"
        return (f"{where} with the given credentials" if credentials else f"{where} — give --header"), "redirected"
    status = answer.status
    if status == 401:
        return (("401 with the given credentials: they were refused (expired or for another service?)", "unauthorized")
                if credentials else ("401 without credentials — give --header", "unauthorized"))
    if status == 403:
        return (("403 with the given credentials: the account lacks access (a role or permission it does not "
                 "have)", "forbidden") if credentials else ("403 without credentials — give --header", "forbidden"))
    if status == 404:
        return "404 for the planned values (the resource does not exist)", "not-found"
    if 300 <= status < 400:
        return f"answered {status} (a redirect not followed to the end)", "rejected"
    return f"answered {status} to the planned request", "rejected"


@dataclass
class RequestPlan:
    requests: list[PlannedRequest] = field(default_factory=list)   # every GET operation filled with values
    unresolved: list[Exclusion] = field(default_factory=list)      # GET operations that could not be filled
    credentials: bool = False                                      # --header given
    blanket_security: bool = False      # the document declares security on every operation
    discovery_requests: int = 0
    preflight_requests: int = 0
    complete: bool = True
    stopped: str = ""

    def traffic(self) -> tuple[list[PlannedRequest], list[Exclusion]]:
        """What may be loaded or profiled (confirmed by its preflight, or a server error / no answer, which
        the checks judge), and what may not, each with its reason."""
        kept: list[PlannedRequest] = []
        excluded = list(self.unresolved)
        for planned in self.requests:
            refused = refusal(planned.preflight, self.credentials)
            if refused is None:
                kept.append(planned)
            else:
                excluded.append(Exclusion(planned.endpoint, *refused))
        return kept, excluded

    def by_endpoint(self) -> dict[str, PlannedRequest]:
        return {p.endpoint: p for p in self.requests}

    def auth_modes(self) -> dict[str, str]:
        return {p.endpoint: p.auth_mode for p in self.requests if p.auth_mode}

    def metrics(self) -> dict[str, Any]:
        """The plan as the report shows it (each check that used it includes it)."""
        return {"discovery_requests": self.discovery_requests, "preflight_requests": self.preflight_requests,
                "credentials": self.credentials, "complete": self.complete,
                **({"stopped": self.stopped} if self.stopped else {}),
                "requests": [p.to_dict() for p in self.requests],
                "unresolved": [e.to_dict() for e in self.unresolved]}


def summarise(excluded: list[Exclusion], limit: int = 3) -> str:
    """"5 excluded: 401 without credentials — give --header (3); no live value for {username} (2)"."""
    if not excluded:
        return ""
    counts = Counter(e.reason for e in excluded)
    parts = [f"{reason} ({n})" if len(counts) > 1 or n > 1 else reason for reason, n in counts.most_common(limit)]
    more = len(counts) - limit
    return (f"{len(excluded)} excluded: " + "; ".join(parts)
            + (f"; {more} other reason{'s' if more != 1 else ''}" if more > 0 else ""))
