"""docs/checks/nplusone.md mirrors checks/nplusone/rules.py and config.py."""

from __future__ import annotations

import re
from pathlib import Path

from checks.nplusone.config import NPlusOneConfig
from checks.nplusone.rules import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "nplusone.md"


def test_every_rule_is_documented_with_anchor_heading_severity_and_fix():
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES.values():
        section = re.search(rf'<a id="{rule.id.lower()}"></a>\n### {rule.id} — (.+)\n\nSeverity: \*\*(\w+)\*\*\n\n'
                            rf'(.+)\n\nFix: (.+)\n', text)
        assert section, f"{rule.id} has no anchored section in {DOC.name}"
        assert section.group(1) == rule.title and section.group(2) == str(rule.severity), rule.id
        assert section.group(3) == rule.meaning and section.group(4) == rule.remediation, rule.id
        assert f"| [{rule.id}](#{rule.id.lower()}) | {rule.severity} | {rule.title} |" in text


def test_no_undocumented_rule_ids_in_the_docs():
    documented = set(re.findall(r'<a id="(npq\d{3})"></a>', DOC.read_text(encoding="utf-8")))
    assert documented == {rule_id.lower() for rule_id in RULES}


def test_every_config_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for key in NPlusOneConfig.model_fields:
        assert f"| `{key}` |" in text, key


def test_rule_ids_are_well_formed_and_texts_present():
    for rule_id, rule in RULES.items():
        assert re.fullmatch(r"NPQ\d{3}", rule_id)
        assert rule.title.strip() and rule.meaning.strip() and rule.remediation.strip()
