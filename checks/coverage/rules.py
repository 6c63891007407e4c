"""The coverage check's rule catalogue: every rule id, its title, default severity and remediation.
docs/checks/coverage.md mirrors it (a test keeps them in step). Rule ids are stable: never renumber."""

from __future__ import annotations

from auditor.catalogue import Catalogue, Rule
from auditor.model import Severity

DOCS = "docs/checks/coverage.md"


_RULES = (
    Rule("COV001", "Coverage under the threshold", Severity.HIGH,
         "Write tests for the files with the most missing lines (the per-file table lists them), or lower "
         "[tool.auditor.coverage] threshold if the team agreed on another figure."),
    Rule("COV002", "Failing tests", Severity.HIGH,
         "Fix the failing tests (or the code they caught) before release; a red suite means the coverage "
         "figure measures code paths that do not work."),
    Rule("COV003", "Changed lines under the diff-coverage threshold", Severity.MEDIUM,
         "Add tests that run the lines changed since the base ref (listed per file in diff_files), or set "
         "[tool.auditor.coverage] diff_threshold."),
    Rule("COV004", "No tests ran", Severity.HIGH,
         "Add tests, or point the audit at them with [tool.auditor.coverage] command (e.g. "
         "\"pytest -q tests\")."),
    Rule("COV005", "Test run timed out", Severity.HIGH,
         "Find the test that hangs (pytest --timeout with pytest-timeout names it), or raise "
         "[tool.auditor.coverage] timeout if the suite is just slow."),
    Rule("COV006", "Coverage depends on the concurrency setting", Severity.LOW,
         "The code runs in greenlets (gevent, eventlet, SQLAlchemy asyncio): without "
         "concurrency = [\"thread\", \"greenlet\"] (or gevent/eventlet) in [tool.coverage.run] coverage.py "
         "can miss lines run in greenlets and report a lower figure than the audit. Add the setting to the repo's coverage config."),
    Rule("COV007", "Test results unknown", Severity.LOW,
         "The coverage figure came from existing data, with no JUnit XML report next to it, so passing status "
         "is unknown. Write one with the same run (pytest --junitxml=junit.xml) or set use_existing = "
         "\"never\" to let the audit run the tests."),
    Rule("COV008", "Many tests fail with one error", Severity.HIGH,
         "One cause broke these tests, usually the test environment rather than the code: a database, service "
         "or setting the tests expect. Give it to the run with [tool.auditor.coverage] env = {NAME = \"value\"} "
         "(a test database URL, DJANGO_SETTINGS_MODULE...) or --db-url for a scratch database; if the code is at "
         "fault, fix the error once."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
