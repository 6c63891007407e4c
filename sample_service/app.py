"""create_app: the one place where settings, database, cache, limiter, metrics and routes meet."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware import Middleware

from sample_service import __version__
from sample_service.cache import make_cache
from sample_service.db import make_engine, make_sessionmaker, migrate
from sample_service.errors import install_handlers
from sample_service.logging import configure_logging
from sample_service.metrics import Metrics
from sample_service.middleware import ErrorMiddleware, RequestContextMiddleware
from sample_service.openapi import DESCRIPTION, TAGS, build_openapi, operation_id
from sample_service.ratelimit import FixedWindowLimiter, RateLimitMiddleware
from sample_service.routers import auth, authors, books, health, orders, users
from sample_service.security import PasswordChecker
from sample_service.seed import seed
from sample_service.settings import Settings, warn_if_generated_key

log = logging.getLogger("sample_service")


def create_app(settings: Settings | None = None, *, run_migrations: bool = False,
               run_seed: bool = False) -> FastAPI:
    """Build an app. Each app owns its engine, cache, limiter and metrics registry, so several can
    coexist in one process (tests). Migrations and seeding are opt-in (the CLI does them first)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    warn_if_generated_key(settings)
    if settings.defects:
        log.warning("seeded defects enabled: %s", ", ".join(sorted(settings.defects)))
    if run_migrations:
        migrate(settings.database_url)

    engine = make_engine(settings.database_url, settings.sql_echo)
    factory = make_sessionmaker(engine)
    if run_seed:
        seed(factory, settings.bcrypt_rounds)
    metrics = None if settings.has("no_metrics") else Metrics()
    limiter = None if settings.has("no_rate_limit") else FixedWindowLimiter(settings.rate_limit_per_minute)
    # Namespace Redis keys by database, so apps on different databases never read each other's rows.
    namespace = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    cache = make_cache(settings.redis_url, settings.cache_ttl_seconds, prefix=f"sample_service:{namespace}:")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # Shutdown: close pooled connections so the database sees a clean disconnect.
        cache.close()
        engine.dispose()

    app = FastAPI(
        title="Sample Bookshop API",
        version=__version__,
        description=DESCRIPTION,
        contact={"name": "backend-auditor maintainers", "url": "https://example.com/backend-auditor",
                 "email": "maintainers@example.com"},
        license_info={"name": "MIT", "identifier": "MIT"},
        servers=[{"url": "/", "description": "This server (URLs are relative to where the document is served)"}],
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
        # Outermost first: request id/log/metrics see everything, including 429s and 500s.
        middleware=[
            Middleware(RequestContextMiddleware, metrics=metrics),
            Middleware(RateLimitMiddleware, limiter=limiter),
            Middleware(ErrorMiddleware, leak_tracebacks=settings.has("leaky_errors")),
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.cache = cache
    app.state.metrics = metrics
    app.state.limiter = limiter
    app.state.password_checker = PasswordChecker(settings.bcrypt_rounds)
    install_handlers(app)

    routers = [auth.router, users.router, authors.router, books.router, orders.router]
    if not settings.has("no_health"):
        routers.append(health.health_router)
    if metrics is not None:
        routers.append(health.metrics_router)
    for router in routers:
        app.include_router(router)
    # Route templates for labelling requests that never reach the router (429s); see middleware.py.
    app.state.route_templates = [(r.path_regex, r.path) for router in routers for r in router.routes
                                 if isinstance(r, APIRoute)]
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app
