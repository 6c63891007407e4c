"""docs/checks/security.md mirrors checks/security/rules.py: every rule has an anchor, heading and severity."""

from pathlib import Path

from checks.security.config import SecurityConfig
from checks.security.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "security.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "SEC", RULES, SecurityConfig)
