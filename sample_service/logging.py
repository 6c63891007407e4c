"""JSON logs: one object per line on stdout, each carrying the current request id.

Log shippers and the auditor parse these lines, so every record, including uvicorn's own and the
SQL statement lines (see db.py), goes through the one formatter below.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

# Set by the request middleware; SQL events and handlers running in the threadpool see it too,
# because Starlette copies the context into worker threads.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Extra attribute name: a dict whose keys replace "message" for structured lines (sql, access).
FIELDS_ATTR = "json_fields"


def utc_iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        fields = getattr(record, FIELDS_ATTR, None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            # Logs are internal: the traceback belongs here, never in a response body.
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, default=repr, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at emit time (survives test capture and redirect_stdout)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


_configured = False


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, alembic's) to one JSON handler on stdout. Idempotent."""
    global _configured
    root = logging.getLogger()
    if not _configured:
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        handler.set_name("sample_service_json")
        root.addHandler(handler)
        # uvicorn's loggers would otherwise keep their own plain-text handlers.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
            lg = logging.getLogger(name)
            lg.handlers.clear()
            lg.propagate = True
        # Access lines are ours (logger "access"); uvicorn's would duplicate them in another format.
        logging.getLogger("uvicorn.access").disabled = True
        # FastAPI validates info.contact.email with a stand-in type that warns on every build of the
        # OpenAPI document when the optional email-validator is absent; the email is a constant here.
        logging.getLogger("fastapi").addFilter(
            lambda record: "email-validator not installed" not in record.getMessage())
        # Alembic announces every internal plugin at INFO; keep its migration lines only.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        _configured = True
    root.setLevel(level)


def log_fields(logger: logging.Logger, level: int, fields: dict[str, Any]) -> None:
    """Emit one structured line whose keys are exactly ts, level, logger, request_id plus ``fields``."""
    if logger.isEnabledFor(level):
        logger.log(level, "", extra={FIELDS_ATTR: fields})
