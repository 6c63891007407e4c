"""The checklist itself: one item per readiness requirement, with pass/warn/fail/not checked and a
detail line. An item's status follows its own findings the way the gate does (fail at or above
--fail-on, warn below it), so the table and the findings never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.gate import check_status
from auditor.model import Finding, Status

PASS, WARN, FAIL, NOT_CHECKED = "pass", "warn", "fail", "not checked"

# (key, title) in the order the report shows them.
ITEMS: tuple[tuple[str, str], ...] = (
    ("dockerfile", "Dockerfile present"),
    ("base_image", "Base image pinned"),
    ("non_root", "Runs as non-root"),
    ("no_secrets", "No secrets in ENV/ARG"),
    ("healthcheck", "HEALTHCHECK or probe config"),
    ("dockerignore", ".dockerignore excludes .env and .git"),
    ("config_env", "Configuration from the environment, no committed .env"),
    ("graceful_shutdown", "Graceful shutdown"),
    ("json_logs", "JSON structured logs"),
    ("health_metrics", "Health and metrics endpoints"),
    ("runbook", "Runbook / operations docs"),
    ("ci", "CI configuration"),
)
TITLES = dict(ITEMS)


@dataclass
class Item:
    key: str
    status: str
    detail: str
    findings: list[Finding] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {"item": TITLES[self.key], "status": self.status, "detail": self.detail,
                "rules": ", ".join(dict.fromkeys(f.rule_id for f in self.findings))}


def judged(key: str, findings: list[Finding], detail: str, fail_on: str) -> Item:
    status = check_status(findings, fail_on)
    word = {Status.PASS: PASS, Status.WARN: WARN, Status.FAIL: FAIL}[status]
    return Item(key, word, detail, list(findings))


def not_checked(key: str, reason: str) -> Item:
    return Item(key, NOT_CHECKED, reason)


def ordered(items: dict[str, Item]) -> list[Item]:
    return [items[key] for key, _ in ITEMS if key in items]


def counts(items: list[Item]) -> dict[str, int]:
    return {word: sum(1 for i in items if i.status == word) for word in (PASS, WARN, FAIL, NOT_CHECKED)}
