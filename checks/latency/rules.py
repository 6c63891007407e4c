"""The latency check's rule catalogue: one place for every rule id, its title, default severity and
remediation. Findings are built from it and docs/checks/latency.md mirrors it (a test keeps them in step).

Rule ids are stable: never renumber, only add.
"""

from __future__ import annotations

from auditor.catalogue import Catalogue, Rule
from auditor.model import Severity

DOCS = "docs/checks/latency.md"


_RULES = (
    # Gates (readiness requirements: a breach is high).
    Rule("LAT001", "p95 latency over budget", Severity.HIGH,
         "Find where the time goes for this endpoint: profile it under the same load (py-spy, the "
         "service's request-duration histogram, slow-query log), then remove the cause — blocking calls "
         "in async handlers, N+1 queries, missing indexes, no cache for hot reads, too few workers. If "
         "the budget is wrong for this endpoint, set [tool.auditor.latency.endpoints.\"GET /path\"] p95_ms."),
    Rule("LAT002", "Error rate over budget under load", Severity.HIGH,
         "Requests failed (5xx, unexpected 4xx, timeouts or refused connections) at a modest, steady rate. "
         "Read the service log for the failing requests (the evidence lists the answers seen); fix crashes, "
         "pool exhaustion and timeouts. A 4xx for a valid request usually means the audit's request needs "
         "a better example or a credential (--header)."),
    Rule("LAT003", "Capacity below the target rate", Severity.HIGH,
         "The closed-model ramp found p95 or the error rate breaking its budget before the throughput "
         "reached --load-rate. Scale out (more workers or instances), remove the bottleneck the slowest "
         "endpoint shows, or lower the target if it was too high."),
    # Measured apart from the gates: not a readiness requirement, but a cost every client pays.
    Rule("LAT004", "Fresh and kept-alive connections answer at different speeds", Severity.MEDIUM,
         "Slow only on kept-alive connections: usually Nagle's algorithm meeting delayed ACKs (the server "
         "writes the head and the body in separate small sends without TCP_NODELAY — common in development "
         "servers; serve with a production server such as gunicorn or uvicorn, or set TCP_NODELAY), or a "
         "keep-alive handler that blocks. Slow only on fresh connections: per-connection work — a reverse "
         "DNS lookup of each client, a TLS handshake without session reuse, a small listen backlog, "
         "accept() behind a busy event loop. Clients behind a pooling proxy see the kept-alive figure, "
         "one-shot clients the fresh one."),
    # Insufficient data: the numbers cannot be trusted, so the check warns instead of passing.
    Rule("LAT010", "Too few samples for an endpoint", Severity.LOW,
         "A percentile of a handful of requests means little. Run longer or faster (--load-duration, "
         "--load-rate), give the endpoint more weight, or lower min_samples."),
    Rule("LAT011", "Load generator could not hold the rate", Severity.LOW,
         "Requests were sent late or dropped, so the offered load was not what was asked for. Lower "
         "--load-rate, add generator processes (--load-workers N) or run the audit where it has CPU to "
         "spare; the service may also be so slow that max_in_flight requests pile up."),
    Rule("LAT012", "Load generator CPU saturated", Severity.LOW,
         "A generator process used nearly a whole core, so latency includes its own queueing. Use "
         "--load-workers N to spread the load over processes (or machines), or lower --load-rate."),
    Rule("LAT013", "Service rate-limited the load generator", Severity.LOW,
         "The service answered 429, so part of the load never reached the code being measured (these "
         "answers are not in the percentiles). Audit with a client the limit does not apply to, raise the "
         "limit for the audit (e.g. RATE_LIMIT_PER_MINUTE on the sample service) or lower --load-rate."),
    Rule("LAT014", "Load interrupted", Severity.LOW,
         "The load was stopped (Ctrl-C or the check deadline) before the run finished; the figures cover "
         "only part of it. Re-run without interrupting, or raise check_timeout."),
    Rule("LAT015", "Closed-model figures (coordinated omission possible)", Severity.INFO,
         "These figures come from a closed model (your locustfile or the capacity ramp): users wait for "
         "each answer, so a stalling server slows the load and hides its stalls. Gate on the default "
         "open model (arrival rate, latency from the intended send time)."),
    Rule("LAT016", "p95 inconclusive against the budget", Severity.LOW,
         "Neither pass nor fail can be claimed: the p95's 95 % interval straddles the budget, or the rounds "
         "disagree (one round over, another within). Near the budget, more samples narrow the interval "
         "(--load-duration); rounds that disagree mean the service or the machine changed during the run "
         "(a periodic job, a GC pause, a noisy neighbour) — look at the per-round p95 and the machine's "
         "figures, and re-run on a quiet machine."),
    Rule("LAT017", "Over budget, but measured on a saturated machine", Severity.LOW,
         "The machine the audit ran on was saturated (its CPUs busy, tasks waiting to run, CPU stolen, or "
         "the generator's timers late) and that can explain this endpoint's latency, so it is not reported "
         "as a failure. Re-run where the service and the generator have CPU to spare (fewer parallel CI "
         "jobs, a bigger runner), or run the service elsewhere than the generator."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
