"""`audit demo`: the bundled sample service, started on SQLite in a temp dir with SQL logging on."""

from __future__ import annotations

import atexit
import importlib.util
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from auditor.runner import ServeSpec


class DemoError(Exception):
    """The demo cannot start (missing extra, unknown defect); one line."""


def demo_serve_spec(defects: list[str]) -> tuple[ServeSpec, Path]:
    """How to start sample_service, and its source directory (the repo the demo audits)."""
    missing = [m for m in ("fastapi", "uvicorn", "sqlalchemy", "alembic") if importlib.util.find_spec(m) is None]
    if missing:
        raise DemoError(f"audit demo needs the demo extra ({', '.join(missing)} missing): "
                        "pip install 'backend-auditor[demo]'")
    from sample_service.defects import DEFECTS

    unknown = [d for d in defects if d not in DEFECTS]
    if unknown:
        raise DemoError(f"--defects: unknown defect {unknown[0]!r} (known: {', '.join(sorted(DEFECTS))})")
    data_dir = Path(tempfile.mkdtemp(prefix="audit-demo-"))
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    command = (f"{shlex.quote(sys.executable)} -m sample_service serve --host 127.0.0.1 --port {{port}} "
               "--migrate --seed")
    # The sample service limits each client to 600 requests a minute; the latency check alone sends about
    # 1,000 in its first half-minute (100 measured samples per endpoint, warm-up, connection pairs), all from
    # 127.0.0.1. The demo raises the limit so its load is not throttled (limited answers and their
    # X-RateLimit-* headers stay).
    # The demo runs on its own SQLite file and no cache, whatever the shell exports: the service inherits
    # the user's environment (as any --serve command does), and a DATABASE_URL or REDIS_URL left there by
    # the developer's own project would have the demo migrate and seed that database.
    env = {"DATA_DIR": str(data_dir), "SQL_ECHO": "1", "SAMPLE_DEFECTS": ",".join(defects),
           "RATE_LIMIT_PER_MINUTE": "6000", "DATABASE_URL": f"sqlite:///{data_dir / 'sample.db'}",
           "REDIS_URL": ""}
    spec = importlib.util.find_spec("sample_service")
    assert spec is not None and spec.origin is not None
    return ServeSpec(command, env, cwd=data_dir), Path(spec.origin).parent
