"""docs/checks/openapi.md mirrors checks/openapi/rules.py: every rule has an anchor, heading and severity."""

from __future__ import annotations

import re
from pathlib import Path

from checks.openapi.config import OpenApiConfig
from checks.openapi.rules import RULES, ST_RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "openapi.md"


def test_every_rule_is_documented_with_anchor_heading_and_severity():
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES.values():
        section = re.search(rf'<a id="{rule.id.lower()}"></a>\n### {rule.id} — (.+)\n\nSeverity: \*\*(\w+)\*\*',
                            text)
        assert section, f"{rule.id} has no anchored section in {DOC.name}"
        assert section.group(1) == rule.title and section.group(2) == str(rule.severity), rule.id
        assert f"| [{rule.id}](#{rule.id.lower()}) | {rule.severity} | {rule.title} |" in text
        assert f"Fix: {rule.remediation}" in text, f"{rule.id}: the Fix paragraph differs from rules.py"


def test_no_undocumented_rule_ids_in_the_docs():
    documented = set(re.findall(r'<a id="(oas\d{3})"></a>', DOC.read_text(encoding="utf-8")))
    assert documented == {rule_id.lower() for rule_id in RULES}


def test_every_config_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for key in OpenApiConfig.model_fields:
        assert f"| `{key}` |" in text, key


def test_rule_ids_are_well_formed_and_remediations_present():
    for rule_id, rule in RULES.items():
        assert re.fullmatch(r"OAS\d{3}", rule_id) and rule.remediation.strip() and rule.title.strip()


def test_schemathesis_codes_map_to_rules_with_the_same_digits():
    assert ST_RULES["ST101"] == "OAS101" and ST_RULES["ST401"] == "OAS401"
    assert all(code[2:] == rule[3:] for code, rule in ST_RULES.items())
