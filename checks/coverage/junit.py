"""Test outcomes: from a JUnit XML report (pytest --junitxml) or from unittest/Django runner output."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 — same reasoning as data.py: stdlib expat, no entities fetched
from dataclasses import dataclass, field
from pathlib import Path

MAX_NAMES = 200


@dataclass
class SuiteOutcome:
    passed: int = 0
    failed: int = 0          # failures and errors (a test that errors has not passed either)
    skipped: int = 0         # skips and expected failures
    failed_names: list[str] = field(default_factory=list)
    failure_messages: dict[str, str] = field(default_factory=dict)
    origin: str = ""
    # Test modules that could not even be imported (pytest collection errors, unittest's _FailedTest):
    # their tests never ran, so the run did not test what it was meant to.
    import_failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


class ResultsError(Exception):
    """Test results that cannot be read; one line."""


def parse_junit(path: Path) -> SuiteOutcome:
    try:
        root = ET.parse(path).getroot()  # noqa: S314
    except (OSError, ET.ParseError) as exc:
        raise ResultsError(f"{path.name} is not readable JUnit XML ({exc})") from None
    outcome = SuiteOutcome(origin=path.name)
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        test_id = f"{classname}::{name}" if classname else name
        problem = next((c for c in case if c.tag in ("failure", "error")), None)
        if problem is not None and (problem.get("message") or "").startswith("collection failure"):
            outcome.import_failures.append(test_id)
            outcome.failure_messages[test_id] = (problem.text or "").strip()[-600:]
            continue
        if problem is not None:
            outcome.failed += 1
            if len(outcome.failed_names) < MAX_NAMES:
                outcome.failed_names.append(test_id)
                outcome.failure_messages[test_id] = (problem.get("message") or problem.text or "").strip()[:300]
        elif any(c.tag == "skipped" for c in case):
            outcome.skipped += 1
        else:
            outcome.passed += 1
    return outcome


_RAN = re.compile(r"^Ran (\d+) tests? in ", re.M)
_STATUS = re.compile(r"^(OK|FAILED)(?: \((.*)\))?\s*$", re.M)
_FAILED_TEST = re.compile(r"^(?:FAIL|ERROR): (\S+) \(([^)]+)\)", re.M)
_BLOCK_SPLIT = re.compile(r"^={50,}\s*$", re.M)
_LAST_EXCEPTION = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Configured|DoesNotExist|"
                             r"Failure|Refused|Timeout)(?::.*)?)$", re.M)


def parse_unittest_output(text: str) -> SuiteOutcome | None:
    """The summary unittest (and Django's test runner) prints: "Ran N tests" then "OK (skipped=1)" or
    "FAILED (failures=1, errors=2)". None when no such summary is in the output. Each failure's message is
    the last exception line of its traceback block (what the test raised)."""
    ran = _RAN.findall(text)
    statuses = _STATUS.findall(text)
    if not ran or not statuses:
        return None
    total = int(ran[-1])
    counts: dict[str, int] = {}
    for part in (statuses[-1][1] or "").split(","):
        key, _, value = part.strip().partition("=")
        if value.isdigit():
            counts[key] = int(value)
    failed = counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpected successes", 0)
    skipped = counts.get("skipped", 0) + counts.get("expected failures", 0)
    outcome = SuiteOutcome(passed=max(0, total - failed - skipped), failed=failed, skipped=skipped,
                          origin="unittest output")
    for block in _BLOCK_SPLIT.split(text):
        match = _FAILED_TEST.search(block)
        if match is None:
            continue
        method, where = match.groups()
        # Python 3.11+ prints "(module.Class.method)", older ones "(module.Class)".
        name = where if where.endswith("." + method) else f"{where}.{method}"
        exceptions = _LAST_EXCEPTION.findall(block[match.end():])
        message = exceptions[-1].strip() if exceptions else ""
        if "unittest.loader._FailedTest" in where or "Failed to import test module" in block:
            outcome.import_failures.append(method)
            outcome.failure_messages[method] = message
            continue
        if name not in outcome.failed_names and len(outcome.failed_names) < MAX_NAMES:
            outcome.failed_names.append(name)
            outcome.failure_messages[name] = message[:300]
    return outcome
