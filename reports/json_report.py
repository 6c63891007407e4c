"""report.json: the Report exactly as ``Report.to_dict()`` gives it. Reading one back (with schema
validation) is the core's: auditor.report_file.load_report."""

from __future__ import annotations

import json
from typing import ClassVar

from auditor.model import Report


class JsonRenderer:
    format: ClassVar[str] = "json"
    filename: ClassVar[str] = "report.json"

    def render(self, report: Report) -> str:
        return json.dumps(report.to_dict(), indent=2) + "\n"
