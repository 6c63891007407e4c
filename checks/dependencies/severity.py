"""Severity of an OSV record: the CVSS base score where the record gives a CVSS vector (v2, v3.x or
v4.0, scored by the `cvss` package, Red Hat's reference implementation) or a number, else the
database's own rating (GitHub's database_specific.severity)."""

from __future__ import annotations

from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from auditor.model import Severity

# GitHub advisory ratings and similar words some feeds use.
_WORDS = {"critical": Severity.CRITICAL, "high": Severity.HIGH, "moderate": Severity.MEDIUM,
          "medium": Severity.MEDIUM, "low": Severity.LOW}


def cvss_base_score(vector: str) -> float | None:
    """Base score of a CVSS vector ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" → 9.8; "CVSS:4.0/...";
    a bare v2 vector "AV:N/AC:L/Au:N/..."), or None when it is not a complete, valid base vector."""
    vector = vector.strip()
    scorer = CVSS4 if vector.startswith("CVSS:4") else CVSS3 if vector.startswith("CVSS:3") else CVSS2
    try:
        return float(scorer(vector).base_score)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None


def from_score(score: float) -> Severity:
    """CVSS qualitative rating: 9.0+ critical, 7.0+ high, 4.0+ medium, above 0 low, 0 none (info)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if score > 0 else Severity.INFO


def rate(record: dict[str, Any], affected: list[dict[str, Any]]) -> tuple[Severity | None, float | None, str]:
    """(severity, CVSS score, how it was obtained) for a record, worst of what it states; (None, None, "")
    when it states nothing usable."""
    best: tuple[Severity | None, float | None, str] = (None, None, "")
    entries = list(record.get("severity") or []) if isinstance(record.get("severity"), list) else []
    for item in affected:
        if isinstance(item.get("severity"), list):
            entries += item["severity"]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        raw = str(entry.get("score", "")).strip()
        score = _number(raw) if _number(raw) is not None else cvss_base_score(raw)
        if score is not None:
            label = f"{raw.split('/')[0]} {score:.1f}" if raw.startswith("CVSS:") else f"score {score:.1f}"
            if best[1] is None or score > best[1]:
                best = (from_score(score), score, label)
    if best[0] is not None:
        return best
    word = record.get("database_specific", {}).get("severity") if isinstance(record.get("database_specific"),
                                                                             dict) else None
    if isinstance(word, str) and word.lower() in _WORDS:
        return _WORDS[word.lower()], None, f"rated {word.upper()} by the database"
    return None, None, ""


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 <= value <= 10 else None
