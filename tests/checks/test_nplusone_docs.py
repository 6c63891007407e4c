"""docs/checks/nplusone.md mirrors checks/nplusone/rules.py and config.py."""

import re
from pathlib import Path

from checks.nplusone.config import NPlusOneConfig
from checks.nplusone.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "nplusone.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "NPQ", RULES, NPlusOneConfig)


def test_every_rule_section_says_what_it_means_and_how_to_fix_it():
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES.values():
        section = re.search(rf'<a id="{rule.id.lower()}"></a>\n### {rule.id} — (.+)\n\nSeverity: \*\*(\w+)\*\*\n\n'
                            rf'(.+)\n\nFix: (.+)\n', text)
        assert section, f"{rule.id} has no anchored section with meaning and Fix in {DOC.name}"
        assert section.group(1) == rule.title and section.group(2) == str(rule.severity), rule.id
        assert section.group(3) == rule.meaning and section.group(4) == rule.remediation, rule.id
        assert rule.meaning.strip(), rule.id
