"""What the load consists of: one concrete GET per safe operation of the spec (auditor.operations does
the walking and fills parameters: examples, the service's own ids, generated values), filtered and
weighted by config, then probed once each so that an endpoint that refuses anonymous callers is left out
with a reason instead of drowning the gate in 401s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from auditor.http import HttpClient, RequestFailed
from auditor.operations import plan_safe_requests

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
    excluded: list[dict[str, str]] = field(default_factory=list)   # {"endpoint", "reason"}


def plan(document: dict[str, Any], http: HttpClient | None, config: LatencyConfig,
         source_url: str | None = None) -> Traffic:
    """Targets from the spec's GET operations plus config extras (no probing yet)."""
    traffic = Traffic()
    for planned in plan_safe_requests(document, http, source_url=source_url):
        name = planned.operation.endpoint
        budget = config.endpoints.get(name)
        if name in config.exclude:
            traffic.excluded.append({"endpoint": name, "reason": "excluded in config"})
            continue
        if budget is not None and budget.weight == 0:
            traffic.excluded.append({"endpoint": name, "reason": "weight 0 in config"})
            continue
        weight = budget.weight if budget is not None and budget.weight is not None else 1
        traffic.targets.append(Target(name, planned.url_path, weight, dict(planned.headers)))
    for extra in config.extra:
        name = normalise_endpoint(extra.name) if extra.name else f"GET {urlsplit(extra.path).path}"
        traffic.targets.append(Target(name, extra.path, extra.weight))
    return traffic


def probe(traffic: Traffic, http: HttpClient, should_stop: Callable[[], bool],
          progress: Callable[[str], None] = lambda message: None, timeout_s: float = 10.0) -> Traffic:
    """GET each target once (this also warms caches and connections). 401/403 means the audit has no
    accepted credential for it: left out, with the reason. Anything else stays in — a 5xx here is
    exactly what the error gate is for. No answer at all from every target is the caller's error."""
    kept: list[Target] = []
    for target in traffic.targets:
        if should_stop():
            break
        progress(f"probe GET {target.path}")
        try:
            response = http.get(target.path, headers=target.headers or None, timeout=timeout_s)
        except RequestFailed as exc:
            target.probe = f"no response: {str(exc).split(': ', 1)[-1]}"
            kept.append(target)
            continue
        target.probe = f"{response.status} in {response.elapsed_s * 1000:.0f} ms"
        if response.status in (401, 403):
            traffic.excluded.append({"endpoint": target.name,
                                     "reason": f"answers {response.status} to the audit's credentials "
                                               "(give --header to load it)"})
            continue
        kept.append(target)
    traffic.targets = kept
    return traffic
