"""Zero-configuration tracing of a Python service the auditor starts with --serve.

``environment(receiver_endpoint, work_dir)`` returns the variables to add to the service's environment:
a directory holding our ``sitecustomize.py`` first on PYTHONPATH (nothing is written into the app), and
the OTLP settings. At interpreter start that sitecustomize

- uses OpenTelemetry's own auto-instrumentation when the service's interpreter has it (the
  ``opentelemetry-instrument`` mechanism: SDK, OTLP/HTTP exporter and the installed instrumentors,
  exporting to the auditor's receiver with a short batch delay);
- (and when none of its instrumentors records SQL — a library version outside their range — the shim's
  statement hooks, parented on the SDK's spans);
- else installs a minimal shim of its own (boot/backend_auditor_shim.py: SQLAlchemy engine events, Django's cursor, and the
  request entry points of Django, Flask and Starlette/FastAPI) that writes the same OTLP spans;
- then runs the app's own sitecustomize, if it has one.

It writes which of the two it used to ``status_file``; ``used(status_file)`` reads it back for the report.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATUS_NAME = "otel-status"


def environment(endpoint: str, work_dir: Path, service_name: str = "audited-service",
                existing_pythonpath: str | None = None) -> dict[str, str]:
    """The child's added environment; ``work_dir`` is the auditor's own temp dir (the status file)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    pythonpath = str(HERE / "boot")
    if existing_pythonpath:
        pythonpath += os.pathsep + existing_pythonpath
    return {
        "PYTHONPATH": pythonpath,
        "BACKEND_AUDITOR_OTLP": endpoint,
        "BACKEND_AUDITOR_OTEL_STATUS": str(work_dir / STATUS_NAME),
        # For OpenTelemetry's own SDK when the service has it (environment-only configuration).
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",          # ms: spans reach the receiver while the audit waits
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_PROPAGATORS": "tracecontext",
    }


def used(status_file: Path) -> str | None:
    """"opentelemetry", "opentelemetry+shim-sql" or "shim" (what the service's sitecustomize installed), None
    when it never ran."""
    try:
        text = status_file.read_text(encoding="utf-8").strip().splitlines()
    except OSError:
        return None
    return text[-1].split()[0] if text else None
