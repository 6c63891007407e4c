"""The shared error model in responses and in the OpenAPI document, and the exception handlers."""

from __future__ import annotations

from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sample_service.logging import request_id_var
from sample_service.schemas import ErrorResponse

_DESCRIPTIONS = {
    400: "Bad request.",
    401: "Missing, invalid or expired bearer token.",
    403: "Authenticated, but the role does not allow this operation.",
    404: "The resource does not exist (or is not yours).",
    409: "Conflict with the current state (e.g. duplicate ISBN).",
    422: "The request is syntactically or semantically invalid; `details` lists the fields.",
    429: "Rate limit exceeded; retry after the number of seconds in Retry-After.",
}
_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 422: "validation_error", 429: "rate_limited"}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, all with the shared ErrorResponse schema."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorResponse, "description": _DESCRIPTIONS[code]}
        if code == 401:
            entry["headers"] = {"WWW-Authenticate": {"description": "Always `Bearer`.",
                                                     "schema": {"type": "string", "maxLength": 100}}}
        out[code] = entry
    return out


def error_body(status: int, message: str, code: str | None = None,
               details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"code": code or _CODES.get(status, "error"), "message": message,
            "request_id": request_id_var.get(), "details": details}


class ApiError(Exception):
    """An expected error with its own code (e.g. duplicate_isbn) rendered with the shared model."""

    def __init__(self, status: int, code: str, message: str, loc: list[str | int] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.loc = status, code, message, loc


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(ApiError, exc)  # registered for ApiError only
    details = [{"loc": exc.loc, "msg": exc.message, "type": exc.code}] if exc.loc else None
    return JSONResponse(error_body(exc.status, exc.message, exc.code, details), status_code=exc.status)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(StarletteHTTPException, exc)  # registered for StarletteHTTPException only
    return JSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)  # registered for RequestValidationError only
    # Echo where and what, never the offending input (it may be a password).
    details = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
               for e in exc.errors()]
    return JSONResponse(jsonable_encoder(error_body(422, "Request validation failed", details=details)),
                        status_code=422)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
