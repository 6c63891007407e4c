"""Structured logs, judged on what the --serve'd service actually wrote (its combined stdout/stderr)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditor.model import Finding
from checks.deployment.rules import make_finding

MAX_LOG_BYTES = 4_000_000   # the start of the log holds startup lines; SQL echo can make it long
EVIDENCE_CHARS = 160


@dataclass
class LogFacts:
    lines: int = 0
    json_lines: int = 0
    first_plain: str = ""
    first_plain_no: int = 0

    @property
    def share(self) -> float:
        return self.json_lines / self.lines if self.lines else 0.0


def read(path: Path) -> LogFacts:
    """Count non-empty lines and those that are a JSON object; raises OSError."""
    facts = LogFacts()
    with path.open("rb") as fh:
        data = fh.read(MAX_LOG_BYTES)
    text = data.decode("utf-8", "replace")
    if len(data) == MAX_LOG_BYTES and "\n" in text:
        text = text[: text.rfind("\n")]  # drop the line cut in half by the byte cap
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        facts.lines += 1
        try:
            is_object = isinstance(json.loads(stripped), dict)
        except ValueError:
            is_object = False
        if is_object:
            facts.json_lines += 1
        elif not facts.first_plain:
            facts.first_plain, facts.first_plain_no = stripped, number
    return facts


def judge(facts: LogFacts, min_share: float, log_name: str,
          mask: Callable[[str], str]) -> tuple[list[Finding], str]:
    detail = f"{facts.json_lines} of {facts.lines} output lines are JSON objects ({facts.share:.0%})"
    if facts.share >= min_share:
        return [], detail
    sample = facts.first_plain[:EVIDENCE_CHARS] + ("…" if len(facts.first_plain) > EVIDENCE_CHARS else "")
    return [make_finding("DPL033", f"Only {facts.json_lines} of the {facts.lines} lines the service wrote are JSON "
                         f"objects ({facts.share:.0%}; at least {min_share:.0%} expected); the first other one is line "
                         f"{facts.first_plain_no}.", {"file": log_name},
                         evidence=mask(sample))], detail
