"""audit compare (auditor.compare) on real reports saved as real report.json files."""

import json
import re
from html.parser import HTMLParser

import pytest

from auditor.baseline import BaselineError
from auditor.compare import CompareError, compare, run_compare
from auditor.config import PolicySettings
from auditor.model import Status, Verdict
from auditor.registry import load_renderers
from reports.html import HtmlRenderer
from reports.markdown import MarkdownRenderer
from tests.core.gating_helpers import check, finding, latency, nplusone, report, save

HOSTILE = "<script>alert(1)</script>"


def files(tmp_path, old, new):
    return save(old, tmp_path / "old" / "report.json"), save(new, tmp_path / "new" / "report.json")


def run(tmp_path, old, new, **kwargs):
    old_path, new_path = files(tmp_path, old, new)
    return run_compare(old_path, new_path, renderers=load_renderers(), **kwargs)


def test_same_findings_nothing_new_exit_0(tmp_path):
    both = [finding(file="a.py"), finding("SEC102", "critical", file="b.py")]
    code, lines, written = run(tmp_path, report(check("security", both)),
                               report(check("security", [finding(file="a.py", line=90),
                                                         finding("SEC102", "critical", file="b.py")])))
    assert code == 0 and written == []
    assert "findings: 0 new (0 failing at high or worse), 0 fixed, 2 unchanged" in lines
    assert lines[-1].startswith("PASS")


def test_one_new_finding_at_the_threshold_exits_1_and_is_listed(tmp_path):
    old = report(check("security", [finding(file="a.py")]))
    new = report(check("security", [finding(file="a.py"), finding("SEC102", "high", file="new.py",
                                                                     title="SQL injection")]))
    code, lines, _ = run(tmp_path, old, new)
    assert code == 1
    assert any(line.startswith("  + [high] SEC102 security: SQL injection — new.py:3") for line in lines)
    assert lines[-1] == "FAIL: 1 new finding at high or worse"


def test_new_findings_below_the_threshold_or_suppressed_do_not_fail(tmp_path):
    old = report(check("security"))
    new = report(check("security", [finding("SEC103", "medium", file="m.py"),
                                    finding("SEC104", "critical", file="s.py", suppressed=True)]))
    result = compare(old, new)
    assert len(result.new_findings) == 2 and result.exit_code == 0
    assert [d.finding.suppressed for d in result.new_findings] == [True, False]  # worst first
    assert any(line.endswith("(suppressed)") for line in result.to_text())
    # ...but a lower threshold, global or for the check, fails on the medium one.
    assert compare(old, new, fail_on="medium").exit_code == 1
    assert compare(old, new, fail_on_by_check={"security": "medium"}).exit_code == 1
    assert compare(old, new, fail_on="never").exit_code == 0


def test_fixed_and_not_rechecked_findings(tmp_path):
    old = report(check("security", [finding(file="gone.py")]), check("coverage", [finding("COV001", file="c.py")]))
    new = report(check("security"), check("coverage", status=Status.SKIPPED))
    result = compare(old, new)
    assert [d.finding.location["file"] for d in result.fixed] == ["gone.py"]
    assert [d.check for d in result.not_rechecked] == ["coverage"]
    assert result.exit_code == 0
    assert [(s.check, s.old, s.new) for s in result.statuses] == [("coverage", "pass", "skipped")]


def test_p95_regression_beyond_the_band_exits_1_within_it_0(tmp_path):
    code, lines, _ = run(tmp_path / "a", report(latency(20.0)), report(latency(30.0)))
    assert code == 1
    assert "  ▲ worse: p95 latency from 20 ms to 30 ms (+10 ms, +50 %) (band +10 % and +5 ms)" in lines
    code, lines, _ = run(tmp_path / "b", report(latency(20.0)), report(latency(24.0)))  # +20 % but +4 ms
    assert code == 0 and "metrics: 0 regressed, 0 improved, 1 within the bands" in lines
    loose = PolicySettings(preset="lenient").regression_limits()  # +25 % and +20 ms
    assert run(tmp_path / "c", report(latency(20.0)), report(latency(30.0)), limits=loose)[0] == 0


def test_per_endpoint_regression_and_improvement(tmp_path):
    old = report(latency(20.0, {"GET /books": 10.0, "GET /authors": 80.0}))
    new = report(latency(20.0, {"GET /books": 40.0, "GET /authors": 30.0}))
    result = compare(old, new)
    assert [(c.endpoint, c.baseline, c.current) for c in result.regressed] == [("GET /books", 10.0, 40.0)]
    assert [c.endpoint for c in result.improved] == ["GET /authors"]
    assert result.exit_code == 1 and result.steady == 1


def test_coverage_drop_npq_count_up_and_completeness_drop_regress(tmp_path):
    old = report(check("coverage", percent_covered=82.0), nplusone(1), check("openapi", completeness_percent=90.0))
    new = report(check("coverage", percent_covered=81.5), nplusone(3), check("openapi", completeness_percent=95.0))
    result = compare(old, new)
    assert sorted((c.check, c.metric) for c in result.regressed) == [
        ("coverage", "percent_covered"), ("nplusone", "nplusone_findings")]
    assert [(c.check, c.baseline, c.current) for c in result.improved] == [("openapi", 90.0, 95.0)]
    # the two new NPQ001 findings are new findings too (medium: below the default threshold)
    assert len(result.new_findings) == 2 and not result.gating and result.exit_code == 1


def test_metrics_missing_on_one_side_are_not_compared(tmp_path):
    result = compare(report(latency(10.0)), report(latency(500.0, status=Status.ERROR)))
    assert (result.regressed, result.improved, result.steady, result.exit_code) == ([], [], 0, 0)


def test_the_gates_regression_findings_are_not_part_of_the_finding_diff(tmp_path):
    new = report(latency(20.0, findings=[finding("LAT900", "high", title="p95 latency regressed")]))
    result = compare(report(latency(20.0)), new)
    assert result.new_findings == [] and result.exit_code == 0


def test_verdicts_and_output_files(tmp_path):
    old = report(check("security", [finding(file="gone.py")]), latency(20.0))
    new = report(check("security", [finding("SEC102", "critical", file="new.py")], status=Status.FAIL),
                 latency(60.0), verdict=Verdict.FAIL)
    code, lines, written = run(tmp_path, old, new, output_dir=tmp_path / "out")
    assert code == 1 and "verdict: pass (READY) → fail (NOT READY)" in lines
    assert sorted(p.name for p in written) == ["compare.html", "compare.json", "compare.md"]
    data = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert data["exit_code"] == 1 and data["new"]["verdict"] == "fail"
    assert [f["rule_id"] for f in data["findings"]["new"]] == ["SEC102"] and data["findings"]["new"][0]["gating"]
    assert [f["location"]["file"] for f in data["findings"]["fixed"]] == ["gone.py"]
    assert [(m["metric"], m["direction"]) for m in data["metrics"]["regressed"]] == [("p95_ms", "regressed")]
    assert data["checks"] == [{"check": "security", "title": "The security check", "old": "pass", "new": "fail"}]
    md = (tmp_path / "out" / "compare.md").read_text()
    assert md.startswith("## ❌ Audit compare: 1 new finding at high or worse, 1 metric regressed")
    assert "| 🟥 critical | SEC102 | security | Hard-coded password | new.py:3 | **fails the gate** |" in md
    assert "| latency | p95 latency | from 20 ms to 60 ms (+40 ms, +200 %) | +10 % and +5 ms |" in md


def test_only_the_requested_formats_are_written(tmp_path):
    _, _, written = run(tmp_path, report(latency(1.0)), report(latency(1.0)), output_dir=tmp_path / "out",
                        formats=["md"])
    assert [p.name for p in written] == ["compare.md"] and sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "compare.md"]


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "action") and v]

    def handle_data(self, data):
        self.text.append(data)


def test_html_autoescapes_a_hostile_title_and_loads_nothing(tmp_path):
    hostile = finding("SEC102", "critical", file='x.py"><img src=x onerror=alert(1)>', title=HOSTILE)
    result = compare(report(check("security")), report(check("security", [hostile])))
    page = HtmlRenderer().render_comparison(result)
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert parsed.urls == []  # no external resource, no link at all
    assert HOSTILE in "".join(parsed.text)  # shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "default-src 'none'" in page


def test_markdown_and_console_neutralise_hostile_text(tmp_path):
    hostile = finding("SEC102", "critical", file="a.py", title=HOSTILE + " @admin | col \x1b[31m")
    result = compare(report(check("security")), report(check("security", [hostile])))
    md = MarkdownRenderer().render_comparison(result)
    assert "<script>" not in md and "@admin" not in md and "&lt;script&gt;" in md
    assert not re.search(r"(?<!\\)\| col", md)  # the pipe cannot end the table cell
    text = "\n".join(result.to_text())
    assert "\x1b" not in text and HOSTILE in text  # plain text: no markup to escape, only control characters


@pytest.mark.parametrize("content, expected", [
    (None, "does not exist"),
    ("{not json", "is not JSON"),
    ('{"schema_version": "1.1", "checks": "nope"}', "not a valid report"),
    ("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n", "is not JSON"),
])
def test_a_bad_report_is_one_line(tmp_path, content, expected):
    good = save(report(latency(1.0)), tmp_path / "good.json")
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    for old, new in ((bad, good), (good, bad)):
        with pytest.raises(BaselineError) as info:  # CompareError is a BaselineError: the CLI catches one
            run_compare(old, new)
        assert expected in str(info.value) and "\n" not in str(info.value)
        assert str(info.value).startswith("compare: ")


def test_an_unknown_format_or_unwritable_output_is_one_line(tmp_path):
    old, new = files(tmp_path, report(latency(1.0)), report(latency(1.0)))
    with pytest.raises(CompareError, match="unknown format 'pdf'"):
        run_compare(old, new, renderers=load_renderers(), output_dir=tmp_path / "out", formats=["md", "pdf"])
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CompareError, match="cannot write"):
        run_compare(old, new, renderers=load_renderers(), output_dir=blocker / "out")
