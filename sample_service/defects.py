"""Seeded defects: each one a real, observable flaw that a specific auditor check must catch.

All are off by default. ``SAMPLE_DEFECTS=name,...`` switches them on; an unknown name fails fast at
startup. The auditor imports ``DEFECTS`` to validate ``audit demo --defects`` before starting us.
"""

from __future__ import annotations

# name -> what it does (the docs in docs/sample-service.md say which detector catches each).
DEFECTS: dict[str, str] = {
    "no_health": "/livez and /readyz answer 404 and are absent from the OpenAPI document",
    "no_metrics": "/metrics answers 404",
    "n_plus_one": "GET /books loads each book's author with its own SELECT (one query per book)",
    "slow_endpoint": "GET /authors sleeps ~150 ms before answering",
    "undocumented_error": "GET /books?sort=-published answers 500, a status the spec does not document",
    "missing_auth": "GET /orders (declared secured) answers anonymous requests with 200 and every order",
    "leaky_errors": "unhandled errors answer 500 with the Python traceback; GET /books?published_after=<not a date> "
                    "reaches the date parser unvalidated",
    "no_rate_limit": "the rate limiter is off: no 429, no X-RateLimit-* headers",
}


class UnknownDefectError(ValueError):
    """SAMPLE_DEFECTS named a defect that does not exist; the message is one line."""


def parse_defects(raw: str | None) -> frozenset[str]:
    """Parse a comma list of defect names; raise UnknownDefectError listing the valid names."""
    names = [part.strip() for part in (raw or "").split(",") if part.strip()]
    unknown = [name for name in names if name not in DEFECTS]
    if unknown:
        raise UnknownDefectError(
            f"SAMPLE_DEFECTS: unknown defect {unknown[0]!r} (valid: {', '.join(sorted(DEFECTS))})")
    return frozenset(names)
