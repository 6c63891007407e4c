"""A check's rule catalogue: every rule id with its title, default severity and remediation, and the one
way findings are built from it (checks/<id>/rules.py holds the rules, docs/checks/<id>.md mirrors them).

A finding's remediation ends with a link to the rule's section of the docs; its fingerprint comes from
the rule id, ``stable_location`` (default ``location``) and ``key``, never the message, so it stays the
same across runs when only measured numbers or an ephemeral port change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from auditor.model import Finding, Severity, fingerprint


class RuleLike(Protocol):
    """What a catalogue needs of a rule; a check's rule type may carry more (openapi's scope, nplusone's
    meaning)."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def severity(self) -> Severity: ...

    @property
    def remediation(self) -> str: ...


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    remediation: str


R = TypeVar("R", bound=RuleLike)


class Catalogue(Generic[R]):
    """The rules of one check by id, and the page that documents them (``docs/checks/<id>.md``)."""

    def __init__(self, docs: str, rules: Iterable[R]) -> None:
        self.docs = docs
        self.rules: dict[str, R] = {rule.id: rule for rule in rules}

    def finding(self, rule_id: str, message: str, location: dict[str, Any] | None = None, *,
                evidence: str = "", severity: Severity | None = None, title: str | None = None, key: str = "",
                stable_location: dict[str, Any] | None = None, remediation: str | None = None,
                suppressed: bool = False) -> Finding:
        """A Finding for ``rule_id`` (KeyError if the catalogue has no such rule) with the catalogue's
        title, severity and remediation unless overridden.

        ``key`` tells findings of one rule at one location apart; ``stable_location`` is what the
        fingerprint is computed from when ``location`` holds something that changes between runs (the
        base URL's port, a line number that moves)."""
        rule = self.rules[rule_id]
        location = {} if location is None else location
        return Finding(
            rule_id=rule.id,
            severity=severity or rule.severity,
            title=title or rule.title,
            message=message,
            location=location,
            evidence=evidence,
            remediation=f"{remediation or rule.remediation} (See {self.docs}#{rule.id.lower()}.)",
            fingerprint=fingerprint(rule.id, location if stable_location is None else stable_location, key),
            suppressed=suppressed,
        )
