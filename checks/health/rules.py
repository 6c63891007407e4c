"""The health check's rule catalogue: one place for every rule id, its title, default severity and
remediation. Findings are built from it and docs/checks/health.md mirrors it (a test keeps them in step).

Rule ids are stable: never renumber, only add.
"""

from __future__ import annotations

from auditor.catalogue import Catalogue, Rule
from auditor.model import Severity

DOCS = "docs/checks/health.md"


_RULES = (
    # Liveness and readiness.
    Rule("HLT001", "No liveness endpoint", Severity.HIGH,
         "Expose a cheap unauthenticated GET endpoint (Kubernetes convention: /livez) that answers 200 while "
         "the process can serve, without checking dependencies; point the orchestrator's liveness probe at "
         "it. If it lives elsewhere, set [tool.auditor.health] liveness = [\"/your/path\"]."),
    Rule("HLT002", "No readiness endpoint", Severity.HIGH,
         "Expose a GET endpoint (Kubernetes convention: /readyz) that answers 200 only when the service can "
         "take traffic (database and other required dependencies reachable) and 503 otherwise. If it lives "
         "elsewhere set readiness = [\"/path\"]; if the service deliberately has none, set "
         "require_readiness = false."),
    Rule("HLT003", "Health endpoint is slow", Severity.MEDIUM,
         "Health probes must be cheap: answer from cached dependency state or with short timeouts, never "
         "run heavy queries per probe. A slow probe times out under load and the orchestrator restarts or "
         "unroutes a working pod."),
    Rule("HLT004", "Health endpoint answers an error", Severity.HIGH,
         "The endpoint exists but answers 5xx, an unexpected 4xx or nothing at all, so the orchestrator "
         "sees the service as unhealthy. Look at the service log for the failing dependency or the crash "
         "in the health handler."),
    Rule("HLT005", "Health endpoint says it is failing but answers success", Severity.HIGH,
         "Probes only look at the HTTP status: a body reporting fail/down with 2xx makes the orchestrator "
         "route traffic to a broken instance. Answer 503 when the reported status is fail/down (the IETF "
         "health-check draft and Spring Boot Actuator both do)."),
    Rule("HLT006", "Health status and HTTP status disagree", Severity.MEDIUM,
         "In application/health+json, status pass/warn goes with 2xx-3xx and fail with 4xx-5xx. Make the "
         "HTTP status follow the body's status."),
    Rule("HLT007", "Invalid application/health+json body", Severity.MEDIUM,
         "A body served as application/health+json must be a JSON object with a \"status\" member of "
         "\"pass\", \"warn\" or \"fail\" (IETF draft-inadarei-api-health-check). Fix the body or serve "
         "plain application/json."),
    Rule("HLT008", "Non-standard health status value", Severity.LOW,
         "application/health+json defines status pass/warn/fail; values like \"ok\" or \"UP\" are not "
         "understood by tools that follow the draft. Map them to pass/warn/fail."),
    Rule("HLT009", "Liveness and readiness share one endpoint", Severity.LOW,
         "Readiness should reflect dependencies (database, caches), liveness should not: a liveness probe "
         "that fails when the database is down restarts every pod at once. Serve two endpoints "
         "(/livez without dependency checks, /readyz with them)."),
    Rule("HLT010", "Health endpoint requires credentials", Severity.MEDIUM,
         "Orchestrator probes are anonymous: an endpoint that answers 401/403 without credentials fails "
         "every probe. Exempt the health endpoints from authentication (they must not reveal details)."),
    # Metrics endpoint.
    Rule("HLT020", "No metrics endpoint", Severity.HIGH,
         "Expose Prometheus metrics (prometheus_client: make_asgi_app()/make_wsgi_app() mounted at "
         "/metrics). If they live elsewhere set metrics_path; if the service is monitored otherwise set "
         "require_metrics = false."),
    Rule("HLT021", "Metrics served with a wrong content type", Severity.MEDIUM,
         "Serve the Prometheus text format as text/plain; version=0.0.4 (or 1.0.0) or OpenMetrics as "
         "application/openmetrics-text; version=1.0.0. prometheus_client's CONTENT_TYPE_LATEST is right; "
         "frameworks that wrap the body in their default JSON/HTML response get it wrong."),
    Rule("HLT022", "Metrics cannot be parsed", Severity.HIGH,
         "Prometheus rejects the whole scrape when one line is malformed, so no metric of this service is "
         "stored. Generate the exposition with a client library (prometheus_client.generate_latest) rather "
         "than by hand, and fix the line the parser names."),
    Rule("HLT023", "Metrics endpoint refuses the audit", Severity.MEDIUM,
         "The endpoint answered 401/403, so it could not be checked. If Prometheus scrapes it with "
         "credentials, pass them to the audit with --header; otherwise fix the access rule."),
    Rule("HLT024", "Metrics endpoint answers an error", Severity.HIGH,
         "The scrape fails (5xx, unexpected 4xx or no response), so the service is unmonitored. Look at the "
         "service log for the collector that crashes."),
    Rule("HLT025", "Metrics exposition too large to check fully", Severity.LOW,
         "The exposition exceeded the audit's response cap, which usually means label cardinality is out "
         "of hand (ids or raw paths in labels). Drop high-cardinality labels; raise [tool.auditor.http] "
         "max_bytes to check it fully."),
    Rule("HLT026", "Metrics on a separate server, not checked", Severity.INFO,
         "The repo serves its Prometheus metrics from a server of their own (prometheus_client."
         "start_http_server), on another port than the service's, often only when a setting turns it on. "
         "Start the service with it on and set [tool.auditor.health] metrics_path to its full URL "
         "(metrics_path = \"http://127.0.0.1:9090/metrics\") so the audit checks it."),
    # promtool-style lint of the exposition.
    Rule("HLT030", "Metric without HELP", Severity.LOW,
         "Give every metric a HELP line (the documentation argument of the client library's constructor)."),
    Rule("HLT031", "Counter name does not end in _total", Severity.MEDIUM,
         "Name counters <name>_total (prometheus_client adds the suffix itself for Counter objects); "
         "OpenMetrics requires it and rate()/increase() users rely on it."),
    Rule("HLT032", "Non-counter name ends in _total", Severity.MEDIUM,
         "Only counters end in _total. Rename the metric, or make it a Counter if it only goes up."),
    Rule("HLT033", "Metric not in base units", Severity.LOW,
         "Use base units: seconds (not milliseconds/minutes), bytes (not kilobytes), meters, grams, "
         "volts... and convert when observing (e.g. observe(elapsed_ms / 1000))."),
    Rule("HLT034", "Abbreviated unit in metric name", Severity.LOW,
         "Spell units out: _seconds not _s/_sec/_ms, _bytes not _b/_kb/_mb."),
    Rule("HLT035", "Metric type in metric name", Severity.LOW,
         "Drop _counter, _gauge, _histogram or _summary from the name: the TYPE line carries the type."),
    Rule("HLT036", "Colon in metric name", Severity.LOW,
         "Colons are reserved for recording rules; use underscores in instrumented metric names."),
    Rule("HLT037", "camelCase metric or label name", Severity.LOW,
         "Write metric and label names in snake_case."),
    Rule("HLT038", "Reserved suffix or label misused", Severity.LOW,
         "_bucket and label le belong to histograms, _count/_sum to histograms and summaries, label "
         "quantile to summaries. Rename the metric or label."),
    Rule("HLT039", "Broken histogram", Severity.MEDIUM,
         "Every histogram series needs a +Inf bucket equal to its _count, le bounds in ascending order and "
         "cumulative (non-decreasing) bucket counts; otherwise histogram_quantile() is wrong. Use the "
         "client library's Histogram instead of writing buckets by hand."),
    Rule("HLT040", "Duplicate series", Severity.MEDIUM,
         "The same metric name and label set appears twice; Prometheus rejects the scrape sample "
         "(duplicate sample for timestamp). Register each collector once and make label sets unique."),
    Rule("HLT041", "ID-like label values (unbounded cardinality)", Severity.MEDIUM,
         "Label values that are ids (UUIDs, long hex or numeric ids, raw paths with ids) create a new "
         "series per id and exhaust Prometheus memory. Label by route template (/users/{id}), never by "
         "id; put ids in logs or traces."),
    # RED metrics.
    Rule("HLT050", "No request counter with a status label", Severity.MEDIUM,
         "Count requests per outcome (RED method: rate and errors): a counter such as "
         "http_requests_total{method, route, status}, or a request-duration histogram carrying a status "
         "label (its _count is the counter)."),
    Rule("HLT051", "No request duration histogram in seconds", Severity.MEDIUM,
         "Measure request duration (RED method) with a histogram in seconds, e.g. "
         "http_request_duration_seconds{method, route} with buckets around your latency budget, so p95 "
         "can be computed across instances (summaries cannot be aggregated)."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
