"""docs/checks/coverage.md mirrors checks/coverage/rules.py and config.py."""

from pathlib import Path

from checks.coverage.config import CoverageConfig
from checks.coverage.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "coverage.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "COV", RULES, CoverageConfig)
