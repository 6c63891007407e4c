"""docs/checks/latency.md mirrors checks/latency/rules.py: every rule has an anchor, heading and severity."""

from pathlib import Path

from checks.latency.config import LatencyConfig
from checks.latency.rules import RULES
from tests.checks.catalogue_helpers import assert_docs_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks" / "latency.md"


def test_docs_mirror_rules_and_config():
    assert_docs_mirror(DOC, "LAT", RULES, LatencyConfig)
