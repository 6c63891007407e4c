"""The defect keys checks give their findings when another check can see the same defect, so the core's
de-duplication (auditor/dedupe.py) reports it once. One function per kind of defect: two checks that
name one defect must build its key the same way, here."""

from __future__ import annotations

import os
from pathlib import Path


def committed_env_defect(path: Path) -> str:
    """A committed .env file (security SEC012, deployment DPL020)."""
    return f"committed-env:{os.path.realpath(path)}"


def server_error_defect(endpoint: str) -> str:
    """An operation answering 5xx ("GET /books/{id}"): openapi's OAS101, latency's LAT002 when its errors
    are server errors."""
    return f"server-error:{endpoint}"
