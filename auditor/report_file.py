"""Saved reports read back: ``load_report`` (``audit report``, ``audit compare``, ``--baseline``) checks a
report.json against its JSON Schema (auditor/report.schema.json, the contract of docs/report-schema.md)
and returns the Report. Reading is the core's; writing report.json is the JSON renderer's
(reports/json_report.py)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from auditor.files import UnreadableFile, read_regular_file
from auditor.model import READABLE_SCHEMA_VERSIONS, Report

SCHEMA_RESOURCE = "report.schema.json"
MAX_REPORT_BYTES = 50 * 1024 * 1024  # a saved report of any real audit is far smaller


class ReportLoadError(Exception):
    """A saved report that cannot be used; ``str(exc)`` is one line, fit for ``error: ...``."""


@lru_cache(maxsize=1)
def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of report.json."""
    return json.loads(resources.files("auditor").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8"))


def validation_errors(data: Any) -> list[str]:
    """Every schema violation of ``data`` as "<json path>: <message>" lines (empty: valid)."""
    validator = jsonschema.Draft202012Validator(report_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: e.json_path)
    return [f"{e.json_path}: {_short(e.message)}" for e in errors]


def load_report(path: str | PathLike[str]) -> Report:
    """Read a saved report.json, check it against the schema and return the Report.

    Raises ReportLoadError with a one-line message: missing file, unreadable, not JSON, unsupported
    schema_version, or the first schema violation with its JSON path."""
    path = Path(path)
    try:
        text = read_regular_file(path, MAX_REPORT_BYTES).decode("utf-8")
    except UnreadableFile as exc:
        raise ReportLoadError(f"saved report {path} {exc}") from None
    except UnicodeDecodeError:
        raise ReportLoadError(f"saved report {path} is not JSON (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportLoadError(f"saved report {path} is not JSON ({exc.msg} at line {exc.lineno} "
                              f"column {exc.colno})") from None
    return report_from_data(data, path)


def report_from_data(data: Any, path: Path) -> Report:
    """The Report of already parsed report.json ``data`` (read from ``path``, named in errors), checked
    against the schema; ReportLoadError (one line) otherwise."""
    if isinstance(data, dict) and "schema_version" in data and data["schema_version"] not in READABLE_SCHEMA_VERSIONS:
        raise ReportLoadError(f"saved report {path} has unsupported schema_version "
                              f"{_short(repr(data['schema_version']), 40)} (this auditor reads {', '.join(READABLE_SCHEMA_VERSIONS)})")
    error = best_match(jsonschema.Draft202012Validator(report_schema()).iter_errors(data))
    if error is not None:
        raise ReportLoadError(f"saved report {path} is not a valid report: {error.json_path}: {_short(error.message)}")
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:  # the schema should have caught it; stay one line
        raise ReportLoadError(f"saved report {path} is not a valid report: {_short(str(exc))}") from None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
