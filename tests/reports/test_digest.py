"""The "why not ready" line's key fact (reports/digest.py): what the finding says after its place."""

import pytest

from auditor.model import CheckResult, Finding, Section, Severity, Status
from reports.digest import Group, first_sentence


def _detail(message: str, endpoint: str = "GET /books") -> str:
    check = CheckResult(id="openapi", title="OpenAPI", section=Section.OPENAPI, status=Status.FAIL, summary="")
    finding = Finding(rule_id="X001", severity=Severity.HIGH, title="t", message=message,
                      location={"endpoint": endpoint})
    return Group(check, [finding]).detail


@pytest.mark.parametrize(("message", "fact"), [
    # A message that opens with its place gives the fact after it, not the place again and a colon.
    ("GET /books: Server error [ST101] — answered 500; 2 failing requests.", "Server error [ST101] — answered 500"),
    ("Potential N+1 at GET /books: `SELECT ... FROM authors WHERE authors.id = ?` ran 20 times in one request. "
     "The count grows.", "`SELECT ... FROM authors WHERE authors.id = ?` ran 20 times in one request."),
    # A message whose first clause merely mentions the place keeps its whole first sentence.
    ("GET /authors answered with p95 161 ms, over the 100 ms budget: the lower end is over it.",
     "GET /authors answered with p95 161 ms, over the 100 ms budget"),
])
def test_the_key_fact_skips_the_place_the_message_opens_with(message, fact):
    assert _detail(message) == fact


def test_a_sentence_does_not_end_inside_code_or_at_an_ellipsis():
    assert first_sentence("`a. b` ran 3 times. Then more.") == "`a. b` ran 3 times."
    assert first_sentence("SELECT ... FROM t ran twice; once more") == "SELECT ... FROM t ran twice;"
    assert first_sentence("no end") == "no end"


def test_the_security_figure_counts_as_secrets_only_what_the_check_stands_by():
    """Placeholder passwords in tests are reported low/info: the tile must not call 131 of them "131 secrets"
    beside a summary saying "0 committed secrets"."""
    from reports.digest import headline

    def check(*severities: Severity) -> CheckResult:
        return CheckResult(id="security", title="Security", section=Section.SECURITY, status=Status.PASS, summary="",
                           metrics={"secrets_found": len(severities)},
                           findings=[Finding(rule_id="SEC010", severity=s, title="Secret committed", message="m",
                                             location={"file": f"tests/t{i}.py"}) for i, s in enumerate(severities)])

    assert headline(check(Severity.INFO, Severity.INFO, Severity.LOW)) == "3 low-severity possible secrets"
    assert headline(check(Severity.HIGH, Severity.INFO)) == "1 secret"
    assert headline(check()) == "no issues"
