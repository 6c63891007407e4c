"""Metric regressions between a baseline report and this run: the rules (LAT900, COV900, NPQ900, OAS900,
documented in docs/gating.md) and the one comparison both the gate (``auditor.baseline.add_regressions``)
and ``audit compare`` use, so they never disagree about what "worse" means.

Compared metrics, each only when both runs measured it (a check that was skipped, errored or produced
no number is no regression — and no improvement either):

- latency ``p95_ms``, overall and per endpoint (``metrics["endpoints"]`` rows with method, path, p95_ms).
  Worse only when above the baseline by the ratio AND by the noise band: a few-ms p95 jitters by more
  than 10 % from run to run. Runs in different load modes (open vs closed) are not comparable: skipped.
- coverage ``percent_covered``: down by more than ``coverage_drop`` percentage points, like with like (the
  same ``scope`` of measured files: ``coverage_pair``).
- nplusone: the number of NPQ001 (potential N+1) findings, up by more than ``nplusone_increase``.
  Findings a check itself marked suppressed are not counted; ones accepted in the ignore file are
  (they are still N+1 queries, and the gate counts them before the ignore file is applied).
- openapi ``completeness_percent``: down by more than ``completeness_drop`` percentage points.

"Improved" is the mirror image: better by more than the same band.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from auditor.catalogue import Catalogue, Rule
from auditor.config import RegressionSettings
from auditor.model import CheckResult, Finding, Severity, Status

DOCS = "docs/gating.md"
NPLUSONE_RULE = "NPQ001"  # checks/nplusone/rules.py: "Potential N+1 query"

_RULES = (
    Rule("LAT900", "p95 latency regressed", Severity.HIGH,
         "Find what made the endpoint slower since the baseline run: compare the two reports' latency "
         "tables, look for new queries (the nplusone check), missing indexes, added synchronous calls or "
         "smaller connection pools. If the slowdown is accepted, refresh the baseline from this run; if "
         "the runner is noisy, widen p95_noise_ms rather than p95_ratio."),
    Rule("COV900", "Test coverage dropped", Severity.HIGH,
         "Add tests for the code added or changed since the baseline (the coverage check's diff coverage "
         "with --base-ref lists the uncovered lines), or remove dead code that is no longer tested."),
    Rule("NPQ900", "More N+1 queries than the baseline", Severity.HIGH,
         "Eager-load the relations of the new NPQ001 findings (SQLAlchemy selectinload()/joinedload(), "
         "Django select_related()/prefetch_related()) or batch the lookups with WHERE id IN (...)."),
    Rule("OAS900", "OpenAPI completeness dropped", Severity.HIGH,
         "Document the operations added or changed since the baseline: summary, description, response "
         "schemas and examples, error responses and security (the openapi check's completeness findings "
         "name what is missing)."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
RULE_OF_CHECK = {"latency": "LAT900", "coverage": "COV900", "nplusone": "NPQ900", "openapi": "OAS900"}
# Findings the gate adds; never part of a finding diff (they describe a comparison, not the service).
REGRESSION_RULE_IDS = frozenset(RULES)

Direction = Literal["regressed", "improved", "steady"]
# How each metric reads in a sentence.
METRIC_NAMES = {"p95_ms": "p95 latency", "percent_covered": "test coverage",
                "nplusone_findings": "the number of N+1 findings (NPQ001)",
                "completeness_percent": "OpenAPI completeness"}


@dataclass(frozen=True)
class MetricChange:
    check: str
    metric: str
    baseline: float | int
    current: float | int
    direction: Direction
    limit: str                 # the band, as a person reads it: "+10 % and +5 ms"
    unit: str = ""
    endpoint: str | None = None

    @property
    def rule_id(self) -> str:
        return RULE_OF_CHECK[self.check]

    @property
    def label(self) -> str:
        """"p95 latency of GET /books" — what changed, for lists and tables."""
        return METRIC_NAMES.get(self.metric, self.metric) + (f" of {self.endpoint}" if self.endpoint else "")

    def describe(self) -> str:
        """"from 12.0 ms to 30.5 ms (+18.5 ms, +154 %)"."""
        delta = self.current - self.baseline
        # Percentages move by points (a relative change of a percentage only confuses); timings by both.
        delta_unit = " points" if self.unit == " %" else self.unit
        relative = f", {delta / self.baseline:+.0%}".replace("%", " %") if self.baseline and self.unit == " ms" else ""
        return (f"from {_fmt(self.baseline)}{self.unit} to {_fmt(self.current)}{self.unit} "
                f"({'+' if delta >= 0 else '-'}{_fmt(abs(delta))}{delta_unit}{relative})")

    def to_dict(self) -> dict[str, Any]:
        """The gate["regressions"] item (report schema 1.1)."""
        item: dict[str, Any] = {"check": self.check, "metric": self.metric}
        if self.endpoint is not None:
            item["endpoint"] = self.endpoint
        item.update(baseline=self.baseline, current=self.current, limit=self.limit, rule_id=self.rule_id)
        return item

    def finding(self) -> Finding:
        """The high finding the gate appends to the check; its fingerprint is rule, endpoint and metric
        only, so the same regression keeps one identity across runs."""
        label = self.label
        message = (f"{label[0].upper()}{label[1:]} went {self.describe()} since the baseline run, beyond the "
                   f"allowed band of {self.limit}.")
        location = {"endpoint": self.endpoint} if self.endpoint else {}
        return CATALOGUE.finding(self.rule_id, message, location, key=self.metric,
                                 evidence=f"baseline: {_fmt(self.baseline)}{self.unit}; this run: "
                                          f"{_fmt(self.current)}{self.unit}; band: {self.limit}")


def metric_changes(baseline: Iterable[CheckResult], current: Iterable[CheckResult],
                   limits: RegressionSettings) -> list[MetricChange]:
    """Every metric measured in both runs, judged against the bands (regressed, improved or steady).
    ``limits`` must be complete (``PolicySettings.regression_limits()``): a None band is treated as 0."""
    old = {c.id: c for c in baseline if _measured(c)}
    new = {c.id: c for c in current if _measured(c)}
    changes: list[MetricChange] = []
    if "latency" in old and "latency" in new:
        changes += _latency(old["latency"].metrics, new["latency"].metrics, limits)
    if "coverage" in old and "coverage" in new:
        drop = limits.coverage_drop or 0.0
        pair = coverage_pair(old["coverage"].metrics, new["coverage"].metrics)
        if pair is not None:
            changes += _banded("coverage", "percent_covered", *pair, drop, f"-{_fmt(drop)} percentage points",
                               unit=" %")
    if "nplusone" in old and "nplusone" in new:
        allowed = limits.nplusone_increase or 0
        before, after = nplusone_count(old["nplusone"]), nplusone_count(new["nplusone"])
        changes += _banded("nplusone", "nplusone_findings", before, after, allowed, f"+{allowed}",
                           higher_is_better=False)
    if "openapi" in old and "openapi" in new:
        drop = limits.completeness_drop or 0.0
        changes += _banded("openapi", "completeness_percent", old["openapi"].metrics.get("completeness_percent"),
                           new["openapi"].metrics.get("completeness_percent"), drop,
                           f"-{_fmt(drop)} percentage points", unit=" %")
    return changes


def coverage_pair(old: dict[str, Any], new: dict[str, Any]) -> tuple[Any, Any] | None:
    """The two coverage figures that measured the same files, or None when no pair did.

    Since issue 14 the coverage check's figure is the application's (``scope`` "application": tests left out)
    when the repo has no coverage config of its own, and ``percent_covered_with_tests`` is the figure with
    them. A report without ``scope`` predates that: it measured the whole repo, tests included, exactly when
    the newer one would say "application". Figures of different scopes are not compared: a drop there is
    the file set changing, not the tests."""
    old_scope, new_scope = old.get("scope"), new.get("scope")
    if old_scope == new_scope:
        return old.get("percent_covered"), new.get("percent_covered")
    if old_scope is None and new_scope == "application":
        return old.get("percent_covered"), new.get("percent_covered_with_tests")
    if new_scope is None and old_scope == "application":
        return old.get("percent_covered_with_tests"), new.get("percent_covered")
    if None in (old_scope, new_scope) and "repo-config" in (old_scope, new_scope):
        return old.get("percent_covered"), new.get("percent_covered")  # the repo's config, before and after
    return None


def nplusone_count(check: CheckResult) -> int:
    """NPQ001 findings, without those the check itself suppressed (see the module docstring)."""
    return sum(1 for f in check.findings
               if f.rule_id == NPLUSONE_RULE and not (f.suppressed and f.suppression is None))


def _measured(check: CheckResult) -> bool:
    return check.status not in (Status.ERROR, Status.SKIPPED)


def _latency(old: dict[str, Any], new: dict[str, Any], limits: RegressionSettings) -> list[MetricChange]:
    if old.get("mode") and new.get("mode") and old["mode"] != new["mode"]:
        return []  # open-model latency and a closed-model ramp's last step measure different things
    ratio, noise = limits.p95_ratio or 0.0, limits.p95_noise_ms or 0.0
    limit = f"+{_fmt(ratio * 100)} % and +{_fmt(noise)} ms"
    pairs: list[tuple[str | None, Any, Any]] = [(None, old.get("p95_ms"), new.get("p95_ms"))]
    old_rows, new_rows = _endpoint_p95(old), _endpoint_p95(new)
    pairs += [(endpoint, old_rows[endpoint], new_rows[endpoint]) for endpoint in sorted(old_rows)
              if endpoint in new_rows]
    changes = []
    for endpoint, before, after in pairs:
        if not (_number(before) and _number(after)):
            continue
        if after > before * (1 + ratio) and after - before > noise:
            direction: Direction = "regressed"
        elif before > after * (1 + ratio) and before - after > noise:
            direction = "improved"
        else:
            direction = "steady"
        changes.append(MetricChange("latency", "p95_ms", float(before), float(after), direction, limit, " ms",
                                    endpoint))
    return changes


def _endpoint_p95(metrics: dict[str, Any]) -> dict[str, Any]:
    rows = metrics.get("endpoints")
    result: dict[str, Any] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and isinstance(row.get("method"), str) and isinstance(row.get("path"), str):
            result[f"{row['method'].upper()} {row['path']}"] = row.get("p95_ms")
    return result


def _banded(check: str, metric: str, before: Any, after: Any, band: float, limit: str, *, unit: str = "",
            higher_is_better: bool = True) -> list[MetricChange]:
    """Worse (or better) when the value moved the wrong (right) way by more than ``band``."""
    if not (_number(before) and _number(after)):
        return []
    delta = round(float(after) - float(before), 9)  # 80.1 - 80.0 must not read as 0.0999999
    gain = delta if higher_is_better else -delta
    direction: Direction = "regressed" if -gain > band else "improved" if gain > band else "steady"
    return [MetricChange(check, metric, before, after, direction, limit, unit)]


def _number(value: Any) -> bool:
    """A real measurement: saved reports are untrusted (JSON may carry NaN or Infinity, or a string)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: float) -> str:
    """12 -> "12", 12.25 -> "12.25", 0.1 + 0.2 -> "0.3"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
