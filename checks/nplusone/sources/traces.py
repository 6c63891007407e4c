"""SQL from traces (OpenTelemetry): the statements of a request are the database spans of its trace.

The auditor sends every profiled request with a ``traceparent`` header naming a trace id of its own, so
the service continues the auditor's trace and the trace id is known before the request is sent: the
request's statements are exactly the spans with a statement (``db.statement`` / ``db.query.text``) in that
trace under a SERVER span — whatever the concurrency, however many workers. The spans arrive at the
auditor's OTLP receiver (auditor.otlp), exported by the service's own OpenTelemetry SDK or by the shim
the auditor installs in a --serve'd Python service. Without the traceparent (a service that does not
propagate it) the request is found by the X-Request-ID its server span recorded, else by bracketing: the
server span that started while the request was outstanding (one request at a time).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable

from auditor.otlp.spans import Span, SpanStore, server_span

from checks.nplusone.model import Statement
from checks.nplusone.sources.interface import Capture, SqlSource

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
QUIET_S = 0.15   # once the server span is in, how long no new span may arrive before the trace is complete
# The same for a request's own trace: its database spans end before its server span and one process exports
# its spans in the order they end, one export at a time, so they are in by then; a short wait covers a
# batch boundary between them.
OWN_TRACE_QUIET_S = 0.05
BRACKET_SLACK_NS = 50_000_000   # clocks of the auditor and the service are the same host's; a little slack


def trace_id_for(request_id: str) -> str:
    """The trace id the auditor gives a request: its request id when that is 32 hex digits, else a hash."""
    lowered = request_id.lower().replace("-", "")
    return lowered if _HEX32.match(lowered) else hashlib.sha256(request_id.encode()).hexdigest()[:32]


class TraceSource(SqlSource):
    name = "traces"

    def __init__(self, store: SpanStore, *, how: str, settle_s: float = 1.0,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.store = store
        self.how = how                    # "the shim the auditor installed" / "the service's OpenTelemetry SDK"
        self.settle_s = max(settle_s, 2.0)
        self.should_stop = should_stop
        self.format_name = "otlp"
        self._began: dict[str, int] = {}

    @property
    def description(self) -> str:
        return (f"OpenTelemetry traces exported to the auditor's OTLP receiver ({self.how}); a request's statements "
                "are the database spans of its trace, found by the traceparent it carried or the X-Request-ID its "
                "server span recorded")

    def concurrent(self) -> SqlSource:
        return self   # a request's statements are its own trace's: exact at any concurrency

    def request_headers(self, request_id: str) -> dict[str, str]:
        return {"traceparent": f"00-{trace_id_for(request_id)}-{secrets.token_hex(8)}-01"}

    def begin(self, request_id: str) -> None:
        self._began[request_id] = time.time_ns()

    def end(self, request_id: str) -> Capture:
        began = self._began.pop(request_id, time.time_ns())
        found: list[tuple[list[Span], bool]] = []

        def located() -> bool:
            spans, exact = self._locate(request_id, began)
            found[:] = [(spans, exact)]
            return any(s.is_server for s in spans)

        if not self.store.wait(located, self.settle_s):
            self.problems.append(f"no server span arrived for request {request_id} within {self.settle_s:.0f} s "
                                 "(the service did not trace it, or exports too slowly)")
            return Capture([], exact=False)
        # Database spans of the same request may come in a later export batch: wait until the trace is quiet —
        # its own trace when it has one (other requests in flight keep the store busy), else the whole store.
        own = found[0][1] and bool(self.store.trace(trace_id_for(request_id)))

        def size() -> int:
            return len(self.store.trace(trace_id_for(request_id))) if own else self.store.count

        count = -1
        while count != size() and not self.should_stop():
            count = size()
            self.store.wait(lambda c=count: size() > c, OWN_TRACE_QUIET_S if own else QUIET_S)
        located()
        spans, exact = found[0]
        return Capture(statements_of(spans), exact=exact)

    def _locate(self, request_id: str, began_ns: int) -> tuple[list[Span], bool]:
        """The request's spans: its own trace (the traceparent it carried), else the traces whose server span
        recorded its X-Request-ID, else — bracketing — the traces whose server span started while it was
        outstanding (exact only in the first two cases)."""
        own = self.store.trace(trace_id_for(request_id))
        if own:
            return own, True
        traces = self.store.traces()
        by_header = [spans for spans in traces.values()
                     if any(s.is_server and s.attributes.get("http.request.header.x_request_id") in
                            (request_id, [request_id]) for s in spans)]
        if by_header:
            return [s for spans in by_header for s in spans], True
        window = [spans for spans in traces.values()
                  if any(s.is_server and s.start_ns >= began_ns - BRACKET_SLACK_NS for s in spans)]
        return [s for spans in window for s in spans], False


def statements_of(spans: list[Span]) -> list[Statement]:
    """The statements of a trace's server spans, in the order they started."""
    by_id = {s.span_id: s for s in spans}
    statements = [s for s in spans if s.statement and server_span(s, by_id) is not None]
    return [Statement(sql=s.statement or "", duration_ms=s.duration_ms, request_id=s.trace_id,
                      session=s.attributes.get("db.connection_string", "") or "", database=str(
                          s.attributes.get("db.namespace") or s.attributes.get("db.name") or ""),
                      source="otlp") for s in sorted(statements, key=lambda s: s.start_ns)]
