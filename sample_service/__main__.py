"""python -m sample_service serve|migrate|seed."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Any

from sample_service.defects import UnknownDefectError
from sample_service.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--migrate", action="store_true", help="alembic upgrade head before serving")
    serve.add_argument("--seed", action="store_true", help="insert the demo data (idempotent) before serving")
    sub.add_parser("migrate", help="alembic upgrade head")
    sub.add_parser("seed", help="insert the demo data (idempotent)")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except (ConfigError, UnknownDefectError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # one line, before anything starts
        return 2

    from sample_service.db import make_engine, make_sessionmaker, migrate
    from sample_service.logging import configure_logging

    configure_logging(settings.log_level)
    if args.command == "migrate":
        migrate(settings.database_url)
        return 0
    if args.command == "seed":
        from sample_service.seed import seed

        engine = make_engine(settings.database_url, settings.sql_echo)
        seed(make_sessionmaker(engine), settings.bcrypt_rounds)
        engine.dispose()
        return 0

    from sample_service.app import create_app

    app = create_app(settings, run_migrations=args.migrate, run_seed=args.seed)
    return serve_app(app, args.host, args.port)


def serve_app(app: Any, host: str, port: int) -> int:
    """Run uvicorn until SIGTERM/SIGINT; 0 after a graceful shutdown."""
    import uvicorn

    class Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM after shutting down gracefully, so the process would end "killed by
        # SIGTERM". A completed graceful shutdown is a success: exit 0, as orchestrators expect.
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM:
                self._captured_signals.remove(sig)

    # log_config=None keeps our JSON logging; access_log=False because we write our own access lines;
    # timeout_graceful_shutdown bounds how long SIGTERM waits for in-flight requests (well within 10 s).
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, server_header=False,
                            timeout_graceful_shutdown=5, proxy_headers=False)
    server = Server(config)
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
