"""Severity of an OSV record: the CVSS base score where the record gives a CVSS v3 vector (or a number),
else the database's own rating (GitHub's database_specific.severity).

The CVSS v3.x base-score formula is written out here (the specification's equations, about 30 lines)
because no CVSS library is a dependency of this project; the `cvss` package on PyPI would also score
v2 and v4 vectors — with it, v4 vectors (scored here only through the database's rating) would get a
number too."""

from __future__ import annotations

import math
from typing import Any

from auditor.model import Severity

_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}

# GitHub advisory ratings and similar words some feeds use.
_WORDS = {"critical": Severity.CRITICAL, "high": Severity.HIGH, "moderate": Severity.MEDIUM,
          "medium": Severity.MEDIUM, "low": Severity.LOW}


def _roundup(value: float) -> float:
    """CVSS 3.1 Roundup: the smallest number with one decimal >= value, free of float noise."""
    scaled = round(value * 100_000)
    if scaled % 10_000 == 0:
        return scaled / 100_000.0
    return (math.floor(scaled / 10_000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """Base score of a CVSS:3.0/3.1 vector ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" → 9.8), or
    None when the vector is not a complete v3 base vector."""
    parts = vector.strip().split("/")
    if not parts or parts[0] not in ("CVSS:3.0", "CVSS:3.1"):
        return None
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        name, _, value = part.partition(":")
        metrics[name] = value
    try:
        changed = metrics["S"] == "C"
        if metrics["S"] not in ("U", "C"):
            return None
        iss = 1 - (1 - _CIA[metrics["C"]]) * (1 - _CIA[metrics["I"]]) * (1 - _CIA[metrics["A"]])
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
        exploitability = (8.22 * _AV[metrics["AV"]] * _AC[metrics["AC"]]
                          * (_PR_CHANGED if changed else _PR_UNCHANGED)[metrics["PR"]] * _UI[metrics["UI"]])
    except KeyError:
        return None
    if impact <= 0:
        return 0.0
    return _roundup(min(1.08 * (impact + exploitability) if changed else impact + exploitability, 10))


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
        score = cvss3_base_score(raw) if raw.startswith("CVSS:3") else _number(raw)
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
