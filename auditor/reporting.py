"""Write the report set to the output directory and say what happened, on stdout; on GitHub Actions
also append the Markdown report to the job's step summary."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from auditor.model import VERDICT_WORDS, Report

TOP_FINDINGS = 5
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

log = logging.getLogger(__name__)


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
                  renderers: dict[str, Any], *, on_warning: Callable[[str], None] | None = None) -> list[Path]:
    """Write every chosen format; then, when $GITHUB_STEP_SUMMARY is set, append the Markdown report to
    it (whatever the formats). A summary that cannot be written never fails the audit: its one-line
    warning goes to ``on_warning`` (the CLI's console), else to this module's logger, which prints it on
    stderr when logging is not configured."""
    chosen = check_formats(formats, renderers)
    prepare_output_dir(output_dir)
    written = []
    markdown: str | None = None
    for name in chosen:
        renderer = renderers[name]()
        path = output_dir / renderer.filename
        text = renderer.render(report)
        if name == "md":
            markdown = text
        try:
            # Write then rename, so a reader (CI artifact upload) never sees half a report.
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    warning = append_step_summary(report, renderers, markdown)
    if warning is not None:
        (on_warning or log.warning)(warning)
    return written


def append_step_summary(report: Report, renderers: dict[str, Any], markdown: str | None = None,
                        environ: Mapping[str, str] | None = None) -> str | None:
    """Append the Markdown report to the file named by $GITHUB_STEP_SUMMARY, as GitHub expects (every
    step appends; the runner renders the file on the run's summary page). Nothing when the variable is
    unset or empty. Returns None, or the one-line warning saying why the summary was not written."""
    target = (os.environ if environ is None else environ).get(STEP_SUMMARY_ENV, "")
    if not target:
        return None
    where = _one_line(target)
    try:
        if markdown is None:
            renderer = _markdown_renderer(renderers)
            if renderer is None:
                return f"warning: ${STEP_SUMMARY_ENV} not written: no Markdown renderer is installed"
            markdown = renderer().render(report)
    except Exception as exc:  # noqa: BLE001 — a summary is a courtesy: it must never cost the audit
        return f"warning: ${STEP_SUMMARY_ENV} not written: the Markdown report failed: {type(exc).__name__}: " \
               f"{_one_line(exc)}"
    try:
        # Non-blocking: a FIFO without a reader fails at once instead of hanging the audit; only a
        # regular file is written (what the runner creates), never a directory, FIFO or device.
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                     0o644)
    except OSError as exc:
        return f"warning: ${STEP_SUMMARY_ENV} ({where}) not written: {exc.strerror or exc}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return f"warning: ${STEP_SUMMARY_ENV} ({where}) not written: not a regular file"
        # A blank line first when the file has content: the marker must start a block of its own.
        data = memoryview((("\n" if info.st_size else "") + markdown.rstrip("\n") + "\n").encode("utf-8"))
        while data:  # unbuffered: a full disk is reported here, not at a close nobody checks
            data = data[os.write(fd, data):]
    except OSError as exc:
        return f"warning: ${STEP_SUMMARY_ENV} ({where}) not written: {exc.strerror or exc}"
    finally:
        os.close(fd)
    return None


def _one_line(text: object, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _markdown_renderer(renderers: dict[str, Any]) -> Any:
    """The "md" renderer of the registry (entry points); None when no plugin provides one."""
    return renderers.get("md")


def headline_figures(report: Report, renderers: dict[str, Any]) -> str:
    """The one-figure-per-check line the Markdown report leads with (its renderer's ``figures``), for the
    console verdict; "" when no renderer offers one."""
    renderer = renderers.get("md")
    figures = getattr(renderer, "figures", None)
    try:
        return figures(report) if callable(figures) else ""
    except Exception:  # noqa: BLE001 — a courtesy line: never costs the verdict
        return ""


def summary_lines(report: Report, written: list[Path], figures: str = "") -> list[str]:
    counts: dict[str, int] = {}
    for _check, finding in report.findings():
        counts[str(finding.severity)] = counts.get(str(finding.severity), 0) + 1
    tally = ", ".join(f"{n} {sev}" for sev, n in counts.items()) or "no findings"
    known = sum(1 for _c, f in report.findings() if f.known)
    suppressed = sum(1 for _c, f in report.findings(include_suppressed=True) if f.suppressed)
    extra = "".join(f", {n} {what}" for n, what in ((known, "known from the baseline"), (suppressed, "suppressed"))
                    if n)
    lines = [f"verdict: {VERDICT_WORDS[report.verdict]} ({report.verdict}, exit {report.gate.get('exit_code')}) "
             f"— {len(report.checks)} checks, {tally}{extra}"]
    if figures:
        lines.append(f"  {figures}")
    lines += [f"  regression: {r.get('check')} {r.get('metric')}"
              + (f" {r['endpoint']}" if r.get("endpoint") else "")
              + f" {r.get('baseline')} -> {r.get('current')} (limit {r.get('limit')})"
              for r in report.gate.get("regressions", []) if isinstance(r, dict)]
    suppressions = report.gate.get("suppressions")
    if isinstance(suppressions, dict):
        lines += [f"  expired ignore entry #{e.get('entry')} ({e.get('reason')}): it no longer suppresses"
                  for e in suppressions.get("expired", []) if isinstance(e, dict)]
    errored = [c for c in report.checks if c.status == "error"]
    lines += [f"  error in {c.id}: {c.summary}" for c in errored]
    for check, finding in report.findings()[:TOP_FINDINGS]:
        where = next(iter(finding.location.values()), "") if finding.location else ""
        lines.append(f"  {finding.severity:<8} {finding.rule_id} {finding.title}" + (f" ({where})" if where else "")
                     + (" [known]" if finding.known else ""))
    html = next((p for p in written if p.suffix == ".html"), None)
    if html:
        lines.append(f"report: {html.resolve()}")
    elif written:
        lines.append(f"reports: {', '.join(str(p) for p in written)}")
    return lines
