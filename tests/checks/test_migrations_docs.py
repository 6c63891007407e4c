"""docs/checks/migrations.md mirrors checks/migrations/rules.py and config.py."""

from pathlib import Path

from checks.migrations.config import MigrationsConfig
from checks.migrations.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "migrations.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "MIG", RULES, MigrationsConfig)
