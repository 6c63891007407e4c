"""OpenTelemetry traces as an audit artifact: a loopback OTLP/HTTP receiver (receiver.py) that collects the
spans a service exports during the audit, decoded into one small model (spans.py), and the zero-config
instrumentation of a Python service started with --serve (instrument/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor.otlp import instrument
from auditor.otlp.receiver import OtlpReceiver
from auditor.otlp.spans import Span, SpanStore

__all__ = ["OtlpReceiver", "Span", "SpanStore", "Traces"]


@dataclass
class Traces:
    """The audit's trace artifact: the receiver, and how the service came to export to it."""

    receiver: OtlpReceiver
    status_file: Path | None = None    # set when the auditor instrumented a --serve'd service

    @property
    def store(self) -> SpanStore:
        return self.receiver.store

    @property
    def how(self) -> str:
        if self.status_file is None:
            return f"exported by the service itself to {self.receiver.endpoint} (--otlp)"
        used = instrument.used(self.status_file)
        if used == "opentelemetry":
            return "the service's own OpenTelemetry SDK, auto-instrumented by the auditor at --serve"
        if used == "opentelemetry+shim-sql":
            return ("the service's own OpenTelemetry SDK, auto-instrumented by the auditor at --serve, with the "
                    "auditor's statement hooks (no OpenTelemetry instrumentor recorded its SQL)")
        if used == "shim":
            return ("the auditor's tracing shim in the --serve'd service (its interpreter has no OpenTelemetry "
                    "SDK): SQLAlchemy, Django, Flask, Starlette")
        return "an instrumentation that never started in the --serve'd service"

    @property
    def instrumented(self) -> bool:
        """Whether the service exports to the receiver: the instrumentation started in a --serve'd service,
        or the user said so with --otlp (a service that only exports once it serves a request)."""
        if self.status_file is not None:
            return instrument.used(self.status_file) in ("opentelemetry", "opentelemetry+shim-sql", "shim")
        return True
