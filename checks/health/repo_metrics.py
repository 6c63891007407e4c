"""Where the repo says its metrics live when the service's own port has none.

prometheus_client's ``start_http_server`` / ``start_wsgi_server`` serve the metrics from a separate
server on a port of their own (9090, 8001...), often only when a setting turns it on. A probe of the
service's port cannot see them; reporting "no metrics endpoint" (high) for such a service is false. This
is read from the repo's code (gathered once, judged in metrics.py): the call site is named, and the check
says the metrics were not checked and how to check them (metrics_path as a full URL).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from auditor.repo_context import FileContext, classify
from auditor.repofiles import VENDORED_DIRS

MAX_FILES = 5000
MAX_BYTES = 512 * 1024
_IMPORT = re.compile(r"^\s*(?:import\s+prometheus_client|from\s+prometheus_client(?:\.[\w.]+)?\s+import\b)", re.M)
_SEPARATE_SERVER = re.compile(r"\b(start_http_server|start_wsgi_server)\s*\(")


def separate_metrics_server(repo: Path) -> str | None:
    """``file:line (prometheus_client.start_http_server)`` of the first call in the repo's deployed code
    (tests, examples and tooling left out), or None."""
    seen = 0
    for directory, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in VENDORED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            seen += 1
            if seen > MAX_FILES:
                return None
            path = Path(directory) / name
            rel = path.relative_to(repo).as_posix()
            if classify(rel) is not FileContext.PRODUCTION:
                continue
            try:
                if path.stat().st_size > MAX_BYTES:
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if not _IMPORT.search(text):
                continue
            match = _SEPARATE_SERVER.search(text)
            if match:
                line = text.count("\n", 0, match.start()) + 1
                return f"{rel}:{line} (prometheus_client.{match.group(1)})"
    return None
