"""Write the report set to the output directory and say what happened, on stdout."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from auditor.model import VERDICT_WORDS, Report

TOP_FINDINGS = 5


class OutputError(Exception):
    """Unknown format or an output directory that cannot be written; one line."""


def check_formats(formats: list[str] | None, renderers: dict[str, Any]) -> list[str]:
    chosen = formats or list(renderers)
    unknown = [f for f in chosen if f not in renderers]
    if unknown:
        raise OutputError(f"--format: unknown format {unknown[0]!r} (available: {', '.join(renderers)})")
    return chosen


def prepare_output_dir(output_dir: Path) -> None:
    """Fail before the audit, not after it: an unwritable directory would lose the whole report."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise OutputError(f"output directory {output_dir} is not writable: {exc.strerror or exc}") from None


def write_reports(report: Report, output_dir: Path, formats: list[str] | None,
                  renderers: dict[str, Any]) -> list[Path]:
    chosen = check_formats(formats, renderers)
    prepare_output_dir(output_dir)
    written = []
    for name in chosen:
        renderer = renderers[name]()
        path = output_dir / renderer.filename
        text = renderer.render(report)
        try:
            # Write then rename, so a reader (CI artifact upload) never sees half a report.
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written


def summary_lines(report: Report, written: list[Path]) -> list[str]:
    counts: dict[str, int] = {}
    for _check, finding in report.findings():
        counts[str(finding.severity)] = counts.get(str(finding.severity), 0) + 1
    tally = ", ".join(f"{n} {sev}" for sev, n in counts.items()) or "no findings"
    lines = [f"verdict: {VERDICT_WORDS[report.verdict]} ({report.verdict}, exit {report.gate.get('exit_code')}) "
             f"— {len(report.checks)} checks, {tally}"]
    errored = [c for c in report.checks if c.status == "error"]
    lines += [f"  error in {c.id}: {c.summary}" for c in errored]
    for check, finding in report.findings()[:TOP_FINDINGS]:
        where = next(iter(finding.location.values()), "") if finding.location else ""
        lines.append(f"  {finding.severity:<8} {finding.rule_id} {finding.title}" + (f" ({where})" if where else ""))
    html = next((p for p in written if p.suffix == ".html"), None)
    if html:
        lines.append(f"report: {html.resolve()}")
    elif written:
        lines.append(f"reports: {', '.join(str(p) for p in written)}")
    return lines
