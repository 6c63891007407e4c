"""Liveness, readiness and metrics endpoints (exempt from rate limiting)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from sample_service.db import ping
from sample_service.schemas import HealthResponse

HEALTH_MEDIA_TYPE = "application/health+json"
log = logging.getLogger("sample_service.health")

health_router = APIRouter(tags=["health"])
metrics_router = APIRouter(tags=["observability"])


class HealthJSONResponse(JSONResponse):
    media_type = HEALTH_MEDIA_TYPE


@health_router.get("/livez", response_model=HealthResponse, response_class=HealthJSONResponse,
                   summary="Liveness probe",
                   description="200 while the process can serve HTTP. Checks no dependencies, so a database "
                               "outage does not make an orchestrator restart healthy processes.",
                   responses={200: {"description": "The process is alive.",
                                    "content": {HEALTH_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/HealthResponse"}}}}})
async def livez() -> HealthJSONResponse:
    return HealthJSONResponse({"status": "pass"})


@health_router.get("/readyz", response_model=HealthResponse, response_class=HealthJSONResponse,
                   summary="Readiness probe",
                   description="200 when the database answers `SELECT 1`, else 503: take this instance out of "
                               "the load balancer until it recovers.",
                   responses={200: {"description": "Ready to serve traffic."},
                              503: {"model": HealthResponse, "description": "A dependency is down.",
                                    "content": {HEALTH_MEDIA_TYPE: {}}}})
async def readyz(request: Request) -> HealthJSONResponse:
    try:
        await run_in_threadpool(ping, request.app.state.engine)
    except Exception:
        log.warning("readiness: database check failed", exc_info=True)
        return HealthJSONResponse({"status": "fail", "checks": {"database:connection": [
            {"status": "fail", "output": "database unreachable"}]}}, status_code=503)
    return HealthJSONResponse({"status": "pass", "checks": {"database:connection": [{"status": "pass"}]}})


@metrics_router.get("/metrics", response_class=Response, summary="Prometheus metrics",
                    description="RED metrics (`http_requests_total`, `http_request_duration_seconds`) and process "
                                "metrics in the Prometheus text exposition format.",
                    responses={200: {"description": "Metrics in the Prometheus text format.",
                                     "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
