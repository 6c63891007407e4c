"""docs/checks/openapi.md mirrors checks/openapi/rules.py: every rule has an anchor, heading and severity."""

from pathlib import Path

from checks.openapi.config import OpenApiConfig
from checks.openapi.rules import RULES, ST_RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "openapi.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "OAS", RULES, OpenApiConfig, fix=True)


def test_schemathesis_codes_map_to_rules_with_the_same_digits():
    assert ST_RULES["ST101"] == "OAS101" and ST_RULES["ST401"] == "OAS401"
    assert all(code[2:] == rule[3:] for code, rule in ST_RULES.items())
