from dataclasses import dataclass

import pytest

from auditor.catalogue import Catalogue, Rule
from auditor.model import Finding, Severity, fingerprint

DOCS = "docs/checks/demo.md"
CATALOGUE = Catalogue(DOCS, (
    Rule("DMO001", "Thing is slow", Severity.MEDIUM, "Make it faster."),
    Rule("DMO002", "Thing is broken", Severity.HIGH, "Fix the thing."),
))


def test_rules_by_id_and_docs():
    assert list(CATALOGUE.rules) == ["DMO001", "DMO002"]
    assert type(CATALOGUE.rules) is dict  # reports.sarif looks RULES up only when it is a dict
    assert CATALOGUE.rules["DMO002"].title == "Thing is broken"
    assert CATALOGUE.docs == DOCS


def test_finding_takes_title_severity_and_remediation_from_the_rule():
    finding = CATALOGUE.finding("DMO001", "p95 is 900 ms", {"endpoint": "GET /x"}, evidence="900 ms")
    assert isinstance(finding, Finding)
    assert finding.rule_id == "DMO001"
    assert finding.severity is Severity.MEDIUM
    assert finding.title == "Thing is slow"
    assert finding.message == "p95 is 900 ms"
    assert finding.location == {"endpoint": "GET /x"}
    assert finding.evidence == "900 ms"
    assert finding.remediation == "Make it faster. (See docs/checks/demo.md#dmo001.)"
    assert finding.suppressed is False
    assert finding.fingerprint == fingerprint("DMO001", {"endpoint": "GET /x"}, "")


def test_overrides():
    finding = CATALOGUE.finding("DMO002", "m", {"file": "a.py"}, severity=Severity.LOW, title="Custom title",
                                remediation="Do this instead.", suppressed=True)
    assert finding.severity is Severity.LOW
    assert finding.title == "Custom title"
    assert finding.remediation == "Do this instead. (See docs/checks/demo.md#dmo002.)"
    assert finding.suppressed is True
    # Empty overrides fall back to the catalogue.
    plain = CATALOGUE.finding("DMO002", "m", {"file": "a.py"}, title="", remediation="")
    assert plain.title == "Thing is broken"
    assert plain.remediation == "Fix the thing. (See docs/checks/demo.md#dmo002.)"


def test_location_defaults_to_empty():
    finding = CATALOGUE.finding("DMO001", "m")
    assert finding.location == {}
    assert finding.fingerprint == fingerprint("DMO001", {}, "")


def test_fingerprint_stable_across_ports_with_stable_location():
    stable = {"endpoint": "GET /health"}
    first = CATALOGUE.finding("DMO001", "run 1: 120 ms", {"url": "http://127.0.0.1:8001/health"},
                              stable_location=stable)
    second = CATALOGUE.finding("DMO001", "run 2: 340 ms", {"url": "http://127.0.0.1:9123/health"},
                               stable_location=stable)
    assert first.location != second.location
    assert first.fingerprint == second.fingerprint == fingerprint("DMO001", stable, "")
    # Without stable_location the port is part of the fingerprint.
    unstable = CATALOGUE.finding("DMO001", "m", {"url": "http://127.0.0.1:9123/health"})
    assert unstable.fingerprint != first.fingerprint
    # An empty stable_location is still used (not treated as missing).
    empty = CATALOGUE.finding("DMO001", "m", {"url": "http://127.0.0.1:9123/health"}, stable_location={})
    assert empty.fingerprint == fingerprint("DMO001", {}, "")


def test_key_tells_findings_at_one_location_apart_and_message_does_not():
    location = {"endpoint": "GET /books"}
    a = CATALOGUE.finding("DMO001", "one", location, key="SELECT authors")
    b = CATALOGUE.finding("DMO001", "two", location, key="SELECT tags")
    c = CATALOGUE.finding("DMO001", "three", location, key="SELECT authors")
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == c.fingerprint


def test_unknown_rule_id_raises_key_error():
    with pytest.raises(KeyError):
        CATALOGUE.finding("DMO999", "m", {})


def test_accepts_any_rule_type_with_the_four_attributes():
    @dataclass(frozen=True)
    class MeaningRule:  # like nplusone's: an extra field before remediation
        id: str
        title: str
        severity: Severity
        meaning: str
        remediation: str

    @dataclass(frozen=True)
    class ScopedRule(Rule):  # like openapi's: a subclass with an extra field
        scope: str = ""

    catalogue = Catalogue("docs/checks/x.md", (MeaningRule("XXX001", "T1", Severity.LOW, "It means.", "Fix 1."),
                                               ScopedRule("XXX002", "T2", Severity.INFO, "Fix 2.", "operation")))
    assert catalogue.rules["XXX002"].scope == "operation"
    first = catalogue.finding("XXX001", "m", {})
    assert (first.title, first.severity, first.remediation) == ("T1", Severity.LOW,
                                                                "Fix 1. (See docs/checks/x.md#xxx001.)")
    second = catalogue.finding("XXX002", "m", {})
    assert second.remediation == "Fix 2. (See docs/checks/x.md#xxx002.)"


def test_fingerprints_ignore_line_numbers_and_look_alikes_get_ordinals():
    from auditor.model import disambiguate

    def at(line: int) -> Finding:
        return Finding(rule_id="DMO001", severity=Severity.LOW, title="t", message=f"m{line}",
                       location={"file": "app.py", "line": line})

    assert at(3).fingerprint == at(40).fingerprint  # a line shift keeps it
    first = [at(3), at(9)]
    disambiguate(first)
    shifted = [at(12), at(5)]  # both moved; order of appearance is what tells them apart
    disambiguate(shifted)
    assert first[0].fingerprint != first[1].fingerprint
    assert {f.location["line"]: f.fingerprint for f in first} == {3: shifted[1].fingerprint, 9: shifted[0].fingerprint}
