"""OpenTelemetry traces as an audit artifact: a loopback OTLP/HTTP receiver (receiver.py) that collects the
spans a service exports during the audit, decoded into one small model (spans.py), and the zero-config
instrumentation of a Python service started with --serve (instrument/)."""

from auditor.otlp.receiver import OtlpReceiver
from auditor.otlp.spans import Span, SpanStore

__all__ = ["OtlpReceiver", "Span", "SpanStore"]
