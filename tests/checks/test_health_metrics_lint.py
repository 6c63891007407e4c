"""metrics_lint on strings: no server."""

from __future__ import annotations

import textwrap

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from checks.health import metrics_lint as ml
from tests.checks.conftest import red_registry


def problems(text: str) -> list[ml.Problem]:
    return ml.lint(ml.scan(textwrap.dedent(text)))


def rule_metrics(text: str) -> set[tuple[str, str]]:
    return {(p.rule_id, p.metric) for p in problems(text)}


@pytest.mark.parametrize("header, fmt", [
    ("text/plain; version=0.0.4; charset=utf-8", ml.TEXT),
    ("text/plain", ml.TEXT),
    ("text/plain; version=1.0.0; charset=utf-8", ml.TEXT),
    ("application/openmetrics-text; version=1.0.0; charset=utf-8", ml.OPENMETRICS),
    ("application/openmetrics-text; version=0.0.1", ml.OPENMETRICS),
])
def test_accepted_content_types(header, fmt):
    assert ml.judge_content_type(header) == (fmt, "")


@pytest.mark.parametrize("header", ["application/json", "text/html; charset=utf-8", "", "text/plain; version=9"])
def test_rejected_content_types(header):
    fmt, problem = ml.judge_content_type(header)
    assert fmt is None and problem


def test_parse_failure_names_the_problem():
    count, error = ml.parse_families("<html><body>Metrics</body></html>", ml.TEXT)
    assert count == 0 and error and "ValueError" in error


def test_openmetrics_needs_eof():
    assert ml.parse_families("# TYPE a gauge\na 1\n", ml.OPENMETRICS)[1]
    assert ml.parse_families("# TYPE a gauge\na 1\n# EOF\n", ml.OPENMETRICS) == (1, None)
    assert ml.guess_format("a 1\n# EOF\n") == ml.OPENMETRICS


@pytest.mark.parametrize("text", [
    generate_latest(REGISTRY).decode(),                 # process + python collectors, text format
    generate_openmetrics(REGISTRY).decode(),            # the same in OpenMetrics
    generate_latest(red_registry()).decode(),
    generate_openmetrics(red_registry()).decode(),
])
def test_prometheus_client_output_is_clean(text):
    assert problems(text) == []


def test_real_client_library_metrics_of_every_type_are_clean():
    registry = CollectorRegistry()
    Gauge("queue_depth_items", "Items waiting", registry=registry).set(3)
    Counter("jobs_processed", "Jobs", ["queue"], registry=registry).labels("default").inc()
    Histogram("payload_size_bytes", "Payload sizes", buckets=(100, 1000, 10000), registry=registry).observe(512)
    assert problems(generate_latest(registry).decode()) == []


def test_counter_without_total():
    assert ("HLT031", "jobs") in rule_metrics("""
        # HELP jobs Jobs done
        # TYPE jobs counter
        jobs 3
    """)


def test_gauge_ending_in_total():
    assert ("HLT032", "temperature_total") in rule_metrics("""
        # HELP temperature_total Something
        # TYPE temperature_total gauge
        temperature_total 3
    """)


def test_untyped_total_is_not_flagged_as_non_counter():
    assert not {r for r, _ in rule_metrics("# HELP x_total X\nx_total 3\n")} & {"HLT032"}


def test_units_abbreviations_type_words_colon_camel_case():
    found = rule_metrics("""
        # HELP request_latency_milliseconds L
        # TYPE request_latency_milliseconds gauge
        request_latency_milliseconds 3
        # HELP cache_size_kilobytes C
        # TYPE cache_size_kilobytes gauge
        cache_size_kilobytes 3
        # HELP uptime_minutes U
        # TYPE uptime_minutes gauge
        uptime_minutes 3
        # HELP db_query_ms Q
        # TYPE db_query_ms gauge
        db_query_ms 3
        # HELP jobs_counter_total J
        # TYPE jobs_counter_total counter
        jobs_counter_total 3
        # HELP job:rate5m R
        # TYPE job:rate5m gauge
        job:rate5m 3
        # HELP activeUsers A
        # TYPE activeUsers gauge
        activeUsers 3
        # HELP sessions_open S
        # TYPE sessions_open gauge
        sessions_open{userAgent="x"} 3
    """)
    assert {("HLT033", "request_latency_milliseconds"), ("HLT033", "cache_size_kilobytes"),
            ("HLT033", "uptime_minutes"), ("HLT034", "db_query_ms"), ("HLT035", "jobs_counter_total"),
            ("HLT036", "job:rate5m"), ("HLT037", "activeUsers"), ("HLT037", "sessions_open")} <= found


def test_missing_help():
    assert ("HLT030", "orders_open") in rule_metrics("# TYPE orders_open gauge\norders_open 3\n")
    assert ("HLT030", "bare") in rule_metrics("bare 1\n")


def test_reserved_suffixes_and_labels_on_wrong_types():
    found = problems("""
        # HELP items_count Items
        # TYPE items_count gauge
        items_count 3
        # HELP lat Latency
        # TYPE lat gauge
        lat{le="0.5"} 3
        lat{quantile="0.5"} 3
    """)
    keys = {(p.rule_id, p.metric, p.key) for p in found}
    assert {("HLT038", "items_count", "_count"), ("HLT038", "lat", "le"), ("HLT038", "lat", "quantile")} <= keys


HISTOGRAM_HEAD = """\
# HELP rpc_duration_seconds RPC duration
# TYPE rpc_duration_seconds histogram
"""


def test_histogram_without_inf_bucket():
    found = problems(HISTOGRAM_HEAD + """\
rpc_duration_seconds_bucket{le="0.1"} 1
rpc_duration_seconds_bucket{le="1"} 2
rpc_duration_seconds_count 2
rpc_duration_seconds_sum 0.9
""")
    assert [(p.rule_id, p.metric) for p in found] == [("HLT039", "rpc_duration_seconds")]
    assert "+Inf" in found[0].message


def test_histogram_non_monotonic_buckets_and_inf_differs_from_count():
    found = problems(HISTOGRAM_HEAD + """\
rpc_duration_seconds_bucket{route="/a",le="0.1"} 5
rpc_duration_seconds_bucket{route="/a",le="1"} 2
rpc_duration_seconds_bucket{route="/a",le="+Inf"} 7
rpc_duration_seconds_count{route="/a"} 9
rpc_duration_seconds_sum{route="/a"} 3
""")
    assert len(found) == 1 and found[0].rule_id == "HLT039"
    assert "decrease" in found[0].message and "differs from _count 9" in found[0].message
    assert 'route="/a"' in found[0].message


def test_histogram_le_out_of_order():
    found = problems(HISTOGRAM_HEAD + """\
rpc_duration_seconds_bucket{le="1"} 2
rpc_duration_seconds_bucket{le="0.1"} 1
rpc_duration_seconds_bucket{le="+Inf"} 2
rpc_duration_seconds_count 2
rpc_duration_seconds_sum 1
""")
    assert [p.rule_id for p in found] == ["HLT039"] and "ascending" in found[0].message


def test_duplicate_series():
    found = problems("""
        # HELP up_jobs U
        # TYPE up_jobs gauge
        up_jobs{job="a",zone="x"} 1
        up_jobs{zone="x",job="a"} 2
        up_jobs{job="b",zone="x"} 2
    """)
    assert [(p.rule_id, p.metric) for p in found] == [("HLT040", "up_jobs")]
    assert "lines 4 and 5" in found[0].message


def test_uuid_and_raw_path_label_values():
    found = problems("""
        # HELP http_requests_total R
        # TYPE http_requests_total counter
        http_requests_total{path="/users/1041",user="6f1c2a4e-8d1b-4c3e-9f7a-2b5d8e9c0a11"} 1
        http_requests_total{path="/users/1042",user="0b7e3c9d-1a2f-4e5b-8c6d-7e8f9a0b1c22"} 1
        http_requests_total{path="/health",user="anonymous"} 1
    """)
    assert {(p.rule_id, p.metric, p.key) for p in found} == {
        ("HLT041", "http_requests_total", "path"), ("HLT041", "http_requests_total", "user")}


def test_one_build_hash_is_not_cardinality():
    assert problems("""
        # HELP app_build_info Build
        # TYPE app_build_info gauge
        app_build_info{revision="3f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e",version="1.4.2"} 1
        # HELP http_requests_total R
        # TYPE http_requests_total counter
        http_requests_total{status="200",route="/api/2/items"} 1
        http_requests_total{status="404",route="/api/2/orders"} 1
    """) == []


def test_red_metrics_detection():
    assert ml.red_metrics(ml.scan(generate_latest(red_registry()).decode())) == ml.RedMetrics(
        "http_requests_total", "http_request_duration_seconds", [])
    om = ml.red_metrics(ml.scan(generate_openmetrics(red_registry()).decode()))
    assert (om.request_counter, om.duration_histogram) == ("http_requests", "http_request_duration_seconds")
    none = ml.red_metrics(ml.scan(generate_latest(REGISTRY).decode()))
    assert (none.request_counter, none.duration_histogram) == (None, None)


def test_red_near_misses_are_explained():
    registry = CollectorRegistry()
    Counter("http_requests", "R", ["method"], registry=registry).labels("GET").inc()
    Histogram("http_request_duration_milliseconds", "D", registry=registry).observe(3)
    red = ml.red_metrics(ml.scan(generate_latest(registry).decode()))
    assert red.request_counter is None and red.duration_histogram is None
    assert any("no status label" in n for n in red.near_misses)
    assert any("not in seconds" in n for n in red.near_misses)


def test_histogram_with_status_label_counts_as_request_counter():
    registry = CollectorRegistry()
    Histogram("http_server_requests_seconds", "D", ["method", "status"], registry=registry).labels("GET", "200").observe(1)
    red = ml.red_metrics(ml.scan(generate_latest(registry).decode()))
    assert red.request_counter == red.duration_histogram == "http_server_requests_seconds"


def test_escaped_label_values_are_read():
    exposition = ml.scan('# HELP m M\n# TYPE m gauge\nm{a="x\\"y,z",b="\\\\"} 1\n')
    assert exposition.families["m"].samples[0].labels == (("a", 'x"y,z'), ("b", "\\"))


def test_braces_in_label_values_and_exemplars_are_read():
    text = ('# HELP rpc_seconds R\n# TYPE rpc_seconds histogram\n'
            'rpc_seconds_bucket{route="/books/{id}",le="1.0"} 2 # {trace_id="abc"} 0.5 1700000000\n'
            'rpc_seconds_bucket{route="/books/{id}",le="+Inf"} 2\n'
            'rpc_seconds_count{route="/books/{id}"} 2\nrpc_seconds_sum{route="/books/{id}"} 1\n# EOF\n')
    exposition = ml.scan(text)
    assert exposition.unreadable_lines == 0
    assert exposition.families["rpc_seconds"].samples[0].labels == (("route", "/books/{id}"), ("le", "1.0"))
    assert ml.lint(exposition) == []
