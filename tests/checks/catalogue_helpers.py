"""The assertions every check's docs test shares: docs/checks/<id>.md mirrors checks/<id>/rules.py and
config.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def assert_docs_mirror(doc: Path, prefix: str, rules: dict[str, Any], config: type, *, fix: bool = False) -> None:
    """Every rule has a well-formed id (``<prefix>`` and three digits), a title and a remediation, an anchor,
    a heading with its title, its severity and a row in the rules table; the docs have no undocumented
    ids; every config key has a row. With ``fix`` every rule's remediation is also the docs' Fix text."""
    text = doc.read_text(encoding="utf-8")
    for rule_id, rule in rules.items():
        assert rule_id == rule.id and re.fullmatch(rf"{prefix}\d{{3}}", rule.id), rule_id
        assert rule.title.strip() and rule.remediation.strip(), rule.id
        section = re.search(rf'<a id="{rule.id.lower()}"></a>\n### {rule.id} — (.+)\n\nSeverity: \*\*(\w+)\*\*', text)
        assert section, f"{rule.id} has no anchored section in {doc.name}"
        assert section.group(1) == rule.title and section.group(2) == str(rule.severity), rule.id
        assert f"| [{rule.id}](#{rule.id.lower()}) | {rule.severity} | {rule.title} |" in text
        if fix:
            assert f"Fix: {rule.remediation}" in text, f"{rule.id}: the Fix paragraph differs from rules.py"
    documented = set(re.findall(rf'<a id="({prefix.lower()}\d{{3}})"></a>', text))
    assert documented == {rule_id.lower() for rule_id in rules}
    for key in config.model_fields:
        assert f"| `{key}` |" in text, key
