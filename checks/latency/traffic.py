"""What the load consists of: the audit's request plan (auditor.planner: one GET per operation with live
values, confirmed by one preflight; operations refused or without live values excluded with their
reasons), filtered and weighted by config, plus the config's extra paths, each probed once so that one
that refuses the audit's credentials is left out with a reason instead of drowning the gate in 401s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from auditor.http import HttpClient, RequestFailed
from auditor.planner import Answer, Exclusion, RequestPlan, refusal

from checks.latency.config import LatencyConfig, normalise_endpoint


@dataclass
class Target:
    name: str                 # the endpoint it counts as: "GET /books/{book_id}"
    path: str                 # what is requested: "/books/3" (base path and query included)
    weight: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    probe: str = ""           # how the one probe request answered ("200 in 4 ms")

    def to_job(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "weight": self.weight, "headers": self.headers}


@dataclass
class Traffic:
    targets: list[Target] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    extras: list[Target] = field(default_factory=list)     # config paths, probed by probe_extras()


def plan(request_plan: RequestPlan, config: LatencyConfig) -> Traffic:
    """Targets from the plan's loadable requests plus config extras (those not probed yet)."""
    traffic = Traffic()
    loadable, excluded = request_plan.traffic()
    traffic.excluded = excluded
    for planned in loadable:
        name = planned.endpoint
        budget = config.endpoints.get(name)
        if name in config.exclude:
            traffic.excluded.append(Exclusion(name, "excluded in config", "config"))
            continue
        if budget is not None and budget.weight == 0:
            traffic.excluded.append(Exclusion(name, "weight 0 in config", "config"))
            continue
        weight = budget.weight if budget is not None and budget.weight is not None else 1
        preflight = planned.preflight.describe() if planned.preflight else ""
        traffic.targets.append(Target(name, planned.url_path, weight, dict(planned.headers), preflight))
    for extra in config.extra:
        name = normalise_endpoint(extra.name) if extra.name else f"GET {urlsplit(extra.path).path}"
        traffic.extras.append(Target(name, extra.path, extra.weight))
    return traffic


def probe_extras(traffic: Traffic, http: HttpClient, credentials: bool, should_stop: Callable[[], bool],
                 progress: Callable[[str], None] = lambda message: None, timeout_s: float = 10.0) -> Traffic:
    """GET each config extra once (the plan confirmed the spec's own): refused ones are left out with the
    reason; anything else stays in — a 5xx is exactly what the error gate is for."""
    for target in traffic.extras:
        if should_stop():
            break
        progress(f"probe GET {target.path}")
        try:
            response = http.get(target.path, headers=target.headers or None, timeout=timeout_s)
        except RequestFailed as exc:
            target.probe = f"no response: {str(exc).split(': ', 1)[-1]}"
            traffic.targets.append(target)
            continue
        target.probe = f"{response.status} in {response.elapsed_s * 1000:.0f} ms"
        refused = refusal(Answer(response.status), credentials)
        if refused is not None:
            traffic.excluded.append(Exclusion(target.name, *refused))
            continue
        traffic.targets.append(target)
    traffic.extras = []
    return traffic
