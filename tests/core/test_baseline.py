"""auditor.baseline and auditor.regressions on real reports saved as real report.json files."""

import json
from pathlib import Path

import pytest

from auditor.baseline import BaselineError, add_regressions, load_baseline, mark_known
from auditor.config import PRESETS, PolicySettings, RegressionSettings
from auditor.model import Status
from auditor.regressions import RULES
from auditor.report_file import validation_errors
from tests.checks.catalogue_helpers import assert_docs_mirror
from tests.core.gating_helpers import check, finding, latency, nplusone, report, save

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT = PRESETS["default"].regressions  # +10 % and +5 ms, no drop, no extra N+1


def gate(baseline_report, current_report, tmp_path, limits=DEFAULT):
    """What the policy does: baseline read back from its file, known marked, then regressions added."""
    baseline = load_baseline(save(baseline_report, tmp_path / "baseline" / "report.json"))
    known = mark_known(current_report.checks, baseline, "baseline/report.json")
    return known, add_regressions(current_report.checks, baseline, limits)


# --- load_baseline ---------------------------------------------------------------------------------

def test_a_saved_report_is_read_back_with_its_findings(tmp_path):
    original = report(check("security", [finding()]), latency(12.0))
    baseline = load_baseline(save(original, tmp_path / "report.json"))
    assert baseline is not None
    assert [f.fingerprint for c in baseline.checks for f in c.findings] == [original.checks[0].findings[0].fingerprint]
    assert baseline.checks[1].metrics["p95_ms"] == 12.0


def test_a_schema_1_0_report_is_readable_as_a_baseline(tmp_path):
    data = report(check("security", [finding()])).to_dict()
    data["schema_version"] = "1.0"
    for c in data["checks"]:
        for f in c["findings"]:
            del f["known"], f["suppression"]  # 1.0 had neither
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    baseline = load_baseline(path)
    assert baseline is not None and baseline.checks[0].findings[0].rule_id == "SEC101"
    current = report(check("security", [finding()]))
    assert mark_known(current.checks, baseline, str(path))["known"] == 1


@pytest.mark.parametrize("name, text", [
    ("spec.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"),
    ("spec.json", '{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}'),
    ("swagger.yml", "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n"),
])
def test_an_openapi_document_is_no_baseline_for_the_gate(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert load_baseline(path) is None


@pytest.mark.parametrize("text, expected", [
    ('{"schema_version": "1.1", "checks": "nope"}', "not a valid report"),
    ('{"schema_version": "9.0", "checks": []}', "unsupported schema_version"),
    ('{"schema_version": "1.1", "checks": [', "not valid JSON"),
    ("just: [a, yaml, mapping]\n", "neither a report.json"),
    ("key: [unclosed\n", "neither JSON nor YAML"),
])
def test_an_unusable_baseline_is_one_line(tmp_path, text, expected):
    path = tmp_path / "old.json"
    path.write_text(text)
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    message = str(info.value)
    assert expected in message and "\n" not in message and "baseline" in message


def test_a_missing_or_binary_baseline_is_one_line(tmp_path):
    with pytest.raises(BaselineError, match="does not exist"):
        load_baseline(tmp_path / "nope.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(BaselineError, match="not UTF-8"):
        load_baseline(tmp_path / "bin.json")


# --- mark_known ------------------------------------------------------------------------------------

def test_same_findings_are_all_known(tmp_path):
    old = report(check("security", [finding(file="a.py"), finding(file="b.py")]))
    current = report(check("security", [finding(file="a.py", line=40), finding(file="b.py", line=2)]))
    known, regressions = gate(old, current, tmp_path)
    assert (known["new"], known["known"], known["fixed"], regressions) == (0, 2, [], [])
    assert all(f.known for f in current.checks[0].findings)


def test_one_new_finding_is_new_and_a_gone_one_is_fixed(tmp_path):
    old = report(check("security", [finding(file="a.py"), finding(file="gone.py")]))
    current = report(check("security", [finding(file="a.py"), finding(file="new.py")]))
    known, _ = gate(old, current, tmp_path)
    assert (known["new"], known["known"]) == (1, 1)
    assert [f.known for f in current.checks[0].findings] == [True, False]
    (fixed,) = known["fixed"]
    assert fixed["check"] == "security" and fixed["location"]["file"] == "gone.py"
    assert fixed["fingerprint"] == old.checks[0].findings[1].fingerprint and fixed["title"] == "Hard-coded password"


def test_suppressed_baseline_findings_count_as_known_but_are_never_fixed(tmp_path):
    old = report(check("security", [finding(file="a.py", suppressed=True), finding(file="gone.py", suppressed=True)]))
    current = report(check("security", [finding(file="a.py")]))
    known, _ = gate(old, current, tmp_path)
    assert known["known"] == 1 and known["fixed"] == []


def test_findings_of_a_check_that_did_not_run_are_not_fixed(tmp_path):
    old = report(check("security", [finding()]))
    current = report(check("security", status=Status.SKIPPED))
    known, _ = gate(old, current, tmp_path)
    assert known["fixed"] == []


# --- regressions -------------------------------------------------------------------------------------

def test_p95_beyond_the_band_is_a_high_regression_finding(tmp_path):
    current = report(latency(30.0))
    _, regressions = gate(report(latency(20.0)), current, tmp_path)  # +50 % and +10 ms > +10 % and +5 ms
    assert regressions == [{"check": "latency", "metric": "p95_ms", "baseline": 20.0, "current": 30.0,
                            "limit": "+10 % and +5 ms", "rule_id": "LAT900"}]
    (lat900,) = current.checks[0].findings
    assert (lat900.rule_id, str(lat900.severity), lat900.location, lat900.known) == ("LAT900", "high", {}, False)
    assert "from 20 ms to 30 ms" in lat900.message and "docs/gating.md#lat900" in lat900.remediation


@pytest.mark.parametrize("before, after", [
    (2.0, 6.0),     # +200 % but only +4 ms: inside the noise band
    (100.0, 109.0),  # +9 ms but only +9 %: inside the ratio
    (30.0, 12.0),   # faster: an improvement is never a regression
])
def test_p95_within_the_band_is_no_regression(tmp_path, before, after):
    current = report(latency(after))
    _, regressions = gate(report(latency(before)), current, tmp_path)
    assert regressions == [] and current.checks[0].findings == []


def test_per_endpoint_p95_regression_names_the_endpoint(tmp_path):
    old = report(latency(20.0, {"GET /books": 10.0, "GET /authors": 50.0, "GET /gone": 5.0}))
    current = report(latency(20.5, {"GET /books": 40.0, "GET /authors": 52.0, "GET /new": 900.0}))
    _, regressions = gate(old, current, tmp_path)
    assert [(r["metric"], r.get("endpoint")) for r in regressions] == [("p95_ms", "GET /books")]
    (lat900,) = current.checks[0].findings
    assert lat900.location == {"endpoint": "GET /books"} and "GET /books" in lat900.message


def test_regression_fingerprints_are_stable_across_runs_and_never_known(tmp_path):
    prints = []
    for run, p95 in enumerate((40.0, 55.0)):
        old = report(latency(20.0, {"GET /x": 10.0}))
        current = report(latency(p95, {"GET /x": p95}))
        gate(old, current, tmp_path / str(run))
        prints.append(sorted(f.fingerprint for f in current.checks[0].findings))
    assert prints[0] == prints[1] and len(set(prints[0])) == 2
    # A baseline that carried the same LAT900 finding: this run's is still not "known", nor listed fixed.
    old = report(latency(20.0))
    gate(report(latency(10.0)), old, tmp_path / "first")
    current = report(latency(40.0))
    known, regressions = gate(old, current, tmp_path / "second")
    assert len(regressions) == 1 and [f.known for f in current.checks[0].findings] == [False]
    assert known["fixed"] == []


def test_coverage_drop_beyond_the_allowed_points(tmp_path):
    current = report(check("coverage", percent_covered=79.5))
    _, regressions = gate(report(check("coverage", percent_covered=80.0)), current, tmp_path)
    assert [(r["rule_id"], r["baseline"], r["current"]) for r in regressions] == [("COV900", 80.0, 79.5)]
    lenient = PolicySettings(preset="lenient").regression_limits()  # drop of 1 point tolerated
    current = report(check("coverage", percent_covered=79.5))
    _, regressions = gate(report(check("coverage", percent_covered=80.0)), current, tmp_path / "l", lenient)
    assert regressions == [] and current.checks[0].findings == []


def test_more_nplusone_findings_than_the_baseline(tmp_path):
    current = report(nplusone(3))
    _, regressions = gate(report(nplusone(2)), current, tmp_path)
    assert [(r["rule_id"], r["metric"], r["baseline"], r["current"]) for r in regressions] == [
        ("NPQ900", "nplusone_findings", 2, 3)]
    assert [f.rule_id for f in current.checks[0].findings].count("NPQ900") == 1
    tolerant = RegressionSettings(**{**DEFAULT.model_dump(), "nplusone_increase": 1})
    current = report(nplusone(3))
    assert gate(report(nplusone(2)), current, tmp_path / "t", tolerant)[1] == []


def test_nplusone_counts_only_npq001_not_suppressed_by_the_check(tmp_path):
    extra = [finding("NPQ003", "low", endpoint="GET /dup", title="Duplicate query"),
             finding("NPQ001", "medium", endpoint="GET /nosec", title="Potential N+1 query", suppressed=True)]
    current = report(check("nplusone", nplusone(2).findings + extra))
    _, regressions = gate(report(nplusone(2)), current, tmp_path)
    assert regressions == []


def test_openapi_completeness_drop(tmp_path):
    current = report(check("openapi", completeness_percent=90.0))
    _, regressions = gate(report(check("openapi", completeness_percent=95.0)), current, tmp_path)
    assert [(r["rule_id"], r["limit"]) for r in regressions] == [("OAS900", "-0 percentage points")]


@pytest.mark.parametrize("old_check, new_check", [
    (latency(10.0), latency(99.0, status=Status.SKIPPED)),          # skipped now
    (latency(10.0, status=Status.ERROR), latency(99.0)),            # errored then
    (latency(None), latency(99.0)),                                 # measured nothing then
    (check("coverage", percent_covered=90.0), check("coverage", percent_covered=None)),
    (check("security"), latency(99.0)),                              # not in the baseline at all
])
def test_a_metric_absent_on_either_side_is_no_regression(tmp_path, old_check, new_check):
    current = report(new_check)
    assert gate(report(old_check), current, tmp_path)[1] == []


def test_latency_of_different_load_modes_is_not_compared(tmp_path):
    current = report(latency(99.0))
    old = report(latency(10.0))
    old.checks[0].metrics["mode"] = "closed"
    assert gate(old, current, tmp_path)[1] == []


def test_the_gated_report_with_regressions_is_a_valid_report(tmp_path):
    current = report(latency(30.0, {"GET /x": 40.0}), check("coverage", percent_covered=50.0), nplusone(4))
    known, regressions = gate(report(latency(10.0, {"GET /x": 10.0}), check("coverage", percent_covered=60.0),
                                     nplusone(1)), current, tmp_path)
    current.gate = {"fail_on": "high", "exit_code": 1, "baseline": known, "regressions": regressions}
    assert len(regressions) == 4
    assert validation_errors(json.loads(json.dumps(current.to_dict()))) == []


def test_docs_gating_mirrors_the_regression_rules_and_bands():
    assert_docs_mirror(REPO_ROOT / "docs" / "gating.md", "(?:LAT|COV|NPQ|OAS)", RULES, RegressionSettings, fix=True)
    text = (REPO_ROOT / "docs" / "gating.md").read_text()
    for name, preset in PRESETS.items():  # the presets table holds every preset's values
        values = preset.regressions
        assert f"| `{name}` | {preset.fail_on} | {values.p95_ratio:g} | {values.p95_noise_ms:g} | " \
               f"{values.coverage_drop:g} | {values.nplusone_increase} | {values.completeness_drop:g} |" in text, name


def test_a_fifo_or_directory_as_baseline_is_one_line_and_never_blocks(tmp_path):
    import os

    fifo = tmp_path / "old.json"
    os.mkfifo(fifo)  # nothing ever writes to it: a plain open() for reading would block forever
    with pytest.raises(BaselineError, match="is not a regular file"):
        load_baseline(fifo)
    with pytest.raises(BaselineError, match="is a directory"):
        load_baseline(tmp_path)
