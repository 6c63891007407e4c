"""Judging from saved results, no server: gates, per-endpoint overrides, insufficient data, merging."""

from __future__ import annotations

import random
from typing import Any

import pydantic
import pytest

from auditor.model import Status
from checks.latency import hist
from checks.latency.config import LatencyConfig, normalise_endpoint
from checks.latency.judge import Run, judge, merge
from checks.latency.schedule import smooth_mix

RUN = Run(mode="open", rate=40, duration=5, warmup=1, workers=0, base_url="http://127.0.0.1:8000")


def process(endpoints: dict[str, list[float]], *, errors: dict[str, int] | None = None, throttled: int = 0,
            cpu_s: float = 0.2, wall_s: float = 5.0, late: int = 0, dropped: int = 0, role: str = "local",
            index: int = 0) -> dict[str, Any]:
    """A process record as the load subprocess writes it, from latencies in ms per endpoint."""
    records = {}
    for name, values in endpoints.items():
        histogram = hist.new()
        for ms in values:
            hist.record_s(histogram, ms / 1000)
        failed = (errors or {}).get(name, 0)
        records[name] = {"hist": hist.encode(histogram), "requests": len(values), "errors": failed,
                         "throttled": throttled, "statuses": {"200": len(values) - failed},
                         "error_samples": ["HTTP 500"] if failed else []}
    count = sum(len(v) for v in endpoints.values())
    return {"role": role, "index": index, "cpu_s": cpu_s, "wall_s": wall_s, "scheduled": count + dropped,
            "sent": count, "late": late, "dropped": dropped, "unfinished": 0, "lag": hist.encode(hist.new()),
            "endpoints": records, "series": {}, "completed_series": {}}


def outcome_of(*processes: dict[str, Any], run: Run = RUN, **config: Any):
    return judge({"processes": list(processes), "interrupted": False}, LatencyConfig(**config), run)


def rules(outcome) -> set[str]:
    return {f.rule_id for f in outcome.findings}


def test_fast_endpoints_pass_and_metrics_use_the_contract_keys():
    outcome = outcome_of(process({"GET /a": [5.0] * 100, "GET /b": [8.0] * 100}))
    assert outcome.findings == [] and outcome.status is None
    for key in ("p50_ms", "p95_ms", "p99_ms", "rps", "requests", "error_rate", "endpoints"):
        assert key in outcome.metrics
    assert set(outcome.metrics["endpoints"][0]) >= {"method", "path", "requests", "p50_ms", "p95_ms", "p99_ms",
                                                   "error_rate"}
    assert outcome.metrics["requests"] == 200 and outcome.metrics["rps"] == 40


def test_p95_over_budget_is_a_high_finding_at_the_endpoint():
    outcome = outcome_of(process({"GET /slow": [150.0] * 120, "GET /fast": [5.0] * 120}))
    assert rules(outcome) == {"LAT001"}
    finding = outcome.findings[0]
    assert finding.location == {"endpoint": "GET /slow"} and finding.severity == "high"
    assert "p95 150 ms" in finding.message and "100 ms budget" in finding.message
    assert "docs/checks/latency.md#lat001" in finding.remediation


def test_per_endpoint_overrides_move_the_budgets():
    proc = process({"GET /report": [400.0] * 120, "GET /a": [50.0] * 120}, errors={"GET /a": 3})
    assert rules(outcome_of(proc)) == {"LAT001", "LAT002"}
    relaxed = outcome_of(proc, endpoints={"get /report": {"p95_ms": 500}, "GET /a": {"error_rate": 0.05}})
    assert relaxed.findings == []
    strict = outcome_of(proc, p95_ms=1000, endpoints={"/a": {"p95_ms": 20}})
    assert [f.location["endpoint"] for f in strict.findings if f.rule_id == "LAT001"] == ["GET /a"]


def test_error_rate_budget_is_strictly_exceeded_only():
    at_budget = outcome_of(process({"GET /a": [5.0] * 100}, errors={"GET /a": 1}))
    assert at_budget.findings == []
    over = outcome_of(process({"GET /a": [5.0] * 100}, errors={"GET /a": 2}))
    assert rules(over) == {"LAT002"} and "2 of 100 requests failed" in over.findings[0].message


def test_too_few_samples_warns_instead_of_passing_or_gating():
    outcome = outcome_of(process({"GET /rare": [500.0] * 5, "GET /a": [5.0] * 100}))
    assert rules(outcome) == {"LAT010"} and outcome.status is Status.WARN
    assert "insufficient data" in outcome.summary
    # Never a high finding, whatever the few samples said; the console says how to get enough.
    assert all(f.severity == "low" for f in outcome.findings)
    assert "--load-duration" in outcome.summary or "exclude" in outcome.summary


def test_nothing_measured_is_insufficient_data():
    outcome = outcome_of()
    assert outcome.status is Status.WARN and outcome.summary.startswith("insufficient data")
    assert outcome.metrics["p95_ms"] is None  # a percentile of nothing is not 0


@pytest.mark.parametrize(("kwargs", "rule"), [
    ({"late": 50}, "LAT011"),
    ({"dropped": 3}, "LAT011"),
    ({"cpu_s": 4.8, "wall_s": 5.0}, "LAT012"),
    ({"throttled": 10}, "LAT013"),
])
def test_an_untrustworthy_generator_makes_the_result_insufficient(kwargs, rule):
    outcome = outcome_of(process({"GET /a": [5.0] * 100}, **kwargs))
    assert rule in rules(outcome) and outcome.status is Status.WARN
    assert all(f.severity == "low" for f in outcome.findings)


def test_interrupted_run_says_so():
    outcome = judge({"processes": [process({"GET /a": [5.0] * 100})], "interrupted": True}, LatencyConfig(), RUN)
    assert "LAT014" in rules(outcome) and outcome.status is Status.WARN


def test_merge_is_exact_across_processes():
    rng = random.Random(7)
    values = [rng.uniform(1, 900) for _ in range(3000)]
    one = process({"GET /a": values})
    split = [process({"GET /a": values[i::3]}, role="worker", index=i) for i in range(3)]
    single, merged = merge([one]), merge(split)
    assert merged.endpoints["GET /a"].requests == single.endpoints["GET /a"].requests == 3000
    for percent in (50, 95, 99, 99.9, 100):
        assert merged.total.get_value_at_percentile(percent) == single.total.get_value_at_percentile(percent)
    assert len(merged.processes) == 3


def test_percentiles_are_exact_to_hdr_precision():
    values = [float(v) for v in range(1, 1001)]  # 1..1000 ms: p95 is 950 ms
    outcome = outcome_of(process({"GET /a": values}), p95_ms=10_000)
    assert outcome.metrics["p95_ms"] == pytest.approx(950, rel=0.001)
    assert outcome.metrics["p50_ms"] == pytest.approx(500, rel=0.001)


def test_closed_model_runs_are_flagged_and_not_p95_gated():
    run = Run(mode="locustfile", rate=40, duration=5, warmup=1, workers=0, base_url="http://127.0.0.1:1")
    outcome = outcome_of(process({"GET /slow": [900.0] * 120}), run=run)
    assert rules(outcome) == {"LAT015"}


def test_capacity_judgement_names_the_breaking_step():
    steps = [{**process({"GET /a": [10.0] * 100}, wall_s=1.0), "users": 1},
             {**process({"GET /a": [20.0] * 150}, wall_s=1.0), "users": 2},
             {**process({"GET /a": [300.0] * 160}, wall_s=1.0), "users": 4}]
    run = Run(mode="closed", rate=500, duration=5, warmup=0, workers=0, base_url="http://127.0.0.1:1")
    outcome = judge({"steps": steps, "processes": []}, LatencyConfig(), run)
    assert outcome.metrics["capacity_rps"] == 150 and outcome.metrics["capacity_limited"]
    assert {"LAT003", "LAT015"} <= rules(outcome)
    assert "4 users" in next(f.message for f in outcome.findings if f.rule_id == "LAT003")


def test_smooth_mix_spreads_targets_by_weight():
    order = smooth_mix([3, 1, 1])
    assert sorted(order) == [0, 0, 0, 1, 2] and order[0] == 0 and order[:2] != [0, 0]


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(pydantic.ValidationError):
        LatencyConfig(rate=0)
    with pytest.raises(pydantic.ValidationError):
        LatencyConfig(bogus=1)
    with pytest.raises(pydantic.ValidationError):
        LatencyConfig(rate=10_000)  # above the hard ceiling
    with pytest.raises(pydantic.ValidationError):
        LatencyConfig(endpoints={"books": {"p95_ms": 10}})
    assert normalise_endpoint("get   /books") == "GET /books" and normalise_endpoint("/x") == "GET /x"


def test_the_auditor_process_never_imports_locust_or_gevent():
    import subprocess
    import sys

    code = ("import sys, checks.latency, checks.latency.judge, checks.latency.traffic, checks.latency.launcher; "
            "checks.latency.LatencyCheck; "
            "bad = [m for m in ('locust', 'gevent') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lagging_generator_is_named_in_the_latency_finding():
    outcome = outcome_of(process({"GET /a": [300.0] * 100}, late=60))
    assert {"LAT001", "LAT011"} <= rules(outcome)
    assert "generator itself was late" in next(f.message for f in outcome.findings if f.rule_id == "LAT001")


def test_master_cpu_is_listed_with_the_workers():
    result = {"processes": [process({"GET /a": [5.0] * 60}, role="worker", index=i) for i in range(2)],
              "master": {"cpu_s": 0.1, "wall_s": 5.0}}
    outcome = judge(result, LatencyConfig(), RUN)
    assert [p["process"] for p in outcome.metrics["generator_processes"]] == ["worker 0", "worker 1", "master"]
    assert outcome.metrics["requests"] == 120


def test_flags_win_over_config_and_hard_ceilings_win_over_both(tmp_path):
    from checks.latency.check import _resolve
    from tests.conftest import check_context

    config = LatencyConfig(rate=10, duration=2)
    ctx = check_context("http://127.0.0.1:9", config, tmp_path, seconds=600,
                        settings={"load_rate": 99_999, "load_duration": 9_999, "load_workers": 99})
    run, _ = _resolve(ctx, config, "http://127.0.0.1:9")
    assert (run.rate, run.duration, run.workers) == (2000, 300, 16)
    assert len(run.capped) == 3
    plain, _ = _resolve(check_context("http://127.0.0.1:9", config, tmp_path, settings={"load_rate": None}),
                        config, "http://127.0.0.1:9")
    assert (plain.rate, plain.duration, plain.capped) == (10, 2, [])
    # Never plan a run the deadline would cut.
    from checks.latency.check import _fit_deadline

    short_ctx = check_context("http://127.0.0.1:9", config, tmp_path, seconds=40, settings={"load_duration": 60})
    short, _ = _resolve(short_ctx, config, "http://127.0.0.1:9")
    _fit_deadline(short_ctx, short, config, connection_s=0.0)
    assert short.duration < 40 and any("deadline" in c for c in short.capped)
