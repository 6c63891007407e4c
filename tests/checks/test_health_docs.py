"""docs/checks/health.md mirrors checks/health/rules.py: every rule has an anchor, heading and severity."""

from pathlib import Path

from checks.health.config import HealthConfig
from checks.health.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "health.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "HLT", RULES, HealthConfig)
