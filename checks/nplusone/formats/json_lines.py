"""JSON lines with a statement field, one object per line (structlog, python-json-logger, the sample
service's ``{"logger": "sql", "request_id", "statement", "parameters", "duration_ms"}``)."""

from __future__ import annotations

import json
from typing import Any

from checks.nplusone.formats.base import LogFormat
from checks.nplusone.model import Statement

STATEMENT_KEYS = ("statement", "sql", "query", "db.statement")
REQUEST_ID_KEYS = ("request_id", "requestId", "request-id", "req_id", "x_request_id", "correlation_id",
                   "trace_id")
PARAMETER_KEYS = ("parameters", "params", "args", "bind")
DURATION_MS_KEYS = ("duration_ms", "elapsed_ms", "time_ms", "took_ms")


class JsonLines(LogFormat):
    name = "json"
    description = "JSON lines with a statement field"

    @classmethod
    def recognises(cls, line: str) -> bool:
        record = _record(line)
        return record is not None and _statement(record) is not None

    def feed(self, line: str) -> list[Statement]:
        record = _record(line)
        if record is None:
            if line.lstrip().startswith("{") and any(f'"{k}"' in line for k in STATEMENT_KEYS):
                self.unparsed += 1
            return []
        sql = _statement(record)
        if sql is None:
            return []
        request_id = next((str(record[k]) for k in REQUEST_ID_KEYS if record.get(k) not in (None, "")), None)
        params = next((record[k] for k in PARAMETER_KEYS if k in record), None)
        duration = next((record[k] for k in DURATION_MS_KEYS if isinstance(record.get(k), int | float)), None)
        return [Statement(sql=sql, parameters=_params_text(params), request_id=request_id,
                          duration_ms=float(duration) if duration is not None else None, source=self.name)]


def _record(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _statement(record: dict[str, Any]) -> str | None:
    for key in STATEMENT_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _params_text(params: Any) -> str:
    if params in (None, "", [], {}):
        return ""
    if isinstance(params, str):
        return params
    return json.dumps(params, sort_keys=True, default=str)
