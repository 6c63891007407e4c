"""The latency section of report.html: per-endpoint percentile charts and the time series, inline SVG."""

from __future__ import annotations

from auditor.model import CheckResult, Report, Section, Status, Verdict
from checks.latency.config import LatencyConfig
from checks.latency.judge import Run, judge
from reports.html import HtmlRenderer
from tests.checks.test_latency_judge import process


def _render(outcome) -> str:
    check = CheckResult(id="latency", title="Latency under load", section=Section.PERFORMANCE, status=Status.FAIL,
                        summary=outcome.summary, metrics=outcome.metrics, findings=outcome.findings)
    report = Report(tool={"name": "backend-auditor", "version": "t"}, target={"url": "http://127.0.0.1:1"},
                    started_at="2026-01-01T00:00:00Z", duration_s=1, verdict=Verdict.FAIL, checks=[check],
                    gate={"fail_on": "high", "exit_code": 1})
    return HtmlRenderer().render(report)


def test_charts_show_every_endpoint_the_budget_and_the_time_series():
    proc = process({"GET /slow": [150.0] * 40, "GET /<script>alert(1)</script>": [5.0] * 40})
    proc["series"] = {str(s): {"hist": proc["endpoints"]["GET /slow"]["hist"], "requests": 40, "errors": 0}
                      for s in range(3)}
    proc["completed_series"] = {"0": 38, "1": 40, "2": 42}
    run = Run(mode="open", rate=40, duration=2, warmup=0.5, workers=0, base_url="http://127.0.0.1:1")
    html = _render(judge({"processes": [proc]}, LatencyConfig(), run))
    for title in ("p95 latency per endpoint (ms)", "p50 / p95 / p99 per endpoint (ms)",
                  "p95 latency per second (ms)", "completed requests per second"):
        assert f'aria-label="{title}"' in html
    assert "budget 100 ms" in html and "GET /slow" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html   # untrusted names are escaped


def test_the_interval_rounds_machine_and_service_cost_are_drawn():
    from checks.latency.observed import Observed
    from checks.latency.serviceproc import ServiceRef
    from tests.checks.test_latency_confidence import RUN, _samples
    from tests.checks.test_latency_confidence import process as rounds_process

    proc = rounds_process({"GET /slow": [[150.0] * 40] * 3, "GET /fast": [[5.0] * 40] * 3})
    observed = Observed(samples=_samples(0.4, 0, service_cpu=0.1), cores=2, service=ServiceRef(roots=[42], how="t"))
    outcome = judge({"processes": [proc]}, LatencyConfig(), RUN, observed)
    html = _render(outcome)
    chart = html.split('aria-label="p95 and its 95 % interval per endpoint (ms)"', 1)[1].split("</svg>", 1)[0]
    assert 'class="point over"' in chart and 'class="point bar"' in chart      # /slow over, /fast within
    assert chart.count('class="mark"') == 6                                     # 3 rounds x 2 endpoints
    assert "GET /slow: 150.0 ms [149.9 ms–150.0 ms]" in chart   # p95 [lower end–upper end], HdrHistogram buckets
    for title in ("machine CPU busy (%)", "service CPU (% of one core)", "service RSS (MB)"):
        assert f'aria-label="{title}"' in html


def test_capacity_ramp_chart_and_no_crash_on_sparse_metrics():
    steps = [{**process({"GET /a": [10.0] * 50}, wall_s=1.0), "users": 1},
             {**process({"GET /a": [200.0] * 60}, wall_s=1.0), "users": 2}]
    run = Run(mode="closed", rate=100, duration=2, warmup=0, workers=0, base_url="http://127.0.0.1:1")
    html = _render(judge({"steps": steps, "processes": []}, LatencyConfig(), run))
    assert 'aria-label="p95 (ms) by throughput (req/s)"' in html
    empty = _render(judge({"processes": []}, LatencyConfig(),
                          Run(mode="open", rate=1, duration=1, warmup=0, workers=0, base_url="http://x")))
    assert "insufficient data" in empty
