"""$GITHUB_STEP_SUMMARY: write_reports appends the Markdown report to the file the variable names (real
files, the real environment variable, the real renderer registry); a summary that cannot be written is
one warning line and never fails the audit."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.registry import load_renderers
from auditor.reporting import STEP_SUMMARY_ENV, append_step_summary, write_reports
from reports.markdown import MARKER
from tests.reports.conftest import gated_report


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "audit-report"


def test_appends_the_markdown_report_to_the_step_summary(tmp_path, out, monkeypatch):
    summary = tmp_path / "step-summary.md"
    summary.write_text("## an earlier step's summary", encoding="utf-8")  # no final newline
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(summary))
    warnings: list[str] = []
    written = write_reports(gated_report(), out, ["md", "json"], load_renderers(), on_warning=warnings.append)
    assert warnings == [] and {p.name for p in written} == {"report.md", "report.json"}
    text = summary.read_text(encoding="utf-8")
    report_md = (out / "report.md").read_text(encoding="utf-8")
    assert text == "## an earlier step's summary\n" + report_md.rstrip("\n") + "\n"  # appended, marker on its own line
    write_reports(gated_report(), out, ["md"], load_renderers())  # a second run appends again
    assert summary.read_text(encoding="utf-8").count(MARKER) == 2


def test_step_summary_gets_the_markdown_even_when_md_is_not_a_chosen_format(tmp_path, out, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(summary))  # not there yet: created, as GitHub would have
    written = write_reports(gated_report(), out, ["json"], load_renderers())
    assert [p.name for p in written] == ["report.json"] and not (out / "report.md").exists()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith(MARKER + "\n") and "### New findings" in text


def test_nothing_is_written_when_the_variable_is_unset_or_empty(tmp_path, out, monkeypatch):
    monkeypatch.delenv(STEP_SUMMARY_ENV, raising=False)
    assert append_step_summary(gated_report(), load_renderers()) is None
    monkeypatch.setenv(STEP_SUMMARY_ENV, "")
    monkeypatch.chdir(tmp_path)
    write_reports(gated_report(), out, ["json"], load_renderers())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit-report"]


@pytest.mark.parametrize("kind", ["directory", "missing parent", "fifo"])
def test_an_unwritable_summary_is_one_warning_and_the_reports_are_still_written(tmp_path, out, monkeypatch, kind):
    if kind == "directory":
        target = tmp_path / "a-directory"
        target.mkdir()
    elif kind == "missing parent":
        target = tmp_path / "no" / "such" / "dir" / "summary.md"
    else:
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        target = tmp_path / "summary.fifo"
        os.mkfifo(target)  # no reader: a blocking open would hang the audit forever
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(target))
    warnings: list[str] = []
    written = write_reports(gated_report(), out, ["md", "json"], load_renderers(), on_warning=warnings.append)
    assert {p.name for p in written} == {"report.md", "report.json"}
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert warnings[0].startswith(f"warning: ${STEP_SUMMARY_ENV} ({target}) not written: ")


def test_without_a_callback_the_warning_goes_to_the_logger(tmp_path, out, monkeypatch, caplog):
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(tmp_path))  # a directory
    with caplog.at_level(logging.WARNING, logger="auditor.reporting"):
        write_reports(gated_report(), out, ["json"], load_renderers())
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: ${STEP_SUMMARY_ENV} ({tmp_path}) not written: Is a directory"]


def test_a_failing_markdown_renderer_costs_only_the_summary(tmp_path, out, monkeypatch):
    class Broken:
        format = "md"
        filename = "report.md"

        def render(self, report):
            raise ValueError("bad\ntemplate")

    monkeypatch.setenv(STEP_SUMMARY_ENV, str(tmp_path / "summary.md"))
    renderers = {**load_renderers(), "md": Broken}
    warnings: list[str] = []
    written = write_reports(gated_report(), out, ["json"], renderers, on_warning=warnings.append)
    assert [p.name for p in written] == ["report.json"]
    assert warnings == [f"warning: ${STEP_SUMMARY_ENV} not written: the Markdown report failed: ValueError: bad template"]
    assert not (tmp_path / "summary.md").exists()


def test_the_default_warning_reaches_stderr_without_any_logging_setup(tmp_path):
    """In a fresh interpreter (no logging configured, as in the CLI today) the logger's warning is printed."""
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from auditor.registry import load_renderers
        from auditor.reporting import write_reports
        from tests.reports.conftest import gated_report
        os.environ["{STEP_SUMMARY_ENV}"] = {str(tmp_path)!r}
        write_reports(gated_report(), Path({str(tmp_path / "out")!r}), ["json"], load_renderers())
        print("audit went on")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "audit went on"
    assert proc.stderr.strip() == f"warning: ${STEP_SUMMARY_ENV} ({tmp_path}) not written: Is a directory"
