"""docs/checks/dependencies.md mirrors checks/dependencies/rules.py: anchors, headings, severities,
remediations and every config key."""

from pathlib import Path

from checks.dependencies.config import DependenciesConfig
from checks.dependencies.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "dependencies.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "DEP", RULES, DependenciesConfig, fix=True)
