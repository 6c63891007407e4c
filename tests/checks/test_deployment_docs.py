"""docs/checks/deployment.md mirrors checks/deployment/rules.py: every rule has an anchor, heading and
severity; every config key and checklist item is documented."""

from pathlib import Path

from checks.deployment.checklist import ITEMS
from checks.deployment.config import DeploymentConfig
from checks.deployment.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "deployment.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "DPL", RULES, DeploymentConfig)


def test_every_checklist_item_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for _key, title in ITEMS:
        assert f"| {title} |" in text, title
